"""scripts/measure_memory.py on CPU with the tiny model: the dry run of the GPU memory sweep (scripts/gpu_memory.sh)."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def measure_memory():
    return _script("measure_memory")


def test_a_shipped_config_resolves_as_the_cli_does(measure_memory):
    # configs/gemma.yaml over configs/gemma3-270m.yaml: its own knobs win, the rest is the embedded default's
    s = measure_memory.config_settings("configs/gemma.yaml")
    assert s["target_modules"] == ["q_proj", "v_proj"] and s["gradient_checkpointing"] is True
    assert (s["batch_size"], s["max_seq_length"], s["accumulate"]) == (4, 1024, 1)  # packed rows: ~16 examples a step
    assert s["packing"] is True and s["pack_length"] == 1024  # packed by default since 2026-12-07 (issue 15)
    # the coder configs set no batch or accumulation: the embedded default's 4 x 4 at 1024
    coder = measure_memory.config_settings("configs/qwen2.5-coder-0.5b.yaml")
    assert (coder["batch_size"], coder["accumulate"], coder["max_seq_length"]) == (4, 4, 1024)
    assert coder["target_modules"] == "all-linear" and coder["gradient_checkpointing"] is True
    assert measure_memory.config_settings(None)["gradient_checkpointing"] is False  # gemma3-270m.yaml itself


def test_the_cpu_dry_run_writes_one_json_line_with_every_field(measure_memory, tmp_path, capsys):
    out = tmp_path / "memory.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measure_memory.main(["--config", "configs/tiny.yaml", "--shape", "tiny", "--device", "cpu", "--length", "64",
                             "--batch", "2", "--accumulate", "2", "--packing", "1", "--pack_length", "96",
                             "--gradient_checkpointing", "1", "--optimizer_steps", "1", "--output", str(out)])
    row = json.loads(out.read_text().splitlines()[-1])
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == row
    assert row["shape"] == "tiny" and row["device"] == "cpu"
    assert row["peak_allocated_gib"] is None and row["weights_gib"] is None  # no CUDA: no peak
    assert (row["batch_size"], row["row_length"], row["accumulate"]) == (2, 96, 2)
    assert row["packing"] is True and row["gradient_checkpointing"] is True
    assert row["tokens_per_s"] > 0 and len(row["losses"]) == 2 * 2  # warm-up + 1 timed step, 2 micro-steps each
    assert all(loss == loss for loss in row["losses"])  # finite
    assert row["command"].startswith("python scripts/measure_memory.py --config configs/tiny.yaml")
