"""scripts/bench_cpu_decode.py on the tiny model: one row per batch size, each with its prefill and decode speed."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path


def test_cpu_decode_bench_reports_prefill_and_decode_speed_per_batch_size():
    path = Path(__file__).resolve().parents[2] / "scripts" / "bench_cpu_decode.py"
    spec = importlib.util.spec_from_file_location("bench_cpu_decode", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--base_model", "tiny", "--batches", "1,3", "--prompt_tokens", "8", "--new_tokens", "4"])
    assert [row["batch"] for row in rows] == [1, 3]
    # Speeds are the benchmark's business, not the test's: a decode step is a difference of two timings, which a
    # loaded machine can push below zero at 4 steps; the test checks that each row reports finite numbers.
    assert all(row["prefill_tokens_per_s"] > 0 for row in rows)
    assert all(math.isfinite(row["decode_ms_per_step"]) and math.isfinite(row["decode_tokens_per_s"]) for row in rows)
