#!/usr/bin/env bash
# Base vs QLoRA-tuned Qwen2.5-Coder Instruct on the offline GPU box, through the CLI and the configs only.
#   bash scripts/gpu_qwen.sh setup                   # every call: install what this call carried (idempotent)
#   bash scripts/gpu_qwen.sh start SIZE=RUN,RUN [SIZE=RUN...]  # SIZE 1.5b | 0.5b; returns at once, runs detached
#                                                    # (setsid); the sizes convert side by side
#   bash scripts/gpu_qwen.sh memory                  # peak memory of the 1.5B QLoRA step at 4 x 512 (+ gc)
#   bash scripts/gpu_qwen.sh wait SECONDS            # progress; tars every result so far to $OUT/runs.tgz
#   bash scripts/gpu_qwen.sh collect                 # every finished adapter, bf16, to $OUT in 15 MiB pieces
#                                                    # (`wait` already sends each new one once, as soon as it exists)
# Kit (.offline, from ../shared/offline/bundle.sh): wheels/ + debs/, model-q15-NN/ and model-q05-NN/ parts (one per
# call, FILE.sha256 and FILE.size in -00), tok/ (the tokenizer files converted on the CPU machine, whose transformers
# converts GGUF tokenizers as the user's does), eval/smcat.jsonl (scripts/smcat_fixtures_to_records.py). A wheel or
# part too big for one call beside the checkout travels split (split -b 22M -d W W.part); setup joins it.
# A run NAME is seed | qv-chat | all-chat | all-chat-5e-4 (fits), base-chat | base-tags, shipped (the adapter
# carried in .offline/shipped/, evaluated only) or carried-DIR (the adapter in .offline/shipped/DIR/, its own prompt
# style, evaluated only); NAME-constrained decodes under the DOT grammar (--constrained true, test + hand2 + smcat
# only), NAME-bo4 keeps the best of 4 samples under it (--num_samples 4) (see run_one). Each writes R/SIZE-NAME/: the CSV log (loss curve),
# adapter, predictions-<eval>.jsonl, scores-<eval>.json and timings; the GPU is shared by all runs, since each fit is
# bound by the host (kernel launches), not the GPU.
set -uo pipefail
cmd=${1:?usage: gpu_qwen.sh setup|start|memory|wait ...}; shift
R=/tmp/qwen-runs
prefix=/tmp/offline
export DOTLIGHTNING_CACHE=$prefix/cache HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export DOTLIGHTNING_QWEN2_5_CODER_1_5B_GGUF=$prefix/model/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
export DOTLIGHTNING_QWEN2_5_CODER_0_5B_GGUF=$prefix/model/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
export PYTHONPATH="$prefix/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$prefix/sys/usr/lib/x86_64-linux-gnu:$prefix/sys/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True OMP_NUM_THREADS=2
mkdir -p "$R"

spec() { echo "${SPEC:-embedded:qwen2.5-coder-$1-instruct}"; }  # SPEC=tiny: a CPU dry run of the plumbing

pack_adapter() {  # ADAPTER_DIR RUN: a bf16 tarball in $R/ready/, which `wait` and `collect` send to $OUT
  local adapter=$1 run=$2 tmp; tmp=$(mktemp -d); mkdir -p "$R/ready"
  cp -r "$adapter" "$tmp/$run"
  python3 -c "import sys, torch; from safetensors.torch import load_file, save_file; f = sys.argv[1]; save_file({k: v.to(torch.bfloat16) for k, v in load_file(f).items()}, f, metadata={'format': 'pt'})" "$tmp/$run/adapter_model.safetensors"
  rm -f "$tmp/$run/tokenizer.json"
  tar -C "$tmp" -czf "$R/ready/adapter-$run.tgz.tmp" "$run" && mv "$R/ready/adapter-$run.tgz.tmp" "$R/ready/adapter-$run.tgz"
  rm -rf "$tmp"
}

send_ready() {  # ALL: every packed adapter to $OUT in 15 MiB pieces; without ALL only those not sent before
  [[ -n ${OUT:-} ]] || return 0
  for tgz in "$R"/ready/*.tgz; do
    [[ -e $tgz ]] || continue
    [[ -z ${1:-} && -e $tgz.sent ]] && continue
    split -b 15M -d "$tgz" "$OUT/$(basename "$tgz").part" && touch "$tgz.sent"
  done
}

run_one() {  # SIZE NAME
  local size=$1 name=$2 out=$R/$1-$2 config=configs/qwen2.5-coder-$1.yaml
  mkdir -p "$out"
  local t0=$SECONDS adapter="" style=chat input=$R/eval/all.jsonl gen_extra=()
  if [[ $name == *-constrained ]]; then
    name=${name%-constrained} input=$R/eval/core.jsonl gen_extra=(--constrained true)
  elif [[ $name == *-bo4 ]]; then  # best of 4 samples (temperature 0.7, seeded) under the grammar
    name=${name%-bo4} input=$R/eval/core.jsonl gen_extra=(--constrained true --num_samples 4)
  fi
  # The experiment's speed settings: batch 16 x 1 is the same effective batch as 4 x 4 (the same optimizer steps),
  # with a quarter of the host-bound launches; an H200 needs no checkpointing. 32 validation prompts per epoch.
  # Measured 2026-12-01 (first launch): six processes at batch 16 without checkpointing filled the 140 GB card
  # (rows up to 863 tokens), and the seed fit hit a NaN loss at step 41 with the compiled fused loss. Relaunched with
  # two fits at a time, the eager chunked loss and no validation loop (the test files below are the evaluation).
  # The experiment's speed settings: configs/recipes/large-gpu.yaml (batch 16 x 1, the same optimizer steps as
  # 4 x 4; no checkpointing on an H200), the eager chunked loss, and no validation loop (the held-out files below are
  # the evaluation). Measured 2026-12-01: six fits at once at batch 16 filled the 140 GB card; three fit.
  local fast=(--config configs/recipes/large-gpu.yaml --model.loss_kernel chunked --trainer.limit_val_batches 0
              --trainer.default_root_dir "$out" --trainer.logger.init_args.save_dir "$out" ${EXTRA_FIT:-})
  case $name in
    base-chat) style=chat ;;
    base-tags) style=tags ;;
    shipped) adapter=$(ls -d $prefix/shipped/qwen2.5-coder-*-dot/ | head -1) ;;
    carried-*) adapter=$prefix/shipped/${name#carried-}
               style=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['prompt_style'])" "$adapter/dotlightning.json") ;;
    seed) python3 -m dotlightning fit --config "$config" --config configs/recipes/seed.yaml "${fast[@]}"; style=tags ;;
    qv-chat) python3 -m dotlightning fit --config "$config" --config configs/recipes/qv-chat.yaml "${fast[@]}" ;;
    all-chat) python3 -m dotlightning fit --config "$config" "${fast[@]}" ;;
    all-chat-5e-4) python3 -m dotlightning fit --config "$config" --model.learning_rate 5.0e-4 "${fast[@]}" ;;
    *) echo "unknown run $name"; return 2 ;;
  esac
  [[ $name == base-* || $name == shipped || $name == carried-* ]] || adapter=$(ls -d "$out"/*/version_*/adapter 2>/dev/null | tail -1)
  [[ $name == base-* || -n $adapter ]] || { echo "== $size-$name: FAILED (no adapter)"; return 1; }
  echo "fit_seconds $((SECONDS - t0))" > "$out/timings.txt"
  [[ $name == base-* || $name == shipped || $name == carried-* ]] || pack_adapter "$adapter" "$size-$name"  # `wait` sends it at once
  local limit=1024; [[ $name == base-* ]] && limit=512  # a base that writes prose runs to the limit
  # Every held-out file in one process and few large batches (sorted by length): the model loads and merges once.
  local t1=$SECONDS
  python3 -m dotlightning generate --input "$input" --output "$out/predictions-all.jsonl" \
    --adapter "$adapter" --base_model "$(spec "$size")" --prompt_style "$style" --batch_size "${EVAL_BATCH:-160}" \
    --max_new_tokens "${EVAL_TOKENS:-$limit}" "${gen_extra[@]}"
  echo "generate_all_seconds $((SECONDS - t1))" >> "$out/timings.txt"
  python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
rows = [json.loads(line) for line in open(f"{out}/predictions-all.jsonl")]
for name in sorted({row["eval"] for row in rows}):
    with open(f"{out}/predictions-{name}.jsonl", "w") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows if row["eval"] == name)
PY
  for eval in test hand2 smcat hand1 train; do
    [[ -e $out/predictions-$eval.jsonl ]] || continue
    python3 -m dotlightning score --input "$out/predictions-$eval.jsonl" --group_by '[kind,source]' --quiet true | tail -1 > "$out/scores-$eval.json"
  done
  echo "== $size-$2: done in $((SECONDS - t0)) s; test $(python3 -c "import json;d=json.load(open('$out/scores-test.json'));print({k:round(d[k],3) for k in ('parse_rate','node_f1','edge_f1')})" 2>&1 | tail -1)"
}

case $cmd in
setup)
  mkdir -p $prefix/site $prefix/sys $prefix/model $prefix/split
  # A wheel too big for one call beside the checkout travels split (split -b 22M -d W W.part): join it here.
  for p in .offline/wheels-*/*.whl.part*; do [[ -e $p ]] && cp "$p" $prefix/split/; done
  for first in $prefix/split/*.whl.part00; do
    [[ -e $first ]] || continue; w=${first%.part00}
    (( $(ls "$w".part* | wc -l) >= 2 )) && cat "$w".part* > "$w" && rm -f "$w".part*
  done
  for w in .offline/wheels-bnb/*.whl .offline/wheels/*.whl .offline/wheels-extra/*.whl $prefix/split/*.whl; do
    [[ -e $w && ! -e $prefix/site/.$(basename "$w") ]] || continue
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target $prefix/site "$w" && touch "$prefix/site/.$(basename "$w")"
  done
  for d in .offline/debs/*.deb; do [[ -e $d ]] && dpkg -x "$d" $prefix/sys; done
  for p in .offline/model-*/*.part* .offline/model-*/*.sha256 .offline/model-*/*.size; do [[ -e $p ]] && cp "$p" $prefix/model/; done
  [[ -d .offline/tok ]] && cp -r .offline/tok $prefix/
  [[ -d .offline/shipped ]] && cp -r .offline/shipped $prefix/ && for t in $prefix/shipped/*.tgz; do [[ -e $t ]] && tar -C $prefix/shipped -xzf "$t"; done
  [[ -d .offline/eval ]] && mkdir -p "$R/eval" && cp .offline/eval/*.jsonl "$R/eval/"
  for sum in $prefix/model/*.gguf.sha256; do
    [[ -e $sum ]] || continue; gguf=${sum%.sha256}; [[ -e $gguf ]] && continue
    n=$(ls "$gguf".part* 2>/dev/null | wc -l) have=$(cat "$gguf".part* 2>/dev/null | wc -c)
    want=$(cat "$gguf.size" 2>/dev/null || echo "$have")  # FILE.size: the joined file's bytes, beside its sha256
    (( have < want )) && { echo "$(basename "$gguf"): $n parts, $have of $want bytes"; continue; }
    cat "$gguf".part* > "$gguf.tmp" 2>/dev/null
    if [[ $(sha256sum "$gguf.tmp" | cut -d' ' -f1) == $(cat "$sum") ]]; then mv "$gguf.tmp" "$gguf"; rm -f "$gguf".part*; echo "ready: $gguf"
    else rm -f "$gguf.tmp"; echo "$(basename "$gguf"): $n parts so far"; fi
  done
  ;;
convert)  # SIZE: the GGUF -> bf16 checkpoint once, then the CPU machine's tokenizer files over the box's
  size=$1
  dir=$(python3 -c "from dotlightning.model.base_models import resolve_base_model as r; print(r('$(spec "$size")'))" | tail -1)
  tok=$prefix/tok/q${size/./}.tar.xz
  [[ -f $tok ]] && tar -C "$dir" -xJf "$tok"
  echo "converted: $dir"; ls "$dir"
  ;;
start)  # SIZE=RUN,RUN ...: the held-out files once, then per size (side by side, detached) convert and start its runs
  mkdir -p "$R/eval"
  if [[ ! -s $R/eval/core.jsonl ]]; then  # a second `start` must not rewrite files that running evaluations read
  head -n 200 data/test.jsonl > "$R/eval/test.jsonl"
  head -n 50 data/train.jsonl > "$R/eval/train.jsonl"
  cp results/handwritten/prompts.jsonl "$R/eval/hand1.jsonl"
  cp results/handwritten/prompts-v2.jsonl "$R/eval/hand2.jsonl"
  python3 - "$R/eval" <<'PY'
import json, sys
folder = sys.argv[1]
with open(f"{folder}/all.jsonl", "w") as out:
    for name in ("test", "hand2", "smcat", "hand1", "train"):
        for line in open(f"{folder}/{name}.jsonl"):
            if line.strip():
                out.write(json.dumps({**json.loads(line), "eval": name}, ensure_ascii=False) + "\n")
with open(f"{folder}/all.jsonl") as all_, open(f"{folder}/core.jsonl", "w") as core:  # the constrained runs' sets
    core.writelines(line for line in all_ if json.loads(line)["eval"] in ("test", "hand2", "smcat"))
PY
  fi
  for arg in "$@"; do
    setsid nohup bash "$0" launch "${arg%%=*}" "${arg#*=}" > "$R/launch-${arg%%=*}.log" 2>&1 < /dev/null &
    echo "launching ${arg%%=*}: ${arg#*=}"
  done
  ;;
launch)  # SIZE RUN,RUN: convert once, then each run detached
  size=$1
  bash "$0" convert "$size" > "$R/convert-$size.log" 2>&1 || { echo "== $size: convert FAILED"; cat "$R/convert-$size.log"; exit 1; }
  IFS=, read -ra names <<<"$2"
  for name in "${names[@]}"; do
    setsid nohup bash "$0" one "$size" "$name" > "$R/$size-$name.log" 2>&1 < /dev/null &
  done
  echo "started $size: ${names[*]}"; tail -3 "$R/convert-$size.log"
  ;;
one) run_one "$1" "$2" ;;
memory-all)  # detached: scripts/gpu_memory.sh over CONFIGS (random weights), one JSON line per point to $R/memory.jsonl
  setsid nohup bash scripts/gpu_memory.sh "$R/memory.jsonl" > "$R/memory-all.log" 2>&1 < /dev/null &
  echo "memory points started: ${CONFIGS:-every config}"
  ;;
memory)
  for targets in q_proj,v_proj all-linear; do
    python3 scripts/measure_memory.py --base_model "$(spec 1.5b)" --targets $targets --batch 4 --length 512 --accumulate 4 2>&1 | tail -1
  done | tee "$R/memory.jsonl"
  ;;
collect)  # every finished run's adapter as a bf16 tarball in $OUT (at most 15 MiB a file)
  send_ready all; ls -la "$OUT"
  ;;
wait)
  deadline=$((SECONDS + $1))
  while (( SECONDS < deadline )); do
    running=$(pgrep -f "gpu_qwen.sh (one|launch)|gpu_memory.sh" | wc -l)
    (( running == 0 )) && break
    sleep 10
  done
  grep -h "^== \|Error\|error:" "$R"/*.log 2>/dev/null | tail -30
  for log in "$R"/*-*.log; do echo "$(basename "$log"): $(tr '\r' '\n' < "$log" | grep -v '^\s*$' | tail -1 | cut -c1-160)"; done
  nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
  echo "running: $(pgrep -f 'gpu_qwen.sh (one|launch)|gpu_memory.sh' | wc -l)"
  send_ready
  [[ -n ${OUT:-} ]] && tar -C "$R" -czf "$OUT/runs.tgz" --exclude='*.ckpt' --exclude='eval' --exclude='*.safetensors' --exclude='predictions-all.jsonl' . && ls -la "$OUT"
  ;;
esac
