"""DotDataModule: records -> token ids -> length-grouped, resumable batches.

Pipeline, top to bottom:

1. ``load_records`` each split (train/val/test/predict files, hub ids or ``datasets`` dirs), or carve val/test out of
   the train file deterministically (``val_fraction``/``test_fraction``, seeded).
2. ``PromptFormat.encode`` every record once: prompt tokens masked (-100), completion + EOS labelled.
3. Drop (never truncate) examples longer than ``max_seq_length``; a truncated DOT graph would teach the model to stop
   mid-graph. Drops are counted and logged.
4. Train batches come from ``LengthGroupedSampler``: shuffle, sort by length inside large windows, cut into batches,
   shuffle the batches. Padding stays a few percent while the order is still random; everything is a pure function of
   (seed, epoch), which is what makes exact mid-epoch resume possible.
   ``pad_to_multiple_of`` rounds each batch's length up (e.g. to a multiple of 64), so a compiled backbone meets a few
   shapes only.
   With ``packing`` instead: whole examples are packed first-fit decreasing into rows of ``pack_length`` tokens
   (``PackedSampler``, ``collate_packed``), ``batch_size`` rows per batch, one shape [batch_size, pack_length] for the
   whole fit; position ids restart per example, which is how the backbone keeps attention inside each example.
   docs/packing.md has the details and the measurement behind the mechanism.
5. ``ResumableDataLoader`` counts the batches it has handed out; Lightning (>= 2.3) saves its ``state_dict()`` in
   checkpoints and calls ``load_state_dict()`` on resume, after which the loader yields exactly the batches an
   uninterrupted run would still have produced in that epoch.

Multi-GPU: the data module shards batches by rank itself (``_rank_and_world_size``); run DDP with
``Trainer(use_distributed_sampler=False)``, as the configs do.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch.utils.data import DataLoader

from dotlightning.data.batches import (ExampleDataset, collate, collate_packed, pack_first_fit_decreasing, padded_width,
                                       padding_fraction_of)
from dotlightning.data.prompts import DEFAULT_SYSTEM, PromptFormat, eos_id
from dotlightning.data.records import Record, load_records
from dotlightning.data.sampling import (GroupedBatchSampler, LengthGroupedSampler, PackedRows, PackedSampler,
                                        ResumableDataLoader)

# data/ sits at the repository root next to the package: the shipped train/val/test records.
DATA_DIR = Path(__file__).resolve().parents[2] / "data"


def global_seed(default: int = 42, environ: dict[str, str] | None = None) -> int:
    """The seed of ``seed_everything`` (LightningCLI calls it before building the data module), else ``default``.

    >>> global_seed(environ={}), global_seed(environ={"PL_GLOBAL_SEED": "7"})
    (42, 7)
    """
    import os

    value = (os.environ if environ is None else environ).get("PL_GLOBAL_SEED")  # set by lightning's seed_everything
    return int(value) if value is not None else default


# ---------------------------------------------------------------------------------------------------------------------
# The DataModule


@dataclass(eq=False)
class DotDataModule(L.LightningDataModule):
    """Description -> Graphviz DOT records as training batches (loss on the completion only by default)."""

    train_file: str | None = str(DATA_DIR / "train.jsonl")
    """Training records: .jsonl/.json/.csv/.parquet file, `datasets` save_to_disk directory, or hub dataset id."""
    val_file: str | None = str(DATA_DIR / "val.jsonl")
    """Validation records (same kinds of source). null: none, or carved from train_file with val_fraction."""
    test_file: str | None = str(DATA_DIR / "test.jsonl")
    """Test records (same kinds of source). null: none, or carved from train_file with test_fraction."""
    predict_file: str | None = None
    """Records to generate for in `predict` (kept in file order). null: use test_file."""
    train_split: str = "train"
    """Split of train_file to use when it is a hub id, a `datasets` directory or a JSON object of lists."""
    val_split: str = "validation"
    """Split of val_file to use when it is a hub id, a `datasets` directory or a JSON object of lists."""
    test_split: str = "test"
    """Split of test_file/predict_file to use when it is a hub id, a `datasets` directory or a JSON object of lists."""
    prompt_field: str = "prompt"
    """Name of the field holding the description."""
    completion_field: str = "completion"
    """Name of the field holding the target DOT."""
    prompt_style: Literal["tags", "chat"] = "tags"
    """'tags': <system>/<user>/<assistant> tags (any model); 'chat': the tokenizer's own chat template."""
    system_prompt: str = DEFAULT_SYSTEM
    """System instruction put before every description."""
    train_on_prompt: bool = False
    """Also compute the loss on prompt tokens (default: only on the completion and its EOS)."""
    max_seq_length: int = 512
    """Longest example in tokens (prompt + completion + EOS). Longer ones are dropped and counted, never truncated."""
    pad_to_multiple_of: int | None = None
    """Right-pad each batch's length up to a multiple of this (e.g. 64), so a fit sees at most
    ceil(max_seq_length / N) batch lengths: what model.compile needs, since it compiles once per shape. null: pad each
    batch to its longest example only."""
    batch_size: int = 4
    """Training batch size (examples per step, per device); with packing: rows of pack_length tokens per step."""
    eval_batch_size: int | None = None
    """Validation/test/predict batch size. null: same as batch_size."""
    num_workers: int = 0
    """DataLoader worker processes (batches are pre-tokenized, so 0 is usually enough)."""
    seed: int | None = None
    """Seed for splitting one file into train/val/test and for the batch order (combined with the epoch). null:
    the run's seed_everything (so one seed changes the whole run), or 42 when there is none."""
    val_fraction: float = 0.0
    """Fraction of train_file held out for validation (needs val_file: null)."""
    test_fraction: float = 0.0
    """Fraction of train_file held out for testing (needs test_file: null)."""
    group_by_length: bool = True
    """Batch examples of similar length together (less padding); the batch order is still shuffled."""
    group_window: int = 64
    """Length grouping sorts within shuffled windows of this many batches: larger means less padding, less mixing."""
    skip_invalid: bool = False
    """Skip (and count) malformed lines and records missing a field, instead of stopping with an error."""
    check_dot: bool = True
    """Drop (and count) records whose completion Graphviz cannot parse."""
    limit_train: int | None = None
    """Use only the first N training records (quick runs). null: all."""
    limit_val: int | None = None
    """Use only the first N validation records. null: all."""
    limit_test: int | None = None
    """Use only the first N test/predict records. null: all."""
    packing: bool = False
    """Pack whole training examples into rows of pack_length tokens (batch_size rows per step, one fixed shape
    [batch_size, pack_length]); position ids restart per example and attention stays inside each example. A step then
    holds a varying number of examples (logged as train/examples); the loss is still the mean over the batch's
    labelled tokens. Validation/test/predict stay unpacked. See docs/packing.md."""
    pack_length: int = 1024
    """Tokens per packed row (with packing). Examples longer than this are dropped and counted as too_long."""

    def __post_init__(self) -> None:
        super().__init__()
        if self.seed is None:
            self.seed = global_seed()
        self._check_fields()
        self.tokenizer: Any = None
        self.records: dict[str, list[Record]] = {}
        self.datasets: dict[str, ExampleDataset] = {}
        self.stats: dict[str, dict[str, Any]] = {}  # per split: records, skip counts, too_long, padding_fraction

    def _check_fields(self) -> None:
        def need(ok: bool, problem: str, fix: str) -> None:
            if not ok:
                raise ValueError(f"DotDataModule: {problem}. Fix: {fix}.")

        need(self.prompt_style in ("tags", "chat"), f"prompt_style={self.prompt_style!r} is not supported",
             "use 'tags' or 'chat'")
        need(self.max_seq_length > 0, f"max_seq_length={self.max_seq_length} must be positive",
             "set it to the longest sequence the model should see, e.g. 512")
        multiple = self.pad_to_multiple_of
        need(multiple is None or (isinstance(multiple, int) and not isinstance(multiple, bool) and multiple > 0),
             f"pad_to_multiple_of={multiple!r} must be a positive integer or null",
             "use e.g. pad_to_multiple_of=64 (with model.compile), or null to pad each batch to its longest example")
        need(multiple is None or multiple <= self.max_seq_length,
             f"pad_to_multiple_of={multiple} is larger than max_seq_length={self.max_seq_length}, so every batch "
             "would be padded past the longest allowed example",
             "use a value no larger than max_seq_length, e.g. 64")
        need(self.batch_size > 0, f"batch_size={self.batch_size} must be positive", "use e.g. 4")
        need(self.eval_batch_size is None or self.eval_batch_size > 0,
             f"eval_batch_size={self.eval_batch_size} must be positive", "use e.g. 8, or null for batch_size")
        need(self.num_workers >= 0, f"num_workers={self.num_workers} must be >= 0", "use 0 (main process) or more")
        need(self.group_window >= 1, f"group_window={self.group_window} must be >= 1", "use e.g. 64")
        for name in ("val_fraction", "test_fraction"):
            v = getattr(self, name)
            need(0.0 <= v < 1.0, f"{name}={v} must be in [0, 1)", f"use e.g. {name}=0.1")
        need(self.val_fraction + self.test_fraction < 1.0,
             f"val_fraction + test_fraction = {self.val_fraction + self.test_fraction} leaves no training data",
             "make them sum to less than 1")
        need(not (self.val_fraction > 0 and self.val_file is not None),
             f"val_fraction={self.val_fraction} and val_file={self.val_file!r} both give validation data",
             "set val_file to null to carve validation out of train_file, or set val_fraction to 0")
        need(not (self.test_fraction > 0 and self.test_file is not None),
             f"test_fraction={self.test_fraction} and test_file={self.test_file!r} both give test data",
             "set test_file to null to carve the test set out of train_file, or set test_fraction to 0")
        need(isinstance(self.packing, bool), f"packing={self.packing!r} must be true or false",
             "use --data.packing true (with --data.pack_length) or false")
        need(isinstance(self.pack_length, int) and not isinstance(self.pack_length, bool) and self.pack_length > 1,
             f"pack_length={self.pack_length!r} must be an integer > 1",
             "use e.g. pack_length=1024 (4 x 1024 with batch_size 4) or 4096 (with batch_size 1)")
        for name in ("limit_train", "limit_val", "limit_test"):
            v = getattr(self, name)
            need(v is None or v > 0, f"{name}={v} must be positive or null", f"use e.g. {name}=100, or null for all")

    # -----------------------------------------------------------------------------------------------------------------

    def connect(self, tokenizer: Any) -> None:
        """Give the data module the model's tokenizer (required before ``setup``)."""
        eos_id(tokenizer)  # fail now, with the fix, if it cannot mark the end of a completion
        self.tokenizer = tokenizer
        self.datasets.clear()  # encodings depend on the tokenizer

    @property
    def prompt_format(self) -> PromptFormat:
        return PromptFormat(style=self.prompt_style, system=self.system_prompt)

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return eos_id(self.tokenizer) if pad is None else pad  # any id works: masks come from lengths

    def _load(self, source: str, split: str, name: str) -> list[Record]:
        records, counts = load_records(source, prompt_field=self.prompt_field, completion_field=self.completion_field,
                                       skip_invalid=self.skip_invalid, check_dot=self.check_dot, split=split)
        self.stats.setdefault(name, {})["skipped"] = {k: v for k, v in counts.items() if v}
        return records

    def _load_records(self) -> None:
        """Fill self.records with the splits, carving val/test out of train when the fractions ask for it."""
        if self.records:
            return
        if self.train_file is not None:
            train = self._load(self.train_file, self.train_split, "train")
            n_test = round(len(train) * self.test_fraction) if self.test_fraction else 0
            n_val = round(len(train) * self.val_fraction) if self.val_fraction else 0
            if n_val or n_test:
                # Seeded shuffle of indices, then each split keeps file order: same seed + same file = same split.
                order = list(range(len(train)))
                random.Random(self.seed).shuffle(order)
                test_idx, val_idx = sorted(order[:n_test]), sorted(order[n_test : n_test + n_val])
                held = set(order[: n_test + n_val])
                if n_test:
                    self.records["test"] = [train[i] for i in test_idx]
                if n_val:
                    self.records["val"] = [train[i] for i in val_idx]
                train = [r for i, r in enumerate(train) if i not in held]
            self.records["train"] = train
        if self.val_file is not None:
            self.records["val"] = self._load(self.val_file, self.val_split, "val")
        if self.test_file is not None:
            self.records["test"] = self._load(self.test_file, self.test_split, "test")
        if self.predict_file is not None:
            self.records["predict"] = self._load(self.predict_file, self.test_split, "predict")
        for name, limit in (("train", self.limit_train), ("val", self.limit_val), ("test", self.limit_test),
                            ("predict", self.limit_test)):
            if limit is not None and name in self.records:
                self.records[name] = self.records[name][:limit]

    def _packs(self, name: str) -> bool:
        return self.packing and name == "train"

    def _encode(self, name: str, records: list[Record]) -> ExampleDataset:
        fmt, examples, too_long = self.prompt_format, [], 0
        # Packed rows hold whole examples only: one longer than a row is dropped like one over max_seq_length.
        limit = min(self.max_seq_length, self.pack_length) if self._packs(name) else self.max_seq_length
        for r in records:
            enc = fmt.encode(self.tokenizer, r.prompt, r.completion, train_on_prompt=self.train_on_prompt)
            if len(enc["input_ids"]) > limit:
                too_long += 1
                continue
            examples.append({"input_ids": enc["input_ids"], "labels": enc["labels"],
                             "prompt_ids": enc["input_ids"][: enc["prompt_length"]], "prompt": r.prompt,
                             "completion": r.completion, "kind": r.kind, "source": r.source, "id": r.id})
        stats = self.stats.setdefault(name, {})
        stats.update(records=len(examples), too_long=too_long)
        what = "max_seq_length" if limit == self.max_seq_length else "pack_length"
        if too_long:
            rank_zero_warn(f"{name}: dropped {too_long} of {len(records)} examples longer than {what}={limit} tokens "
                           f"(never truncated). Raise {what} to keep them.")
        if not examples and records:
            raise ValueError(f"{name}: all {len(records)} examples are longer than {what}={limit}. Fix: raise {what}.")
        return ExampleDataset(examples)

    def setup(self, stage: str | None = None) -> None:
        if self.tokenizer is None:
            raise RuntimeError("DotDataModule.setup() before connect(tokenizer). Fix: call "
                               "datamodule.connect(model.tokenizer) first (the CLI does this for you).")
        self._load_records()
        wanted = {"fit": ["train", "val"], "validate": ["val"], "test": ["test"], "predict": ["predict"],
                  None: ["train", "val", "test", "predict"]}.get(stage, ["train", "val", "test", "predict"])
        if stage == "fit" and "train" not in self.records:
            raise ValueError("DotDataModule: fitting needs training data but train_file is null. Fix: set train_file.")
        if "predict" in wanted and "predict" not in self.records and "test" in self.records:
            self.records["predict"] = self.records["test"]
        for name in wanted:
            if name in self.records and name not in self.datasets:
                self.datasets[name] = self._encode(name, self.records[name])
                self.stats[name]["padding_fraction"] = self.padding_fraction(name)
                s = self.stats[name]
                shapes = ""
                if self._packs(name):
                    sampler = self._train_sampler()
                    s.update(packed_rows=len(sampler.rows), batches=sampler.num_batches(),
                             examples_per_row=s["records"] / max(len(sampler.rows), 1))
                    shapes = (f" (packed: {s['packed_rows']} rows of {self.pack_length} tokens, "
                              f"{s['examples_per_row']:.1f} examples per row, {s['batches']} batches of "
                              f"{self.batch_size} x {self.pack_length})")
                elif self.pad_to_multiple_of is not None:
                    s["batch_lengths"] = len(set(self.batch_lengths(name)))
                    shapes = f" (padded to multiples of {self.pad_to_multiple_of}: {s['batch_lengths']} batch lengths)"
                rank_zero_info(f"data {name}: {s['records']} examples, dropped too_long={s['too_long']}, "
                               f"skipped={s.get('skipped', {})}, padding_fraction={s['padding_fraction']:.2%}{shapes}")

    # -----------------------------------------------------------------------------------------------------------------

    def _train_sampler(self) -> LengthGroupedSampler | PackedSampler:
        # Lightning's overfit_batches only un-shuffles loaders whose .sampler is random; ours shuffles in the batch
        # sampler, so we keep the order fixed ourselves.
        overfit = self.trainer is not None and bool(self.trainer.overfit_batches)
        rank, world_size = self._rank_and_world_size()
        if self.packing:
            lengths = self.datasets["train"].lengths
            key = (tuple(lengths), self.pack_length, self.seed)
            if getattr(self, "_packed_rows", (None, None))[0] != key:  # the packing is the same every epoch: once
                self._packed_rows = (key, pack_first_fit_decreasing(lengths, self.pack_length, seed=self.seed))
            return PackedSampler(lengths, self.batch_size, self.pack_length, seed=self.seed, reshuffle=not overfit,
                                 rank=rank, world_size=world_size, rows=self._packed_rows[1])
        return LengthGroupedSampler(self.datasets["train"].lengths, self.batch_size, seed=self.seed,
                                    window=self.group_window if self.group_by_length else 1, reshuffle=not overfit,
                                    rank=rank, world_size=world_size)

    def _rank_and_world_size(self) -> tuple[int, int]:
        """Under DDP this module shards the data itself (configs set ``use_distributed_sampler: false``): Lightning
        cannot inject a sampler into a length-grouped batch sampler, and its padded DistributedSampler would count
        duplicated validation samples in the metrics."""
        if self.trainer is None:
            return 0, 1
        return self.trainer.global_rank, self.trainer.world_size

    def _eval_order(self, name: str) -> list[int]:
        """Validation/test: longest first (least padding, and an out-of-memory shows on the first batch).
        Predict keeps file order so outputs line up with inputs."""
        lengths = self.datasets[name].lengths
        if name == "predict" or not self.group_by_length:
            return list(range(len(lengths)))
        return sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable: ties keep file order

    def _eval_batches(self, name: str) -> list[list[int]]:
        order, bs = self._eval_order(name), self.eval_batch_size or self.batch_size
        return [order[i : i + bs] for i in range(0, len(order), bs)]

    def _batches(self, split: str, epoch: int) -> list[list[int]]:
        return self._train_sampler().batches(epoch) if split == "train" else self._eval_batches(split)

    def padding_fraction(self, split: str = "train", epoch: int = 0) -> float:
        """Fraction of batch positions that are padding for ``split`` (train: in ``epoch``'s batch order), counting
        the positions that ``pad_to_multiple_of`` adds (packed: the rest of each row, and rows left empty)."""
        if self._packs(split):
            batches = self._train_sampler().batches(epoch)
            real = sum(self.datasets[split].lengths[i] for batch in batches for row in batch for i in row)
            return 1.0 - real / (len(batches) * self.batch_size * self.pack_length) if batches else 0.0
        return padding_fraction_of(self._batches(split, epoch), self.datasets[split].lengths, self.pad_to_multiple_of)

    def batch_lengths(self, split: str = "train", epoch: int = 0) -> list[int]:
        """Padded length T of each batch of ``split`` (train: in ``epoch``'s order), as the collate builds them."""
        if self._packs(split):
            return [self.pack_length] * self._train_sampler().num_batches()
        lengths = self.datasets[split].lengths
        return [padded_width(max(lengths[i] for i in b), self.pad_to_multiple_of) for b in self._batches(split, epoch)]

    def _collate(self) -> Any:
        return functools.partial(collate, pad_id=self.pad_id, pad_to_multiple_of=self.pad_to_multiple_of)

    def train_dataloader(self) -> ResumableDataLoader:
        if self.packing:
            sampler = self._train_sampler()
            # segments of a batch: each row's examples and its padding (model.packed_attention: varlen)
            per_row = max((len(row) for row in sampler.rows), default=0) + 1
            collate_fn = functools.partial(collate_packed, pad_id=self.pad_id, pack_length=self.pack_length,
                                           batch_size=self.batch_size, max_segments=self.batch_size * per_row)
            return ResumableDataLoader(PackedRows(self.datasets["train"]), GroupedBatchSampler(sampler),
                                       collate_fn=collate_fn, num_workers=self.num_workers)
        return ResumableDataLoader(self.datasets["train"], GroupedBatchSampler(self._train_sampler()),
                                   collate_fn=self._collate(), num_workers=self.num_workers)

    def _eval_dataloader(self, name: str) -> DataLoader | list:
        if name not in self.datasets:
            return []  # Lightning skips the loop
        # A plain sampler + batch_size (not a custom batch sampler): Lightning may rebuild eval loaders (predict index
        # tracking, distributed samplers), which it can only do for standard DataLoader arguments.
        rank, world_size = self._rank_and_world_size()
        return DataLoader(self.datasets[name], sampler=self._eval_order(name)[rank::world_size],
                          batch_size=self.eval_batch_size or self.batch_size, collate_fn=self._collate(),
                          num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader | list:
        return self._eval_dataloader("val")

    def test_dataloader(self) -> DataLoader | list:
        return self._eval_dataloader("test")

    def predict_dataloader(self) -> DataLoader | list:
        return self._eval_dataloader("predict")
