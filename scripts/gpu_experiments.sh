#!/usr/bin/env bash
# On the GPU box: scripts/experiments.py runs side by side, detached (setsid) so they outlive one device call.
#   source scripts/gpu_setup.sh .offline
#   bash scripts/gpu_experiments.sh start DIR PARALLEL RUN [RUN ...]   # returns at once
#   bash scripts/gpu_experiments.sh wait DIR SECONDS                   # progress; tars DIR to $OUT when all are done
# Why side by side: a Gemma 3 270M step is bound by the host (kernel launches), not the GPU, so several fits share
# one H100 at little cost each. Each run writes DIR/RUN/ (adapter, predictions, losses.csv, results.jsonl) and DIR/RUN.log.
set -euo pipefail
cmd=$1 dir=$2
mkdir -p "$dir"
case $cmd in
start)
  parallel=$3; shift 3
  # Measured 2026-11-25: one run at batch 16 x max_seq_length 1024 peaks at 12-18 GiB (nf4 Gemma 3 270M, 262k vocab).
  # Ten side by side on an 80 GB H100 ran out of memory, so cap the runs at free memory / 18 GiB.
  free_gib=$(nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits | head -1 | awk '{print int($1 / 1024)}')
  fit=$((free_gib / 18 > 0 ? free_gib / 18 : 1))
  if (( parallel > fit )); then echo "capping $parallel parallel runs at $fit (${free_gib} GiB free / 18 GiB each)"; parallel=$fit; fi
  # Convert the GGUF once, before the runs start (each would convert it otherwise), with the tokenizer files
  # converted on the CPU machine (transformers 5.17 converts the GGUF tokenizer differently; see README).
  converted=$(python3 -c "from dotlightning.model.base_models import resolve_base_model as r; print(r('embedded:gemma3-270m'))" | tail -1)
  [[ -f .offline/tok.tar.xz ]] && tar -C "$converted" -xJf .offline/tok.tar.xz
  printf '%s\n' "$@" > "$dir/runs.txt"
  cp .offline/eval/smcat_fixtures.jsonl "$dir/"  # later calls may re-sync the checkout without .offline/eval
  export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True OMP_NUM_THREADS=1
  setsid nohup bash -c "xargs -P $parallel -I{} bash -c 'case {} in seed|best|best-bs4|best-epochs5|best-epochs8|best-r64|best-chat) tl=\${TRAIN_LIMIT:-100};; *) tl=0;; esac; \
    python3 scripts/experiments.py --runs {} --out $dir/{} --eval-quantization none ${EXPERIMENT_FLAGS:-} --train-limit \$tl \
      --smcat $dir/smcat_fixtures.jsonl > $dir/{}.log 2>&1' < $dir/runs.txt; touch $dir/ALL_DONE" \
    > "$dir/launcher.log" 2>&1 < /dev/null &
  echo "started $# runs, $parallel at a time; converted base at $converted"
  ;;
wait)
  deadline=$((SECONDS + $3))
  while [[ ! -e $dir/ALL_DONE && $SECONDS -lt $deadline ]]; do sleep 15; done
  grep -h "^== " "$dir"/*.log || true
  nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader || true
  if [[ -n ${OUT:-} ]]; then  # partial results too: the lease may end before every run does
    tar -C "$dir" -czf "$OUT/runs.tgz" --exclude='*.safetensors.tmp' .
    echo "results so far in \$OUT/runs.tgz; all done: $([[ -e $dir/ALL_DONE ]] && echo yes || echo no)"
  fi
  ;;
esac
