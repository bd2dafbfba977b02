#!/usr/bin/env bash
# Checks what a user of the wheel gets: configs and the shipped adapter are package data, found from any directory.
#
#   bash scripts/check_wheel.sh [PYTHON]      # PYTHON: an environment with dotlightning's dependencies (default .venv)
#
# Builds the wheel, installs it with --no-deps into a fresh folder (the dependencies come from PYTHON's environment,
# so nothing is downloaded), and from an empty directory checks that
#   - the installed copy is the one imported, not the checkout;
#   - `fit --print_config` shows the embedded defaults (every callback, ExportAdapter included);
#   - `--config configs/tiny.yaml` resolves to the packaged config;
#   - the shipped adapter is found inside the installed package, in standard peft form;
#   - `generate` runs end to end on the tiny model (`--adapter "" --base_model tiny`).
# The shipped adapter itself needs the Gemma 3 270M weights and minutes of CPU: CHECK_WHEEL_SHIPPED=1 runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-${DOTLIGHTNING_VENV:-.venv}/bin/python}
[[ $python == /* || $python != */* ]] || python=$PWD/$python  # the checks run from an empty directory
work=$(mktemp -d "${TMPDIR:-/tmp}/dotlightning-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" . >/dev/null
wheel=$(ls "$work"/dist/dotlightning-*.whl)
"$python" -m pip install -q --no-deps --target "$work/site" "$wheel"
mkdir "$work/empty"
cd "$work/empty"
export PYTHONPATH="$work/site" DOTLIGHTNING_CACHE="$work/cache" HF_HUB_OFFLINE=1

fail() { echo "check_wheel: FAIL: $*" >&2; exit 1; }
where=$("$python" -c 'import dotlightning; print(dotlightning.__file__)')
[[ $where == "$work/site/"* ]] || fail "imported $where, not the installed wheel"

"$python" -m dotlightning fit --print_config > defaults.yaml 2>/dev/null || fail "fit --print_config"
for callback in ExportAdapter RunCheckpoint ExactResume StopOnNonFiniteLoss AtomicCheckpointIO; do
  grep -q "$callback" defaults.yaml || fail "fit --print_config lacks $callback"
done
grep -q "base_model: embedded:gemma3-270m" defaults.yaml || fail "embedded default base model missing"
"$python" -m dotlightning fit --config configs/tiny.yaml --print_config 2>/dev/null | grep -q "base_model: tiny" \
  || fail "--config configs/tiny.yaml did not resolve to the packaged config"

"$python" - "$work/site" <<'PY' || fail "shipped adapter"
import json, sys
from dotlightning.cli.generate import SHIPPED_ADAPTER, SMALL_ADAPTER
for adapter, hub in ((SHIPPED_ADAPTER, "Qwen/Qwen2.5-Coder-1.5B-Instruct"), (SMALL_ADAPTER, "google/gemma-3-270m")):
    assert str(adapter).startswith(sys.argv[1]), adapter
    for name in ("adapter_config.json", "adapter_model.safetensors", "dotlightning.json",
                 "tokenizer_config.json", "chat_template.jinja", "README.md"):
        assert (adapter / name).is_file(), f"{adapter.name}/{name} not in the wheel"
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == hub
PY

"$python" -m dotlightning generate --adapter "" --base_model tiny --prompt "a to b" --max_new_tokens 8 \
  --device cpu --output tiny.jsonl 2>/dev/null || fail "generate with the tiny model"
grep -q '"prediction"' tiny.jsonl || fail "generate wrote no prediction"
if [[ ${CHECK_WHEEL_SHIPPED:-0} == 1 ]]; then
  # the user's own cache (the Gemma conversion is done once per machine)
  env -u DOTLIGHTNING_CACHE "$python" -m dotlightning generate --prompt "a state machine: idle -> busy on start" --max_new_tokens 64 \
    --device cpu > shipped.jsonl || fail "generate with the shipped adapter"
  grep -q "digraph\|graph" shipped.jsonl || fail "the shipped adapter wrote no graph"
fi
echo "check_wheel: OK ($(basename "$wheel"), $(du -h "$wheel" | cut -f1))"
