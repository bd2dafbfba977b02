"""Crash safety end to end through the real CLI on the tiny model: kill -9 + resume, atomic saves, NaN stop,
pickle-free checkpoints, malformed data, and DDP (2 CPU processes, gloo) giving single-process validation metrics."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import make_pairs, write_jsonl
from dotlightning.cli import commands as cli
from dotlightning.train.reliability import AtomicCheckpointIO, NonFiniteLossError

REPO = Path(__file__).resolve().parents[2]
TINY = str(cli.CONFIG_DIR / "tiny.yaml")


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data_args(pair_files: dict[str, Path]) -> list[str]:
    return ["--data.train_file", str(pair_files["train"]), "--data.val_file", str(pair_files["val"]),
            "--data.test_file", str(pair_files["test"])]


QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def test_kill9_resume_matches_uninterrupted_run(pair_files, tmp_path):
    """A real SIGKILL of `fit` mid-run, then `--ckpt_path last`: same adapter as an uninterrupted run (<= 1e-5).
    24 pairs / batch 4 = 6 batches per epoch, so the kill after step 2 lands mid-epoch and the run crosses an epoch."""
    kill_resume = _load_script("kill_resume").kill_resume
    args = [*_data_args(pair_files), "--trainer.max_steps", "8", "--trainer.val_check_interval", "8", *QUIET]
    result = kill_resume(tmp_path, args, kill_after_step=2, timeout=240)
    assert 2 <= result["killed_after_steps"] < 8
    assert result["max_abs_diff"] <= 1e-5, result


def test_atomic_save_crash_midwrite_keeps_old_last_checkpoint(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    last = tmp_path / "last.ckpt"
    io.save_checkpoint({"global_step": 2, "state_dict": {"w": torch.ones(3)}}, last)

    def crash_after_partial_write(obj, handle, *args, **kwargs):
        handle.write(b"PK\x03\x04 half a checkpoint")  # bytes hit the disk, then the process "dies"
        raise KeyboardInterrupt("simulated crash during save")

    monkeypatch.setattr(torch, "save", crash_after_partial_write)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 4, "state_dict": {"w": torch.zeros(3)}}, last)
    monkeypatch.undo()
    restored = io.load_checkpoint(last)
    assert restored["global_step"] == 2 and torch.equal(restored["state_dict"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temp files left behind


class _Gadget:  # stands in for any pickled object whose unpickling could run code
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_weights_only_loading_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Gadget()}, path)
    with pytest.raises(pickle.UnpicklingError):
        AtomicCheckpointIO().load_checkpoint(path)


def test_nan_loss_stops_naming_step_keeps_last_good_checkpoint_weights_only(pair_files, tmp_path, monkeypatch):
    """Loss turns NaN at global step 3: the run raises naming step 3; last.ckpt stays the step-2 one (finite, loads
    with weights_only=True and resumes), and no adapter is exported."""
    import dotlightning.model.module as model_module

    real_loss, calls = model_module.causal_lm_loss, []

    def loss_turning_nan(model, batch, **kwargs):
        loss = real_loss(model, batch, **kwargs)
        if torch.is_grad_enabled():
            calls.append(1)
            if len(calls) == 4:  # the 4th training step, i.e. global step 3
                return loss * float("nan")
        return loss

    monkeypatch.setattr(model_module, "causal_lm_loss", loss_turning_nan)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NonFiniteLossError, match=r"nan at global step 3 \(epoch 0, batch 3\)"):
        cli.main(["fit", "--config", TINY, *_data_args(pair_files), "--trainer.max_steps", "8",
                  "--trainer.val_check_interval", "8", *QUIET])
    last = tmp_path / "runs" / "tiny" / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)  # only tensors and primitive types
    assert checkpoint["global_step"] == 2
    assert checkpoint["state_dict"] and all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())
    assert all(".lora_" in name for name in checkpoint["state_dict"])  # LoRA weights only, never the base
    assert not list((tmp_path / "runs" / "tiny").glob("version_*/adapter"))


def test_out_of_memory_names_step_shape_and_fix_and_last_checkpoint_resumes(pair_files, tmp_path, monkeypatch):
    """A CUDA OOM injected at global step 3: the error carries a note naming the step, the batch shape, the last
    checkpoint and the knobs to turn; that checkpoint (step 2) loads and ``--ckpt_path last`` finishes the run."""
    import dotlightning.model.module as model_module

    real_loss, calls = model_module.causal_lm_loss, []

    def loss_running_out_of_memory(model, batch, **kwargs):
        if torch.is_grad_enabled():
            calls.append(1)
            if len(calls) == 4:  # the 4th training step, i.e. global step 3
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        return real_loss(model, batch, **kwargs)

    monkeypatch.setattr(model_module, "causal_lm_loss", loss_running_out_of_memory)
    monkeypatch.chdir(tmp_path)
    args = ["fit", "--config", TINY, *_data_args(pair_files), "--trainer.max_steps", "6", "--trainer.val_check_interval", "6", *QUIET]
    with pytest.raises(torch.OutOfMemoryError) as caught:
        cli.main(args)
    note = "\n".join(getattr(caught.value, "__notes__", []))
    assert "out of memory at global step 3 (epoch 0), batch input_ids 4 x " in note, note
    assert "--model.gradient_checkpointing true" in note and "--data.batch_size 2 --trainer.accumulate_grad_batches 2" in note
    assert "--data.max_seq_length 128" in note and "last.ckpt (intact; resume with --ckpt_path last)" in note
    last = tmp_path / "runs" / "tiny" / "checkpoints" / "last.ckpt"
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 2
    monkeypatch.setattr(model_module, "causal_lm_loss", real_loss)
    cli.main([*args, "--ckpt_path", "last"])
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 6


def _write_bad_train(tmp_path: Path) -> Path:
    rows = [json.dumps(r) for r in make_pairs(12)]
    rows[2] = '{"prompt": "broken json", "completion": '  # line 3
    rows[4] = json.dumps({"prompt": "no completion field"})  # line 5
    path = tmp_path / "bad-train.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_malformed_rows_named_by_file_and_line_through_cli(pair_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = _write_bad_train(tmp_path)
    args = ["fit", "--config", TINY, *_data_args(pair_files), "--data.train_file", str(bad),
            "--trainer.max_steps", "1", "--trainer.val_check_interval", "1", "--model.generate_every_n_val", "0",
            *QUIET]
    with pytest.raises(ValueError, match=rf"{bad.name}:3: "):
        cli.main(args)


def test_malformed_rows_skipped_and_counted_with_skip_invalid(pair_files, tmp_path):
    bad = _write_bad_train(tmp_path)
    args = ["fit", "--config", TINY, *_data_args(pair_files), "--data.train_file", str(bad), "--data.skip_invalid",
            "true", "--trainer.max_steps", "1", "--trainer.val_check_interval", "1", "--model.generate_every_n_val",
            "0", *QUIET]
    out = _run_cli(args, tmp_path)
    line = next(line for line in out.splitlines() if line.startswith("data train:"))
    assert line.startswith("data train: 10 examples"), line  # 12 rows, 2 malformed
    skipped = eval(line.split("skipped=")[1].split(", padding")[0])  # the dict the data module logs
    assert sum(skipped.values()) == 2, line


def _run_cli(args: list[str], cwd: Path, timeout: float = 180) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "dotlightning", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


def _val_metrics(folder: Path) -> dict[str, float]:
    (metrics_csv,) = (folder / "runs" / "tiny").glob("version_*/metrics.csv")
    rows = list(csv.DictReader(metrics_csv.open()))
    return {key: float(value) for row in rows for key, value in row.items() if key.startswith("val/") and value}


def test_ddp_two_cpu_processes_validate_like_one(pair_files, tmp_path):
    """`validate` with DDP over 2 gloo processes gives the single-process val loss and generation metrics.
    eval batch size 1: 8 val examples split 4/4, and a mean of per-example losses does not depend on the split."""
    args = ["validate", "--config", TINY, *_data_args(pair_files), "--data.limit_val", "8",
            "--data.eval_batch_size", "1", "--model.generate_max_samples", "null", "--model.max_new_tokens", "24",
            *QUIET]
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    single.mkdir(), ddp.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([sys.executable, "-m", "dotlightning", *args, *extra], cwd=cwd, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for cwd, extra in ((single, ["--trainer.devices", "1"]),
                                (ddp, ["--trainer.strategy", "ddp", "--trainer.devices", "2",
                                       "--trainer.accelerator", "cpu"]))]
    for proc in procs:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, out[-4000:]
    one, two = _val_metrics(single), _val_metrics(ddp)
    assert {"val/loss", "val/parse_rate", "val/node_f1"} <= one.keys()
    assert one.keys() == two.keys()
    for key in one.keys() - {"val/generate_seconds"}:  # wall time, not a score
        assert two[key] == pytest.approx(one[key], abs=1e-5), key


def test_ddp_two_cpu_processes_fit_then_checkpoint_loads_on_one(pair_files, tmp_path):
    """A DDP fit over 2 gloo processes (the data module shards the batches) ends with an exported adapter, and its
    checkpoint loads in a single-process validate."""
    common = ["--config", TINY, *_data_args(pair_files), "--data.limit_val", "4", "--model.max_new_tokens", "8", *QUIET]
    out = _run_cli(["fit", *common, "--trainer.max_steps", "4", "--trainer.strategy", "ddp", "--trainer.devices", "2",
                    "--trainer.accelerator", "cpu"], tmp_path)
    assert "adapter saved to" in out
    assert list((tmp_path / "runs" / "tiny").glob("version_*/adapter/adapter_model.safetensors"))
    last = tmp_path / "runs" / "tiny" / "checkpoints" / "last.ckpt"
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == 4
    _run_cli(["validate", *common, "--trainer.devices", "1", "--ckpt_path", str(last)], tmp_path)
