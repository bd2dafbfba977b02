#!/usr/bin/env bash
# Peak GPU memory and tokens/s of every shipped config x {gradient checkpointing on, off} x {unpacked, packed}, at
# the config's own batch_size, max_seq_length (pack_length packed) and accumulate_grad_batches, random weights of the
# config's published shape (scripts/random_shapes.py: no weights, no network). One python process per point, so
# peaks never mix; one JSON line per point appended to OUT (docs/performance.md, "Memory per config").
#
#   bash scripts/gpu_memory.sh results/memory.jsonl          # 24 points, ~10 s each on an H200 (about 4 min)
#   STEPS=3 bash scripts/gpu_memory.sh out.jsonl             # more timed optimizer steps (default 1)
#   DEVICE=cpu SHAPE=tiny CONFIGS=tiny bash scripts/gpu_memory.sh /tmp/dry.jsonl   # CPU dry run of the loop
set -uo pipefail
OUT=${1:?usage: scripts/gpu_memory.sh OUT.jsonl}
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STEPS=${STEPS:-1}  # timed optimizer steps per point, after one warm-up step
DEVICE=${DEVICE:-cuda}
CONFIGS=${CONFIGS:-"gemma3-270m gemma phi2 qwen2.5-1.5b qwen2.5-coder-0.5b qwen2.5-coder-1.5b"}
declare -A SHAPE_OF=([gemma3-270m]=gemma3-270m [gemma]=gemma-2b [phi2]=phi-2 [qwen2.5-1.5b]=qwen2.5-1.5b
                     [qwen2.5-coder-0.5b]=qwen2.5-coder-0.5b [qwen2.5-coder-1.5b]=qwen2.5-coder-1.5b [tiny]=tiny)
mkdir -p "$(dirname "$OUT")"
started=$SECONDS
failed=0
for config in $CONFIGS; do
  shape=${SHAPE:-${SHAPE_OF[$config]}}
  for gc in 1 0; do
    for packing in 0 1; do
      t=$SECONDS
      if line=$(timeout "${POINT_TIMEOUT:-120}" "$PY" scripts/measure_memory.py --config "configs/$config.yaml" --shape "$shape" \
          --gradient_checkpointing "$gc" --packing "$packing" --optimizer_steps "$STEPS" --device "$DEVICE" \
          --output "$OUT" 2>/tmp/gpu_memory.$$.err | tail -n 1); then
        echo "$config gc=$gc packing=$packing ($((SECONDS - t)) s): $("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print("peak", r["peak_allocated_gib"], "GiB, weights", r["weights_gib"], "GiB,", r["tokens_per_s"], "tokens/s")' "$line")"
      else
        failed=$((failed + 1))
        reason=$(grep -E "Error|error" /tmp/gpu_memory.$$.err | tail -n 1)
        echo "$config gc=$gc packing=$packing FAILED ($((SECONDS - t)) s): $reason"
        "$PY" -c 'import json,sys; print(json.dumps({"config": sys.argv[1], "shape": sys.argv[2], "gradient_checkpointing": sys.argv[3] == "1", "packing": sys.argv[4] == "1", "error": sys.argv[5]}))' \
          "configs/$config.yaml" "$shape" "$gc" "$packing" "$reason" >> "$OUT"
      fi
    done
  done
done
rm -f /tmp/gpu_memory.$$.err
echo "done: $OUT, $((SECONDS - started)) s, $failed failed"
