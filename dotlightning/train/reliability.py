"""Runs that survive being killed: atomic checkpoints, reproducible dropout across resume, a stop on NaN/Inf loss, and an
out-of-memory error that says what to change.

What makes ``kill -9`` + ``fit --ckpt_path last`` end with the same adapter as an uninterrupted run:

- *Model + optimizer + LR schedule*: Lightning saves and restores them (the model only keeps LoRA weights, see
  ``DotLoRAModule.on_save_checkpoint``).
- *Data order*: the train loader is a ``ResumableDataLoader``; Lightning stores its ``state_dict()`` under
  ``loops/fit_loop/state_dict/combined_loader``; ``ExactResume`` makes sure it is applied on resume (Lightning 2.6
  skips it when ``configure_optimizers`` asks for ``estimated_stepping_batches``, see below).
- *Randomness* (LoRA dropout): ``ExactResume`` below reseeds at every training batch from (seed, rank, epoch, batch).
  Saving and restoring the global RNG state would not be enough: every DataLoader iterator draws its base seed from
  the global generator when it is created, and a resumed run creates its iterators at different points than an
  uninterrupted one (and validation between a save and the next step draws too).
- *The file itself*: ``AtomicCheckpointIO`` writes to a temp file in the same directory, fsyncs, then ``os.replace``s,
  so a kill (or power loss) during a save leaves the previous ``last.ckpt`` intact, never a truncated one.

Wire them in the config (see configs/tiny.yaml)::

    trainer:
      plugins: [{class_path: dotlightning.train.reliability.AtomicCheckpointIO}]
      callbacks: [{class_path: dotlightning.train.reliability.ExactResume}, {class_path: dotlightning.train.reliability.StopOnNonFiniteLoss}, ...]
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import lightning.pytorch as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.fabric.utilities.types import _PATH


# ---------------------------------------------------------------------------------------------------------------------
# Atomic, pickle-free checkpoints


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to a temp file beside the target, fsync, ``os.replace``: a checkpoint is either the old one or
    the complete new one. Loading defaults to ``weights_only=True`` (no unpickling of arbitrary objects); our
    checkpoints hold only tensors and primitive types, so nothing needs ``weights_only=False``.

    Lightning's own ``TorchCheckpointIO`` already goes through an fsspec transaction (temp file + move) but never
    fsyncs, so after a power loss the "moved" file can be empty. Remote paths (s3://, gs://...) fall back to it.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if storage_options is not None or "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False)
        try:
            with handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, target)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)  # a failed save leaves no litter and the old file untouched
            raise
        _fsync_dir(target.parent)  # make the rename itself durable

    def load_checkpoint(
        self,
        path: _PATH,
        map_location: Callable | None = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        # None would defer to torch's default, which older torch versions set to False (full unpickling).
        return super().load_checkpoint(path, map_location=map_location, weights_only=True if weights_only is None
                                       else weights_only)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------------------------------
# Reproducible randomness across resume


class ExactResume(L.Callback):
    """Make a resumed fit continue exactly where the checkpoint left off: same next batch, same dropout masks.

    1. Reseeds torch (CPU and all GPUs) before every training batch from (seed, rank, epoch, batch index), so a batch's
       LoRA dropout masks depend only on which batch it is, whatever else drew random numbers in between. Ranks get
       different streams, as independent dropout should.
    2. Works around Lightning 2.6 dropping the train loader's saved position: ``DotLoRAModule.configure_optimizers``
       reads ``trainer.estimated_stepping_batches``, which builds the train loader *before* the checkpoint is restored,
       and ``FitLoop.setup_data`` then never rebuilds it, so ``ResumableDataLoader.load_state_dict`` is never called
       and the resumed epoch restarts at batch 0 (measured: the adapter differed by 1e-2). When a saved loader state
       is still pending at ``on_train_start`` (after the restore), we drop the loader so Lightning builds it again and
       applies the state. Uses two private FitLoop attributes; if a Lightning release fixes the order, the pending
       list is empty and this does nothing. tests/train/test_reliability.py (kill -9 resume equality) guards it.

    Args:
        seed: Base seed; None uses the one ``seed_everything`` set (``PL_GLOBAL_SEED``), else 0.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        fit_loop = trainer.fit_loop
        if fit_loop.restarting and getattr(fit_loop, "_combined_loader_states_to_load", None):
            fit_loop._combined_loader = None
            fit_loop.setup_data()  # new loader + load_state_dict + fresh prefetching iterator
            if fit_loop._combined_loader_states_to_load:
                raise RuntimeError("could not restore the train dataloader position; resume would not be exact")

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        base = self.seed if self.seed is not None else int(os.environ.get("PL_GLOBAL_SEED", 0))
        # A fixed mixing of the four integers (not hash(): Python salts str hashes per process).
        key = (((base * 1_000_003 + trainer.global_rank) * 1_000_003 + trainer.current_epoch) * 1_000_003 + batch_idx)
        torch.manual_seed(key % (2**63 - 1))


# ---------------------------------------------------------------------------------------------------------------------
# NaN / Inf loss


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or Inf; the message names the step."""


class StopOnNonFiniteLoss(L.Callback):
    """Stop the run with an error naming the step when the training loss is NaN or Inf.

    It raises in ``on_train_batch_end``, which Lightning runs before any ``ModelCheckpoint`` hook (checkpoint callbacks
    are always ordered last), so the poisoned weights are never saved: the last checkpoint on disk is the last good
    one, and ``--ckpt_path last`` resumes from it (e.g. with a lower learning rate). ``on_train_end`` (adapter export)
    does not run after an exception, so no NaN adapter is written either.

    Cost: one ``bool(torch.isfinite(loss))`` per micro-batch, i.e. one host-device sync on GPU (a few microseconds;
    Lightning's progress bar already reads the loss each refresh). ``check_every_n_steps`` > 1 lowers it, but then a
    checkpoint saved between checks could hold NaN weights; keep it at 1 unless checkpoints are rarer than checks.

    Args:
        check_every_n_steps: Check the loss of every n-th micro-batch (1: every one).
    """

    def __init__(self, check_every_n_steps: int = 1) -> None:
        if check_every_n_steps < 1:
            raise ValueError(f"check_every_n_steps must be >= 1, got {check_every_n_steps}")
        self.check_every_n_steps = check_every_n_steps
        self._step = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        self._step = trainer.global_step  # by on_train_batch_end the optimizer step has already counted this batch

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if batch_idx % self.check_every_n_steps:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None or bool(torch.isfinite(loss.detach()).all()):
            return
        last = getattr(trainer.checkpoint_callback, "last_model_path", "") or "none saved yet"
        raise NonFiniteLossError(
            f"training loss is {loss.item()} at global step {self._step} (epoch {trainer.current_epoch}, "
            f"batch {batch_idx}); stopped before saving. Last good checkpoint: {last}. Fix: lower model.learning_rate, "
            "keep trainer.gradient_clip_val, check the data around this batch, then resume with --ckpt_path last."
        )


# ---------------------------------------------------------------------------------------------------------------------
# Out of memory


class ExplainOutOfMemory(L.Callback):
    """When a training step runs out of memory, say where and what to change, instead of PyTorch's bare message.

    ``on_exception`` appends a note to the ``torch.OutOfMemoryError`` (Python prints it under the traceback, last)
    naming the global step, the batch shape, the peak allocated so far against the card's total, the last checkpoint
    on disk (``AtomicCheckpointIO`` writes whole files only, so it loads; resume with ``--ckpt_path last``) and the
    knobs that cut memory, in the order they usually pay: gradient checkpointing, a smaller batch with more
    accumulation (the same effective batch), shorter rows. Cost: one shape read per micro-batch.
    """

    def __init__(self) -> None:
        self._step = 0
        self._shape: tuple[int, ...] | None = None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        self._step = trainer.global_step
        ids = batch.get("input_ids") if isinstance(batch, dict) else None
        self._shape = tuple(ids.shape) if ids is not None else None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, torch.OutOfMemoryError) and hasattr(exception, "add_note"):  # add_note: Python 3.11+
            exception.add_note(self.explain(trainer, pl_module))

    def explain(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str:
        device = trainer.strategy.root_device
        if device.type == "cuda":
            gib = 2**30
            peak = (f"peak allocated so far {torch.cuda.max_memory_allocated(device) / gib:.2f} GiB of "
                    f"{torch.cuda.get_device_properties(device).total_memory / gib:.1f} GiB")
        else:
            peak = f"on {device.type} (no CUDA peak to report)"
        shape = " x ".join(map(str, self._shape)) if self._shape else "unknown"
        data = trainer.datamodule
        batch_size = getattr(data, "batch_size", None)
        accumulate = trainer.accumulate_grad_batches
        fixes = []
        if getattr(pl_module, "checkpointing", True) is False:
            fixes.append("--model.gradient_checkpointing true (recomputes activations; the Gemma-2B shape at batch 4 peaked at 3.0 instead of 7.7 GiB)")
        if batch_size and batch_size > 1:
            fixes.append(f"--data.batch_size {batch_size // 2} --trainer.accumulate_grad_batches {accumulate * 2} "
                         "(the same effective batch)")
        if getattr(data, "packing", False):
            fixes.append(f"--data.pack_length {getattr(data, 'pack_length', 0) // 2} (shorter packed rows)")
        else:
            fixes.append(f"--data.max_seq_length {getattr(data, 'max_seq_length', 1024) // 2} (drops longer pairs)")
        last = getattr(trainer.checkpoint_callback, "last_model_path", "") or "none saved yet"
        return (f"dotlightning: out of memory at global step {self._step} (epoch {trainer.current_epoch}), batch "
                f"input_ids {shape}, {peak}. Last checkpoint: {last} (intact; resume with --ckpt_path last). "
                f"Fix: {'; or '.join(fixes)}.")


__all__ = ["AtomicCheckpointIO", "NonFiniteLossError", "ExactResume", "StopOnNonFiniteLoss", "ExplainOutOfMemory"]
