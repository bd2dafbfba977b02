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


def gemma_fit_config(**overrides) -> _Config:
    """configs/gemma.yaml's knobs as the fit sees them: packed 4 x 1024 rows, accumulate 1, checkpointing, compile auto."""
    return _Config({"model.memory_budget_gib": "auto", "model.base_model": "google/gemma-2b-it",
                    "model.gradient_checkpointing": True, "model.compile": "auto", "data.packing": True,
                    "data.pad_to_multiple_of": None, "data.max_seq_length": 1024, "data.pack_length": 1024,
                    "data.batch_size": 4, "trainer.accumulate_grad_batches": 1} | overrides)


def test_auto_budget_keeps_the_configs_knobs_without_a_cuda_device_or_for_an_unmeasured_model(monkeypatch, capsys):
    import dotlightning.cli.commands as commands

    monkeypatch.setattr(commands, "cuda_memory_gib", lambda: None)
    config = gemma_fit_config()
    before = dict(config)
    apply_memory_budget(config)
    assert dict(config) == before and "auto: no CUDA device" in capsys.readouterr().out
    monkeypatch.setattr(commands, "cuda_memory_gib", lambda: 24.0)
    config = gemma_fit_config(**{"model.base_model": "gpt2"})  # auto never fails a fit over an unmeasured model
    before = dict(config)
    apply_memory_budget(config)
    assert dict(config) == before and "no measurement of 'gpt2'" in capsys.readouterr().out


@pytest.mark.parametrize("triton", [True, False])
def test_auto_budget_picks_the_compiled_step_where_it_fits_and_checkpointing_on_small_cards(monkeypatch, capsys,
                                                                                           triton):
    """The gemma.yaml fit on cards of 8, 12 and 24 GiB: without Triton (no compile) the eager rows decide; with it the
    compiled rows (H100, 2026-12-08) let checkpointing go wherever the compiled step fits. Rows an optimizer step
    stay 4."""
    import importlib.util

    import dotlightning.cli.commands as commands

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (object() if triton else None) if name == "triton" else find_spec(name, *a))
    picked = {}
    for card in (8.0, 12.0, 24.0):
        monkeypatch.setattr(commands, "cuda_memory_gib", lambda card=card: card)
        config = gemma_fit_config()
        apply_memory_budget(config)
        assert config["data.batch_size"] * config["trainer.accumulate_grad_batches"] == 4
        picked[card] = (config["model.gradient_checkpointing"], config["data.batch_size"])
        assert f"auto ({round(0.9 * card, 1)} GiB of this GPU)" in capsys.readouterr().out
    if triton:  # compiled: 5.8 GiB estimated at 2 rows fits 8 GB; 9.2 GiB at 4 rows fits 12 GB
        assert picked == {8.0: (False, 2), 12.0: (False, 4), 24.0: (False, 4)}
    else:  # eager without checkpointing: 12.6 GiB at 4 rows, so 8 GB keeps checkpointing
        assert picked[8.0] == (True, 4) and picked[24.0] == (False, 4)


def test_a_bad_budget_says_how_to_fix():
    from dotlightning.model.module import DotLoRAModule

    with pytest.raises(ValueError, match="memory_budget_gib must be positive, auto or null.*Fix"):
        DotLoRAModule(base_model="tiny", memory_budget_gib="big")


def test_checkpointing_auto_is_on_without_a_gpu_and_as_set_otherwise(pair_files):
    """gradient_checkpointing: auto (configs/gemma.yaml) on a CPU builds the checkpointed model (memory-safe); true and
    false are used as given; the resolved value is what the module and its OOM note use."""
    import torch

    from helpers import make_data, make_module

    module = make_module(gradient_checkpointing="auto")
    assert module.checkpointing is None  # resolved when built, on the fit's device
    module.build(torch.device("cpu"), datamodule=make_data(module, pair_files, packing=True, pack_length=256))
    assert module.checkpointing is True and module.model.get_base_model().is_gradient_checkpointing
    plain = make_module(gradient_checkpointing=False)
    plain.build(torch.device("cpu"))
    assert plain.checkpointing is False and not plain.model.get_base_model().is_gradient_checkpointing
    with pytest.raises(ValueError, match="gradient_checkpointing must be true, false or auto.*Fix"):
        make_module(gradient_checkpointing="sometimes")
