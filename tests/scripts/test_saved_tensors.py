"""scripts/saved_tensors.py on the tiny model: what one training forward keeps for backward, and what recompute frees."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_checkpointing_keeps_fewer_tensors_for_backward_at_the_same_loss():
    spec = importlib.util.spec_from_file_location("saved_tensors", REPO / "scripts" / "saved_tensors.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    common = ["--config", "configs/tiny.yaml", "--base_model", "tiny", "--shape", "tiny", "--pack_length", "128"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = script.main(common)
        checkpointed = script.main([*common, "--gradient_checkpointing"])
    assert [row["step"] for row in plain] == ["first", "second"]
    assert plain[0]["saved_bytes"] == plain[1]["saved_bytes"] > 0  # the same step twice keeps the same tensors
    assert checkpointed[0]["saved_bytes"] < plain[0]["saved_bytes"] / 2
    assert abs(checkpointed[0]["loss"] - plain[0]["loss"]) < 1e-4
