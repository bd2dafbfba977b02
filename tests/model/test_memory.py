"""model.memory_budget_gib (dotlightning/model/memory.py): checkpointing and micro-batch picked from measured peaks."""

from __future__ import annotations

import pytest

from dotlightning.cli.commands import apply_memory_budget
from dotlightning.model.memory import load_table, pick_knobs, shape_of

# One shape, batch 4 x 1024 measured: 1 GiB of weights, 9 GiB peak without checkpointing, 2 GiB with it.
ROWS = [{"shape": "s", "gradient_checkpointing": gc, "batch_size": 4, "row_length": 1024, "weights_gib": 1.0,
         "peak_allocated_gib": peak, "tokens_per_s": tps} for gc, peak, tps in ((False, 9.0, 30e3), (True, 2.0, 20e3))]


def test_a_24gb_budget_turns_checkpointing_off():
    knobs = pick_knobs("s", 1024, 4, 4, 24, ROWS)
    assert knobs.gradient_checkpointing is False
    assert knobs.estimated_peak_gib <= 24 - 0.5


def test_an_8gb_budget_keeps_checkpointing_and_fits():
    knobs = pick_knobs("s", 1024, 4, 4, 8, ROWS)
    assert knobs.gradient_checkpointing is True and knobs.estimated_peak_gib <= 7.5


def test_the_effective_batch_never_changes():
    for budget in (4, 8, 12, 24, 80):
        knobs = pick_knobs("s", 1024, 4, 4, budget, ROWS)
        assert knobs.batch_size * knobs.accumulate_grad_batches == 16


def test_a_longer_row_needs_a_smaller_micro_batch():
    assert pick_knobs("s", 2048, 4, 4, 24, ROWS).batch_size < pick_knobs("s", 1024, 4, 4, 24, ROWS).batch_size


def test_nothing_fits_says_what_to_change():
    with pytest.raises(ValueError, match=r"nothing fits s at max_seq_length 65536.*Fix: lower data.max_seq_length"):
        pick_knobs("s", 65536, 4, 4, 8, ROWS)


def test_an_unmeasured_shape_says_how_to_measure_it():
    with pytest.raises(ValueError, match=r"no measurement of 'other'.*Fix: measure it"):
        pick_knobs("other", 1024, 4, 4, 8, ROWS)


def test_every_shipped_config_has_rows_and_fits_8gb_at_its_defaults():
    rows = load_table()
    for base_model in ("embedded:gemma3-270m", "google/gemma-2b-it", "microsoft/phi-2", "Qwen/Qwen2.5-1.5B-Instruct",
                       "embedded:qwen2.5-coder-0.5b-instruct", "embedded:qwen2.5-coder-1.5b-instruct"):
        knobs = pick_knobs(shape_of(base_model), 1024, 4, 4, 8, rows)
        assert knobs.estimated_peak_gib <= 7.5, base_model


class _Config(dict):
    """Stands in for jsonargparse's Namespace: dotted keys, get()."""


def test_the_fit_config_gets_the_picked_knobs_and_null_changes_nothing(capsys):
    config = _Config({"model.memory_budget_gib": 24, "model.base_model": "google/gemma-2b-it",
                      "model.gradient_checkpointing": True, "data.packing": False, "data.max_seq_length": 1024,
                      "data.pack_length": 1024, "data.batch_size": 4, "trainer.accumulate_grad_batches": 4})
    untouched = _Config(config, **{"model.memory_budget_gib": None})
    apply_memory_budget(config)
    assert config["model.gradient_checkpointing"] is False
    assert config["data.batch_size"] * config["trainer.accumulate_grad_batches"] == 16
    assert "memory_budget_gib=24" in capsys.readouterr().out
    before = dict(untouched)
    apply_memory_budget(untouched)
    assert dict(untouched) == before


def test_an_unknown_base_model_with_a_budget_is_an_error():
    config = _Config({"model.memory_budget_gib": 8, "model.base_model": "gpt2"})
    with pytest.raises(ValueError, match="no measurement of 'gpt2'.*Fix: set model.memory_budget_gib to null"):
        apply_memory_budget(config)
