"""Callbacks on the tiny model: checkpoints that follow the run, and the files a validation and a test leave."""

from __future__ import annotations

import lightning.pytorch as L
import pytest

from dotlightning.data.records import read_jsonl
from dotlightning.train.callbacks import RunCheckpoint, WritePredictions, WriteSamples
from helpers import make_data, make_module, make_trainer


class FirstStep(L.Callback):
    def on_train_start(self, trainer, pl_module) -> None:
        self.step = trainer.global_step


def fit_tiny(root, pair_files, max_steps: int, ckpt_path: str | None = None) -> int:
    module = make_module()
    first = FirstStep()
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=max_steps, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0,
                        default_root_dir=root,
                        callbacks=[RunCheckpoint(save_last=True, save_top_k=0, every_n_train_steps=2), first])
    trainer.fit(module, datamodule=make_data(module, pair_files), ckpt_path=ckpt_path)
    return first.step


def test_ckpt_path_last_resumes_this_runs_checkpoint_and_never_another_runs(tmp_path, pair_files):
    fit_tiny(tmp_path / "runs" / "a", pair_files, max_steps=2)
    assert (tmp_path / "runs" / "a" / "checkpoints" / "last.ckpt").is_file()
    assert fit_tiny(tmp_path / "runs" / "a", pair_files, max_steps=4, ckpt_path="last") == 2  # resumed at step 2
    with pytest.warns(UserWarning, match="last"):  # run b has no last.ckpt of its own: a fresh start, not run a's
        assert fit_tiny(tmp_path / "runs" / "b", pair_files, max_steps=2, ckpt_path="last") == 0


def test_a_validation_that_generated_leaves_its_samples_and_a_test_its_predictions(tmp_path, pair_files):
    module = make_module(log_samples=2)
    trainer = make_trainer(tmp_path, max_steps=1, callbacks=[WriteSamples(), WritePredictions()])
    data = make_data(module, pair_files)
    trainer.validate(module, datamodule=data)
    [folder] = (tmp_path / "samples").iterdir()
    assert folder.name == "step-000000" and (folder / "samples.md").read_text().count("## sample") == 2
    trainer.test(module, datamodule=data)
    records = read_jsonl(tmp_path / "predictions-test-rank0.jsonl")
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in read_jsonl(pair_files["test"]))  # length order
    assert all(isinstance(r["prediction"], str) for r in records)
