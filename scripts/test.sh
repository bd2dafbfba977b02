#!/usr/bin/env bash
# Sets up a virtual environment with the CPU build of torch (never the CUDA wheels) and runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${DOTLIGHTNING_VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q torch==2.13.0
"$venv/bin/python" -m pip install -q -e ".[test]"
"$venv/bin/python" -m pytest -q -x "$@"
# In CI also check the wheel: packaged configs and adapter, found from an empty directory (~30 s).
if [[ ${CI:-} == true ]]; then
  bash scripts/check_wheel.sh "$venv/bin/python"
fi
