"""Callbacks that hand results back to the user: checkpoints that follow the run, the adapter at the end of a fit, a
base-vs-tuned table, and the files each validation, test and predict leave in the log directory (the rendered
samples; the predictions as JSONL). The LightningModule only collects what these write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import lightning.pytorch as L
from lightning.pytorch.callbacks import ModelCheckpoint

from dotlightning.model.adapter_export import export_adapter
from dotlightning.metrics.graph_metrics import SCORE_KEYS
from dotlightning.metrics.tables import format_rows
from dotlightning.train.samples import write_samples


class RunCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose folder follows the run: ``<trainer.default_root_dir>/checkpoints`` unless ``dirpath``
    is given. Lightning's own default (the logger's ``version_N/checkpoints``) changes every run, so
    ``--ckpt_path last`` could not find the crashed run's checkpoint; a fixed folder shared by every config could pick
    up another model's. With this, each config sets ``trainer.default_root_dir`` once and its checkpoints follow."""

    def _follow_run(self, trainer: L.Trainer) -> None:
        if self.dirpath is None:
            self.dirpath = os.path.realpath(os.path.join(trainer.default_root_dir, "checkpoints"))

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._follow_run(trainer)
        super().setup(trainer, pl_module, stage)

    def _find_last_checkpoints(self, trainer: L.Trainer) -> set[str]:  # used by --ckpt_path last, before setup
        self._follow_run(trainer)
        return super()._find_last_checkpoints(trainer)


class ExportAdapter(L.Callback):
    """Save the trained LoRA adapter in peft's format (plus dotlightning.json) when a fit ends.

    Args:
        dirpath: Where to write it; default ``<log_dir>/adapter``.
    """

    def __init__(self, dirpath: str | None = None) -> None:
        self.dirpath = dirpath

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # trainer.log_dir broadcasts from rank 0 under DDP, so every rank must ask before the others return.
        target = Path(self.dirpath or Path(trainer.log_dir or ".") / "adapter")
        if trainer.global_rank != 0:
            return
        export_adapter(pl_module, target, datamodule=trainer.datamodule)
        print(f"dotlightning: adapter saved to {target}")


class BaseVsTuned(L.Callback):
    """Score the untuned model on the validation prompts before training and print one table with both at the end.

    At step 0 the LoRA B matrices are zero, so the model *is* the base model: this is the honest baseline on the very
    prompts and decoding settings that the tuned numbers use.

    Args:
        max_samples: Validation prompts to score (the first n); None for the module's ``generate_max_samples``.
        output: Optional JSON file for both rows.
    """

    def __init__(self, max_samples: int | None = None, output: str | None = None) -> None:
        self.max_samples = max_samples
        self.output = output
        self.base: dict[str, float] | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if pl_module.global_step == 0:  # not on resume: the model is no longer the base
            self.base = pl_module.score_generations(trainer.datamodule.val_dataloader(), self.max_samples)
            pl_module.log_dict({f"base/{name}": value for name, value in self.base.items()})

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Reuse the last validation's generation metrics when it scored the final weights on the same prompts.
        logged = {name: trainer.callback_metrics.get(f"val/{name}") for name in SCORE_KEYS}
        same_prompts = pl_module.hparams.generate_max_samples == (self.max_samples or pl_module.hparams.generate_max_samples)
        if all(value is not None for value in logged.values()) and same_prompts and pl_module._validated_at_step == pl_module.global_step:
            tuned = {name: float(value) for name, value in logged.items()}
        else:
            tuned = pl_module.score_generations(trainer.datamodule.val_dataloader(), self.max_samples)
        rows = {"tuned": tuned} if self.base is None else {"base": self.base, "tuned": tuned}
        if trainer.global_rank == 0:
            print(format_rows(rows, title=f"validation generations (first {self.max_samples or 'n'} prompts)"))
            if self.output:
                Path(self.output).write_text(json.dumps(rows, indent=2), encoding="utf-8")


class WriteSamples(L.Callback):
    """After each validation that generated, write its first ``model.log_samples`` samples to
    ``<log_dir>/samples/step-NNNNNN/`` (``samples.md``, one SVG per graph; text and PNGs to TensorBoard too:
    ``train/samples.py``). Rank 0 only. The command line adds it to every trainer."""

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        log_dir = trainer.log_dir  # every rank asks: it broadcasts from rank 0 under DDP
        samples = getattr(pl_module, "samples", None)
        if not log_dir or not samples or trainer.global_rank != 0:
            return
        folder = Path(log_dir) / "samples" / f"step-{trainer.global_step:06d}"
        write_samples(samples, folder, getattr(pl_module.logger, "experiment", None), trainer.global_step)


class WritePredictions(L.Callback):
    """At the end of ``test`` and ``predict``, write ``<log_dir>/predictions-<stage>-rank<N>.jsonl``: one record per
    prompt (id, kind, source, prompt, completion, prediction), ready for ``score``. The command line adds it to every
    trainer."""

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, "test", pl_module.test_records)

    def on_predict_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, "predict", pl_module.predict_records)

    @staticmethod
    def _write(trainer: L.Trainer, stage: str, records: list[dict]) -> None:
        log_dir = trainer.log_dir
        if not log_dir:
            return
        path = Path(log_dir) / f"predictions-{stage}-rank{trainer.global_rank}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"dotlightning: {stage} predictions written to {path} (score them per kind/source with "
              f"`python -m dotlightning score --input {path} --group_by kind`)")
