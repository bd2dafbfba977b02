"""Sampling: length-grouped (or packed) train batches, deterministic in (seed, epoch), sharded by rank, and a
DataLoader that resumes mid-epoch exactly where an interrupted run stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Dataset, Sampler

from dotlightning.data.batches import ExampleDataset, pack_first_fit_decreasing


class _EpochSampler(Sampler[int]):
    """What both train samplers share: example lengths, rows per batch, the (seed, epoch) that orders an epoch, the
    DDP rank, and ``reshuffle=False`` pinning every epoch to epoch 0's order (``Trainer(overfit_batches=N)``)."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, reshuffle: bool, rank: int,
                 world_size: int) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.reshuffle = reshuffle
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:  # Lightning calls it at the start of each epoch
        self.epoch = epoch

    def _rng(self, epoch: int | None) -> np.random.Generator:
        """The generator that orders ``epoch`` (default: the current one; always epoch 0 without reshuffle)."""
        epoch = (self.epoch if epoch is None else epoch) if self.reshuffle else 0
        return np.random.default_rng((self.seed, epoch))

    def __len__(self) -> int:
        return len(self.lengths)


class LengthGroupedSampler(_EpochSampler):
    """Shuffled order in which examples of similar length end up in the same batch.

    Per epoch: a seeded permutation, cut into windows of ``batch_size * window`` examples; each window is sorted by
    length and cut into batches; then the batches are shuffled, and the one with the most tokens is moved first (an
    out-of-memory shows up on step 0, not hours in). ``window=1`` (or ``group_by_length=False``) only sorts within a
    batch, i.e. plain shuffling. Lightning calls ``set_epoch`` at the start of each epoch; ``reshuffle=False`` keeps
    epoch 0's batches every epoch (``Trainer(overfit_batches=N)`` must see the same N batches each time).
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int = 42, window: int = 64,
                 reshuffle: bool = True, rank: int = 0, world_size: int = 1) -> None:
        super().__init__(lengths, batch_size, seed, reshuffle, rank, world_size)
        self.window = window

    def num_batches(self) -> int:
        """Batches per epoch on this rank."""
        batches = -(-len(self.lengths) // self.batch_size)
        return batches // self.world_size if self.world_size > 1 else batches

    def batches(self, epoch: int | None = None) -> list[list[int]]:
        n, bs = len(self.lengths), self.batch_size
        lengths = np.asarray(self.lengths)
        rng = self._rng(epoch)
        perm = rng.permutation(n)
        span = bs * self.window
        batches: list[list[int]] = []
        for start in range(0, n, span):
            win = perm[start : start + span]
            win = win[np.argsort(lengths[win], kind="stable")]
            batches.extend(win[i : i + bs].tolist() for i in range(0, len(win), bs))
        batches = [batches[i] for i in rng.permutation(len(batches))]
        if batches:
            biggest = max(range(len(batches)), key=lambda i: max(self.lengths[j] for j in batches[i]) * len(batches[i]))
            batches[0], batches[biggest] = batches[biggest], batches[0]
        if self.world_size > 1:
            # DDP: every rank must run the same number of steps, so the few batches past a multiple of the world size
            # are dropped for this epoch; each rank takes every world_size-th batch of the same global order.
            usable = len(batches) - len(batches) % self.world_size
            batches = batches[self.rank : usable : self.world_size]
        return batches

    def __iter__(self) -> Iterator[int]:
        for b in self.batches():
            yield from b


class PackedSampler(_EpochSampler):
    """Packed training batches (``data.packing``): rows of whole examples, ``batch_size`` rows per batch.

    The rows come from ``pack_first_fit_decreasing`` once per run (seeded tie order, the same every epoch); each epoch
    shuffles the rows (seeded by (seed, epoch)) and cuts them into batches of ``batch_size`` rows, so the number of
    batches is the same every epoch (what Lightning's step count, the LR schedule and exact resume rely on) while the
    order, and which rows share a step, change. Which examples share a *row* stays fixed for the run; with attention
    confined to each example and position ids restarting, sharing a row changes nothing in any example's loss or
    gradient, only which examples share a step (those of one row always do).

    DDP (``world_size > 1``): empty rows are appended up to a multiple of ``batch_size * world_size`` rows, then rank r
    takes every world_size-th batch of the same global order, so all ranks run the same number of steps and together
    see every example once (the unpacked sampler drops the last few batches instead). ``reshuffle=False`` keeps
    epoch 0's order every epoch (``overfit_batches``).
    """

    def __init__(self, lengths: list[int], batch_size: int, pack_length: int, seed: int = 42, reshuffle: bool = True,
                 rank: int = 0, world_size: int = 1, rows: list[tuple[int, ...]] | None = None) -> None:
        super().__init__(lengths, batch_size, seed, reshuffle, rank, world_size)
        self.pack_length = pack_length
        # ``rows``: this packing, already computed (the data module packs once, not per loader)
        self.rows = pack_first_fit_decreasing(self.lengths, pack_length, seed=seed) if rows is None else rows

    def num_batches(self) -> int:
        """Batches per epoch on this rank (the same every epoch)."""
        return -(-len(self.rows) // (self.batch_size * self.world_size))

    def batches(self, epoch: int | None = None) -> list[list[tuple[int, ...]]]:
        """This rank's batches of ``epoch``: each a list of up to ``batch_size`` rows (tuples of example indices);
        the collate fills missing rows with padding."""
        rng = self._rng(epoch)
        rows = [self.rows[i] for i in rng.permutation(len(self.rows))]
        rows += [()] * (self.num_batches() * self.batch_size * self.world_size - len(rows))  # empty rows: DDP / last
        batches = [rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
        batches = batches[self.rank :: self.world_size]
        return [[row for row in batch if row] or [()] for batch in batches]

    def __iter__(self) -> Iterator[int]:
        for batch in self.batches():
            for row in batch:
                yield from row


class PackedRows(Dataset):
    """The train dataset seen through rows: ``rows[(3, 7)]`` is ``[examples[3], examples[7]]`` (what the packed batch
    sampler's rows of indices turn into before ``collate_packed``)."""

    def __init__(self, dataset: ExampleDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, row: tuple[int, ...]) -> list[dict[str, Any]]:
        return [self.dataset[i] for i in row]


class GroupedBatchSampler(Sampler[list[int]]):
    """Yields the batches of a ``LengthGroupedSampler``, optionally starting at batch ``start`` (for resume).

    The inner sampler is exposed as ``.sampler`` because that is where Lightning looks for ``set_epoch``
    (``dataloader.batch_sampler.sampler.set_epoch``).
    """

    def __init__(self, sampler: LengthGroupedSampler | PackedSampler) -> None:
        self.sampler = sampler
        self.start = 0

    def __iter__(self) -> Iterator[list[int]]:
        start, self.start = self.start, 0  # a resume offset applies to one pass only
        yield from self.sampler.batches()[start:]

    def __len__(self) -> int:
        return self.sampler.num_batches()


class ResumableDataLoader(DataLoader):
    """A DataLoader that can resume mid-epoch: ``state_dict()`` / ``load_state_dict()``.

    Lightning detects these two methods (``lightning.fabric.utilities.types._Stateful``), stores ``state_dict()`` in
    every checkpoint and calls ``load_state_dict()`` before iterating again on resume. We count batches *handed out by
    the loader* (not drawn from the sampler, which worker prefetching runs ahead of), so the count is exactly the number
    of batches the training loop consumed. ``__iter__`` is a generator, so the epoch is read when the first batch is
    requested, i.e. after Lightning's ``set_epoch``, not when ``iter()`` is called (Lightning calls it earlier).
    """

    def __init__(self, dataset: Dataset, batch_sampler: GroupedBatchSampler, **kwargs: Any) -> None:
        super().__init__(dataset, batch_sampler=batch_sampler, **kwargs)
        self._epoch = 0
        self._yielded = 0
        self._resume: dict[str, int] | None = None

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        sampler = self.batch_sampler.sampler
        self._epoch, self._yielded = sampler.epoch, 0
        if self._resume is not None and self._resume["epoch"] == sampler.epoch:
            self._yielded = self._resume["batches_yielded"]
        self._resume = None
        self.batch_sampler.start = self._yielded
        for batch in super().__iter__():
            self._yielded += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        sampler = self.batch_sampler.sampler
        state = {"epoch": self._epoch, "batches_yielded": self._yielded, "num_batches": len(self.batch_sampler),
                 "seed": sampler.seed, "batch_size": sampler.batch_size}
        if getattr(sampler, "pack_length", None) is not None:
            state["pack_length"] = sampler.pack_length
        return state

    def load_state_dict(self, state: dict[str, int]) -> None:
        sampler = self.batch_sampler.sampler
        mine = {"num_batches": len(self.batch_sampler), "seed": sampler.seed, "batch_size": sampler.batch_size,
                "pack_length": getattr(sampler, "pack_length", None)}
        saved = {k: state.get(k) for k in mine}
        if saved != mine:
            raise ValueError(
                f"cannot resume the train dataloader exactly: checkpoint has {saved}, this run has {mine}. Fix: resume "
                f"with the same train data, seed, batch_size, max_seq_length and packing, or start a new run."
            )
        sampler.set_epoch(state["epoch"])
        self._resume = {"epoch": state["epoch"], "batches_yielded": state["batches_yielded"]}
