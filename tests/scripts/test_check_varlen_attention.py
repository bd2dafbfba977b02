"""scripts/check_varlen_attention.py: varlen attention against each packed segment run alone (CPU), and on CUDA
FlashAttention-2 against the dense reference (runs only where there is a GPU)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("check_varlen_attention", REPO / "scripts" / "check_varlen_attention.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_reference_equals_each_segment_alone_with_grouped_heads_windows_and_empty_segments():
    script = load_script()
    result = script.main([])
    for window in (None, 24):
        errors = result[f"max_error_window_{window}"]
        assert set(errors) == {"out", "dq", "dk", "dv"} and max(errors.values()) < 1e-5, errors


def test_the_check_fails_when_the_window_is_off_by_one():
    script = load_script()
    generator = torch.Generator().manual_seed(0)
    cu = script.packed_segments(2, 128, 25, generator)
    q, k, v = torch.randn(256, 4, 16), torch.randn(256, 1, 16), torch.randn(256, 1, 16)
    from dotlightning.model.varlen_attention import reference_varlen_attention

    alone = script.each_segment_alone(q, k, v, cu, None, 24)
    assert (reference_varlen_attention(q, k, v, cu, None, 24) - alone).abs().max() < 1e-5
    assert (reference_varlen_attention(q, k, v, cu, None, 25) - alone).abs().max() > 1e-3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="FlashAttention-2 needs a CUDA GPU")
def test_flash_varlen_matches_the_reference_on_cuda():
    script = load_script()
    for window in (None, 24):
        errors = script.compare("cuda", rows=4, length=256, heads=8, kv_heads=1, dim=256, window=window)
        assert max(errors.values()) < 2e-2, errors  # bf16 against an fp32 reference, relative to its largest value
