#!/usr/bin/env bash
# Issue 15 on the offline GPU box: dotlightning's whole fits beside TRL, TRL + Liger and Unsloth (scripts/benchmark_peers.py).
#   bash scripts/gpu_peers.sh setup          # every call: install what this call carried (idempotent)
#   bash scripts/gpu_peers.sh start          # returns at once; the runs go on detached (setsid), one at a time
#   bash scripts/gpu_peers.sh wait SECONDS   # progress; copies every result so far to $OUT
#   bash scripts/gpu_peers.sh fg STACKS NAME [ARGS]  # instead of start/wait: STACKS now, in the foreground, results to
#                                            # $OUT/NAME.jsonl + each stack's log (one call <= 600 s; the box goes cold 30 s
#                                            # after a call, so a slice per call beats polling a detached run)
# Carried: call 1 .offline/wheels + .offline/debs (the kit), call 2 .offline/wheels-peers (docs/performance.md lists
# them) + .offline/tok/gemma3.tar.xz (the Gemma 3 tokenizer files, converted on the CPU machine). The shipped adapters'
# safetensors stay behind (the checkout must stay under the call's 64 MiB).
# The runs: (1) the 3-epoch fit of every training pair (<= 1024 tokens) with the packed compiled step; (2) the 640-pair, 2-epoch subset through each stack of STACKS.
set -uo pipefail
cmd=${1:?usage: gpu_peers.sh setup|start|wait SECONDS}; shift
R=/tmp/peers-out prefix=/tmp/offline
STACKS=${STACKS:-unsloth,dl-default,dl-packed-compiled,dl-packed,trl,dl-packed-compiled-gc,trl-liger,dl-compiled,dl-eager}
export DOTLIGHTNING_CACHE=$prefix/cache HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONUNBUFFERED=1 UNSLOTH_DISABLE_STATISTICS=1 HF_DATASETS_OFFLINE=1
export PYTHONPATH="$prefix/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$prefix/sys/usr/lib/x86_64-linux-gnu:$prefix/sys/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$R"
bench=(python3 scripts/benchmark_peers.py --shape gemma-2b --tokenizer /tmp/gemma3-tok --model_dir /tmp/peer-model
       --peer_path /tmp/peers-site --timeout 480)

case $cmd in
setup)
  bash scripts/gpu_qwen.sh setup
  if compgen -G ".offline/wheels-peers/*.whl" >/dev/null && [[ ! -e /tmp/peers-site/.done ]]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/peers-site .offline/wheels-peers/*.whl \
      && touch /tmp/peers-site/.done
  fi
  [[ -e .offline/tok/gemma3.tar.xz && ! -e /tmp/gemma3-tok/tokenizer.json ]] && mkdir -p /tmp/gemma3-tok \
    && tar -C /tmp/gemma3-tok -xJf .offline/tok/gemma3.tar.xz
  ls /tmp/peers-site 2>/dev/null | head -3; ls /tmp/gemma3-tok 2>/dev/null
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, transformers, peft, lightning, bitsandbytes; print(torch.__version__, transformers.__version__, peft.__version__, lightning.__version__, bitsandbytes.__version__)"
  ;;
start)
  setsid nohup bash "$0" run >"$R/log.txt" 2>&1 </dev/null &
  echo "started $!"
  ;;
run)
  nvidia-smi >"$R/nvidia-smi.txt" 2>&1
  date -u +%FT%TZ >"$R/started"
  # The whole fit took 209 s with its model build on 2026-12-03; with a 64-prompt validation appended it outran 480 s.
  "${bench[@]}" --timeout 900 --pairs 100000 --max_length 1024 --epochs 3 --stacks dl-packed-compiled \
    --output "$R/full-fit.jsonl"
  "${bench[@]}" --pairs 640 --epochs 2 --stacks "$STACKS" --output "$R/peers.jsonl"
  date -u +%FT%TZ >"$R/finished"
  ;;
fg)
  stacks=${1:?fg STACKS NAME}; name=${2:?fg STACKS NAME}; shift 2
  python3 -c 'import sys; sys.path.insert(0, "scripts"); import benchmark_peers as b
a, _ = b.parse_args(["--tokenizer", "/tmp/gemma3-tok", "--model_dir", "/tmp/peer-model"]); b.ensure_model(a)'
  "${bench[@]}" --pairs 640 --epochs 2 --stacks "$stacks" --work "$R/work-$name" --output "${OUT:-$R}/$name.jsonl" "$@"
  rc=$?
  [[ -n ${OUT:-} ]] && cp "$R/work-$name"/*.log "$OUT/" 2>/dev/null
  exit $rc
  ;;
wait)
  end=$((SECONDS + ${1:-60}))
  while (( SECONDS < end )) && [[ ! -e $R/finished ]]; do sleep 5; done
  grep -v "^\s*$" "$R/log.txt" | grep -iv "warn" | tail -40
  nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader
  [[ -n ${OUT:-} ]] && cp "$R"/*.jsonl "$R"/log.txt "$R"/nvidia-smi.txt "$OUT/" 2>/dev/null
  ls -la "$R"
  ;;
esac
