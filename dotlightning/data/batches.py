"""Batches: encoded examples as a ``Dataset``, right-padded batches (``collate``) and packed rows of whole examples
(``pack_first_fit_decreasing``, ``collate_packed``, ``data.packing``; docs/packing.md), and the padding they cost.

Prompt tokens are labelled -100 (``IGNORE_INDEX``, from ``prompts``) and so is padding; masks come from each
example's length, never from comparing ids with the pad id.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from dotlightning.data.prompts import IGNORE_INDEX


class ExampleDataset(Dataset):
    """Encoded examples (dicts with input_ids, labels, prompt_ids and the record's text fields)."""

    def __init__(self, examples: list[dict[str, Any]]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.examples[i]

    @property
    def lengths(self) -> list[int]:
        return [len(e["input_ids"]) for e in self.examples]


def padded_width(longest: int, multiple: int | None) -> int:
    """Batch length T for a batch whose longest example has ``longest`` tokens: rounded up to ``multiple`` if given.

    >>> padded_width(130, None), padded_width(130, 64), padded_width(128, 64)
    (130, 192, 128)
    """
    return longest if multiple is None else -(-longest // multiple) * multiple


def collate(examples: list[dict[str, Any]], pad_id: int, pad_to_multiple_of: int | None = None) -> dict[str, Any]:
    """Right-pad a list of examples into a batch (T rounded up to ``pad_to_multiple_of`` when given).

    Attention mask and label padding are built from each example's *length*, never by comparing ids with ``pad_id``:
    when pad == eos (common: Llama, Qwen base) the real, labelled EOS at the end of each completion must stay labelled.
    """
    width = padded_width(max(len(e["input_ids"]) for e in examples), pad_to_multiple_of)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e["input_ids"])
        input_ids[row, :n] = torch.tensor(e["input_ids"], dtype=torch.long)
        labels[row, :n] = torch.tensor(e["labels"], dtype=torch.long)
        attention_mask[row, :n] = 1
    batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
                             # counted here on the host so the loss can select these rows without a device sync
                             "num_labelled": int((labels[:, 1:] != IGNORE_INDEX).sum())}
    for key in ("prompt_ids", "prompt", "completion", "kind", "source", "id"):
        batch[key] = [e[key] for e in examples]
    return batch


def collate_packed(rows: list[list[dict[str, Any]]], pad_id: int, pack_length: int,
                   batch_size: int, max_segments: int | None = None) -> dict[str, Any]:
    """Pack rows of whole examples into one fixed-shape batch [batch_size, pack_length] (``data.packing``).

    Each row holds whole examples back to back, then padding; missing rows (the last batch of an epoch) are all
    padding, so every batch has the same shape (one compiled graph). Per example: ``position_ids`` restart at 0, its
    prompt labels stay -100 and its completion + EOS stay labelled, and the label of its *first* token is -100: in an
    unpacked row nothing predicts position 0, and here the position before it is the previous example's last token,
    which must not learn to predict the next example. The padding after the last example gets position ids 0, 1, ...
    too, so it forms its own segment that no real token attends to (and it is unlabelled).

    ``attention_mask`` ([B, T], 1 on real tokens) only marks real tokens here (the module counts tokens with it);
    ``causal_lm_loss`` sees ``position_ids`` and calls the backbone with ``attention_mask=None``, which is what makes
    transformers build the per-example (block-diagonal, causal, sliding-window-aware) mask from the position ids
    (``masking_utils.find_packed_sequence_indices``; flash_attention_2 takes the varlen path from the same ids).
    ``examples`` is the number of examples in the batch (varies from batch to batch); the per-example text fields
    (``id``, ``prompt``, ...) are flat lists in row order.

    ``max_segments``: also add ``cu_seqlens`` (int32, ``[max_segments + 1]``), where every segment (each example, and
    the padding of each row) starts in the batch flattened to one row of ``batch_size * pack_length`` tokens, then the
    total, repeated up to the fixed length (empty trailing segments): what variable-length attention takes
    (``model.packed_attention: varlen``), the same shape every batch so a compiled step meets one shape.
    """
    if len(rows) > batch_size:
        raise ValueError(f"collate_packed: {len(rows)} rows for batch_size={batch_size}")
    input_ids = torch.full((batch_size, pack_length), pad_id, dtype=torch.long)
    labels = torch.full((batch_size, pack_length), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((batch_size, pack_length), dtype=torch.long)
    position_ids = torch.arange(pack_length, dtype=torch.long).repeat(batch_size, 1)
    flat: list[dict[str, Any]] = []
    starts: list[int] = []
    for row, examples in enumerate(rows):
        start = 0
        for e in examples:
            starts.append(row * pack_length + start)
            n = len(e["input_ids"])
            if start + n > pack_length:
                raise ValueError(f"collate_packed: row {row} holds {start + n} tokens, more than pack_length="
                                 f"{pack_length}")
            input_ids[row, start:start + n] = torch.tensor(e["input_ids"], dtype=torch.long)
            labels[row, start:start + n] = torch.tensor(e["labels"], dtype=torch.long)
            labels[row, start] = IGNORE_INDEX  # never predicted from the previous example's last token
            attention_mask[row, start:start + n] = 1
            position_ids[row, start:start + n] = torch.arange(n, dtype=torch.long)
            start += n
            flat.append(e)
        position_ids[row, start:] = torch.arange(pack_length - start, dtype=torch.long)  # padding: its own segment
        if start < pack_length:
            starts.append(row * pack_length + start)
    batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
                             "position_ids": position_ids, "examples": len(flat),
                             "num_labelled": int((labels[:, 1:] != IGNORE_INDEX).sum())}
    if max_segments is not None:
        total = batch_size * pack_length
        starts += [row * pack_length for row in range(len(rows), batch_size)]  # missing rows: one padding segment
        if len(starts) > max_segments:
            raise ValueError(f"collate_packed: {len(starts)} segments in a batch, more than max_segments={max_segments}. "
                             "Fix: pass the largest count of the packing (the data module does)")
        batch["cu_seqlens"] = torch.tensor(starts + [total] * (max_segments + 1 - len(starts)), dtype=torch.int32)
    for key in ("prompt_ids", "prompt", "completion", "kind", "source", "id"):
        batch[key] = [e[key] for e in flat]
    return batch


def pack_first_fit_decreasing(lengths: list[int], pack_length: int, seed: int = 42) -> list[tuple[int, ...]]:
    """Whole examples into rows of at most ``pack_length`` tokens: first-fit decreasing (longest example first, each
    into the first row with room). Ties in length are ordered by a seeded shuffle; rows keep their examples in the
    order they were placed. Every index appears once; an example longer than ``pack_length`` raises (drop it first).

    >>> pack_first_fit_decreasing([5, 3, 4, 2, 6], pack_length=8)
    [(4, 3), (0, 1), (2,)]
    """
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    if len(lengths_arr) and int(lengths_arr.max()) > pack_length:
        raise ValueError(f"pack_first_fit_decreasing: an example has {int(lengths_arr.max())} tokens, more than "
                         f"pack_length={pack_length}")
    order = np.random.default_rng(seed).permutation(len(lengths_arr))
    order = order[np.argsort(-lengths_arr[order], kind="stable")]
    room = np.zeros(len(lengths_arr), dtype=np.int64)  # at most one row per example
    rows: list[list[int]] = []
    for index in order.tolist():
        n = int(lengths_arr[index])
        fits = np.flatnonzero(room[: len(rows)] >= n)
        if len(fits):
            row = int(fits[0])
        else:
            row = len(rows)
            rows.append([])
            room[row] = pack_length
        rows[row].append(index)
        room[row] -= n
    return [tuple(r) for r in rows]


def padding_fraction_of(batches: list[list[int]], lengths: list[int], multiple: int | None = None) -> float:
    """Padded positions / all positions when each batch is padded to its longest example (rounded up to ``multiple``).

    >>> round(padding_fraction_of([[0, 1], [2]], lengths=[3, 1, 5]), 4)  # pads 2 of 6 + 0 of 5 positions
    0.1818
    >>> round(padding_fraction_of([[0, 1], [2]], lengths=[3, 1, 5], multiple=4), 4)  # T 4 and 8: pads 4 + 3 of 16
    0.4375
    """
    total = padded = 0
    for b in batches:
        lens = [lengths[i] for i in b]
        slots = padded_width(max(lens), multiple) * len(lens)
        total += slots
        padded += slots - sum(lens)
    return padded / total if total else 0.0
