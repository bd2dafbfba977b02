"""scripts/benchmark.py on CPU with the tiny model: the real training step, timed, with the tokens it claims to count."""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("benchmark", REPO / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_runs_the_real_step_and_counts_the_batches_tokens(benchmark, tmp_path, capsys):
    out = tmp_path / "bench.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = benchmark.main(["--config", "configs/tiny.yaml", "--warmup", "1", "--steps", "2",
                                 "--output", str(out)])
    assert json.loads(out.read_text().splitlines()[-1]) == result
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == result
    assert (result["base_model"], result["batch_size"], result["max_seq_length"]) == ("tiny", 4, 256)  # tiny.yaml's
    assert len(result["steps"]) == 3 and all(len(step["losses"]) == 1 for step in result["steps"])
    assert all(math.isfinite(loss) for step in result["steps"] for loss in step["losses"])
    assert result["first_loss"] == result["steps"][0]["losses"][0] and math.isfinite(result["last_loss"])
    assert result["tokens_per_s"] > 0 and result["peak_memory_gib"] > 0  # CPU: peak RSS
    assert result["command"].startswith("python scripts/benchmark.py --config configs/tiny.yaml")

    # The same batches, rebuilt from the same config: the epoch-0 order of the data module the fit used.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, data, _, _ = benchmark.build(["--config", "configs/tiny.yaml"])
        data.setup("fit")
    collate = data._collate()
    batches = [collate([data.datasets["train"][i] for i in indices]) for indices in data._batches("train", 0)[:3]]
    assert [step["tokens"] for step in result["steps"]] == [int(b["attention_mask"].sum()) for b in batches]
    assert [step["labelled"] for step in result["steps"]] == [b["num_labelled"] for b in batches]
    assert result["tokens"] == sum(int(b["attention_mask"].sum()) for b in batches[1:])  # the timed steps only
    assert result["labelled_tokens"] == sum(b["num_labelled"] for b in batches[1:])


def test_overrides_reach_the_module_and_data_module_as_fit_resolves_them(benchmark):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module, data, settings, callbacks = benchmark.build(
            ["--config", "configs/tiny.yaml", "--data.batch_size", "2", "--data.packing", "true",
             "--model.gradient_checkpointing", "true", "--trainer.accumulate_grad_batches", "3"])
    assert data.batch_size == 2 and data.packing is True and module.hparams.gradient_checkpointing is True
    assert settings["accumulate_grad_batches"] == 3 and settings["gradient_clip_val"] == 1.0  # gemma3-270m.yaml's
    # the reliability callbacks stay; nothing that writes checkpoints, adapters or logs comes along
    assert {type(c).__name__ for c in callbacks} == {"ExactResume", "StopOnNonFiniteLoss", "ExplainOutOfMemory"}
