"""scripts/sync_sites.py on the tiny model: the host reads of tensor values in the packed training step, and the two
that packed_attention varlen removes (transformers' packed-sequence detection, once per layer type)."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_varlen_attention_removes_the_packed_sequence_detection_syncs():
    spec = importlib.util.spec_from_file_location("sync_sites", REPO / "scripts" / "sync_sites.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    common = ["--config", "configs/gemma.yaml", "--shape", "tiny", "--model.base_model", "tiny", "--data.packing", "true",
              "--data.pack_length", "256", "--model.gradient_checkpointing", "false", "--model.compile", "null",
              "--data.limit_train", "120", "--warmup", "1", "--steps", "2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdpa = script.main(common)["per_micro_batch"]
        varlen = script.main([*common, "--model.packed_attention", "varlen"])["per_micro_batch"]

    def reads(sites, where):
        return sum(count for site, count in sites.items() if where in site)

    assert reads(sdpa, "masking_utils.py") == 2  # one per layer type (sliding, full), every micro-batch
    assert reads(varlen, "masking_utils.py") == 0
    assert reads(sdpa, "reliability.py") == reads(varlen, "reliability.py") == 1  # the NaN/Inf stop's check
