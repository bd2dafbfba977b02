#!/usr/bin/env bash
# Issue 15 on the offline GPU box: variants of the packed Gemma-2B-shape step (scripts/benchmark.py), one process each.
#   bash scripts/gpu_perf.sh setup                 # every call: install what this call carried (gpu_peers.sh setup)
#   bash scripts/gpu_perf.sh short NAME...         # short runs of the named variants (first 1,200 training pairs, 2
#                                                  # warm-up + 6 timed optimizer steps; step 1's time is the compile)
#   bash scripts/gpu_perf.sh fit NAME [ARGS]       # the 3-epoch fit of all training pairs (<= 1024 tokens), compile counted
#   bash scripts/gpu_perf.sh varlen                # model.packed_attention varlen: FlashAttention-2 against the dense
#                                                  # reference, then one attention fwd+bwd against sdpa's packed mask
#   bash scripts/gpu_perf.sh constrained [ARGS]    # issue 17: grammar-constrained decoding's overhead on the GPU (random
#                                                  # Qwen2.5-Coder-1.5B weights, its real tokenizer from .offline/tok)
# Results: $OUT/short.jsonl / $OUT/fit.jsonl (one JSON line per run), $OUT/runs.log (every run's output), and the
# profile's table ($OUT/profile.txt) for a NAME ending in -profile. Variants (overrides on configs/gemma.yaml, the seed's
# recipe: nf4, LoRA r16/a32 on q,v, dropout 0 here as in benchmark_peers.py, lr 2e-4; packed rows of 1024 tokens, 4 rows
# x accumulate 1 as in configs/gemma.yaml, ~15.6 examples an optimizer step; the -1x4 variants: 1 row x accumulate 4, the
# same examples a step with a quarter of the activations):
set -uo pipefail
cmd=${1:?usage: gpu_perf.sh setup|short NAME...|fit NAME [ARGS]}; shift
prefix=/tmp/offline
export DOTLIGHTNING_CACHE=$prefix/cache HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export PYTHONPATH="$prefix/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$prefix/sys/usr/lib/x86_64-linux-gnu:$prefix/sys/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
OUT=${OUT:-/tmp/perf-out}; mkdir -p "$OUT"
packed=(--data.packing true --data.pack_length 1024)
ro=(--model.compile reduce-overhead)
declare -A V=(
  [default]="--model.compile auto"  # configs/gemma.yaml as shipped (compile auto, its scope and checkpointing)
  [eager]="--model.gradient_checkpointing false --model.compile null"
  [eager-gc]="--model.gradient_checkpointing true --model.compile null"
  [backbone]="--model.gradient_checkpointing false ${ro[*]} --model.compile_scope backbone"
  [backbone-gc]="--model.gradient_checkpointing true ${ro[*]} --model.compile_scope backbone"
  [layers]="--model.gradient_checkpointing false ${ro[*]} --model.compile_scope layers"
  [layers-gc]="--model.gradient_checkpointing true ${ro[*]} --model.compile_scope layers"
  [backbone-1x4]="--model.gradient_checkpointing false ${ro[*]} --model.compile_scope backbone --data.batch_size 1 --trainer.accumulate_grad_batches 4"
  [layers-1x4]="--model.gradient_checkpointing false ${ro[*]} --model.compile_scope layers --data.batch_size 1 --trainer.accumulate_grad_batches 4"
  [layers-8x2]="--model.gradient_checkpointing false ${ro[*]} --model.compile_scope layers --data.batch_size 8 --trainer.accumulate_grad_batches 2"
  [layers-16x1]="--model.gradient_checkpointing false ${ro[*]} --model.compile_scope layers --data.batch_size 16 --trainer.accumulate_grad_batches 1"
  [layers-gc-16x1]="--model.gradient_checkpointing true ${ro[*]} --model.compile_scope layers --data.batch_size 16 --trainer.accumulate_grad_batches 1"
  [layers-flex]="--model.gradient_checkpointing false ${ro[*]} --model.compile_scope layers --model.attn_implementation flex_attention"
  [layers-default]="--model.gradient_checkpointing false --model.compile default --model.compile_scope layers"
  # compiled checkpointing kept its memory under reduce-overhead (2026-12-08): without CUDA graphs, does it too?
  [layers-gc-default]="--model.gradient_checkpointing true --model.compile default --model.compile_scope layers"
  # model.packed_attention varlen: FlashAttention-2 from cu_seqlens instead of sdpa's packed mask (run `varlen` first)
  [layers-varlen]="--model.gradient_checkpointing false ${ro[*]} --model.compile_scope layers --model.packed_attention varlen"
  [eager-gc-varlen]="--model.gradient_checkpointing true --model.compile null --model.packed_attention varlen"
)
common=(python3 scripts/benchmark.py --config configs/gemma.yaml --shape gemma-2b --model.base_model /tmp/gemma3-tok
        --data.prompt_style tags --model.lora_dropout 0.0 --data.max_seq_length 1024 "${packed[@]}")

run_one() {  # KIND NAME [ARGS]: one benchmark process; its JSON line to $OUT/KIND.jsonl, its output to $OUT/runs.log
  local kind=$1 name=$2; shift 2
  local base=${name%-profile} extra=() limit=240
  [[ -n ${V[$base]:-} ]] || { echo "unknown variant $base (${!V[*]})"; return 2; }
  [[ $name == *-profile ]] && extra=(--profile /tmp/prof-$base)
  if [[ $kind == short ]]; then extra+=(--data.limit_train 1200 --warmup 2 --steps 6); else extra+=(--epochs 3); limit=560; fi
  echo "== $kind $name $(date -u +%T)" | tee -a "$OUT/runs.log"
  # shellcheck disable=SC2086
  timeout $limit "${common[@]}" ${V[$base]} "${extra[@]}" "$@" --output "$OUT/$kind.jsonl" 2>&1 \
    | grep -v -i "warn\|^\s*$" >>"$OUT/runs.log"
  local rc=${PIPESTATUS[0]}
  [[ -e /tmp/prof-$base/profile.txt ]] && cp /tmp/prof-$base/profile.txt "$OUT/profile-$base.txt"
  tail -n 4 "$OUT/runs.log" | grep -v "^{" | cut -c1-400
  echo "== rc $rc $(date -u +%T)"
}

case $cmd in
setup)
  bash scripts/gpu_peers.sh setup
  nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
  ;;
short)
  for name in "$@"; do run_one short "$name"; done
  python3 - "$OUT/short.jsonl" <<'EOF'
import json, sys
print("| variant | compile | scope | gc | batch x acc | steady tok/s | median step s | first step s | peak GiB |")
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f"| {r['command'].split('--data.pack_length 1024')[-1][:90]} | {r['compile']} | {r['compile_scope']} | "
          f"{r['gradient_checkpointing']} | {r['batch_size']}x{r['accumulate_grad_batches']} | {r['tokens_per_s']:,.0f} | "
          f"{r['median_step_s']} | {r['steps'][0]['seconds']:.1f} | {r['peak_memory_gib']} |")
EOF
  ;;
varlen)
  timeout 120 python3 scripts/check_varlen_attention.py "$@" 2>&1 | grep -vi "warn" | tee -a "$OUT/varlen-check.jsonl"
  ;;
constrained)
  mkdir -p /tmp/qwen-tok; [[ -e /tmp/qwen-tok/tokenizer.json ]] || tar -C /tmp/qwen-tok -xJf .offline/tok/qwen15.tar.xz
  timeout 240 python3 scripts/bench_constrained_decoding.py --device cuda --shape qwen2.5-coder-1.5b --base_model /tmp/qwen-tok \
    --prompt_style chat "$@" 2>&1 | grep -vi "warn" | tee -a "$OUT/constrained-gpu.txt"
  ;;
fit)
  name=${1:?fit NAME [ARGS]}; shift
  run_one fit "$name" "$@"
  ;;
esac
