"""``model.memory_budget_gib``: pick gradient checkpointing and the micro-batch for a GPU of a given size.

The peak of a QLoRA step grows about linearly with the tokens in a micro-batch (nf4 weights, LoRA weights and their
Adam state are fixed; activations, SDPA attention and the chunked loss are per token). ``configs/memory.json`` holds
measured peaks and tokens/s per model shape (lines of ``scripts/measure_memory.py``'s JSON, rows full length); from
them :func:`estimate` draws one line per (shape, gradient checkpointing), and :func:`pick_knobs` tries every micro-batch
that divides the effective batch (``batch_size * accumulate_grad_batches`` stays the same, so the optimizer steps and
the learning-rate schedule do not change) with checkpointing off and on, and returns the fastest whose estimated peak
at the longest allowed row (``max_seq_length``, or ``pack_length`` with packing) fits the budget less
``HEADROOM_GIB`` (CUDA context, allocator fragmentation).

    python -m dotlightning fit --config configs/gemma.yaml --model.memory_budget_gib 24
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

TABLE = Path(__file__).resolve().parents[1] / "configs" / "memory.json"
HEADROOM_GIB = 0.5
"""Left free of the budget: the CUDA context (~0.3-0.5 GiB) and the caching allocator's slack are not in
max_memory_allocated. An 8 GiB card gets 7.5 GiB of estimated peak."""
SATURATION_TOKENS = 2048
"""tokens/s of a micro-batch of n tokens is taken as proportional to n / (n + SATURATION_TOKENS): small micro-batches
are bound by kernel launches and host time, large ones by compute."""

# base_model (lower case) -> shape key of configs/memory.json; first match wins
_SHAPE_PATTERNS = [
    ("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b"),
    ("qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b"),
    ("qwen2.5-1.5b", "qwen2.5-1.5b"),
    ("gemma3-270m", "gemma3-270m"),
    ("gemma-3-270m", "gemma3-270m"),
    ("gemma-2b", "gemma-2b"),
    ("phi-2", "phi-2"),
]


def shape_of(base_model: str) -> str | None:
    """The memory-table shape of a base model spec, or None when the table has no such shape.

    >>> shape_of("google/gemma-2b-it"), shape_of("embedded:qwen2.5-coder-1.5b-instruct"), shape_of("gpt2")
    ('gemma-2b', 'qwen2.5-coder-1.5b', None)
    """
    name = base_model.lower()
    return next((shape for pattern, shape in _SHAPE_PATTERNS if pattern in name), None)


def load_table(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The rows of the packaged memory table (or of ``path``)."""
    return json.loads(Path(path or TABLE).read_text(encoding="utf-8"))["rows"]


@dataclass(frozen=True)
class Estimate:
    """Peak and speed of one shape with checkpointing on or off, as a function of tokens per micro-batch."""

    fixed_gib: float
    """Peak at zero tokens: weights, LoRA weights, Adam state."""
    gib_per_token: float
    """Peak added by each token of a micro-batch."""
    tokens_per_s: float
    """Measured tokens/s at ``reference_tokens`` per micro-batch."""
    reference_tokens: int

    def peak_gib(self, tokens: int) -> float:
        return self.fixed_gib + self.gib_per_token * tokens

    def speed(self, tokens: int) -> float:
        def saturation(n: int) -> float:
            return n / (n + SATURATION_TOKENS)

        return self.tokens_per_s * saturation(tokens) / saturation(self.reference_tokens)


def estimate(shape: str, gradient_checkpointing: bool, rows: list[dict[str, Any]] | None = None,
             compiled: bool = False) -> Estimate:
    """A line through the table's rows of ``shape``: through the smallest and largest micro-batch measured, or through
    the weights and the one row there is. ``compiled``: the rows measured with the compiled step (``"compiled": true``)
    where the table has them, else the eager ones (a compiled step keeps less, so those overestimate its peak). Raises
    ValueError when the table has no row for it."""
    rows = load_table() if rows is None else rows

    def measured(r: dict[str, Any], want_compiled: bool) -> bool:
        return (r["shape"] == shape and bool(r["gradient_checkpointing"]) == gradient_checkpointing
                and bool(r.get("compiled", False)) == want_compiled
                and r.get("peak_allocated_gib") is not None and not r.get("error"))

    mine = [r for r in rows if measured(r, True)] if compiled else []
    mine = sorted(mine or [r for r in rows if measured(r, False)], key=lambda r: r["batch_size"] * r["row_length"])
    if not mine:
        raise ValueError(f"model.memory_budget_gib: the memory table has no measurement of {shape!r} with "
                         f"gradient_checkpointing={gradient_checkpointing}. Fix: measure it (python "
                         f"scripts/measure_memory.py --shape {shape} --gradient_checkpointing {int(gradient_checkpointing)}"
                         f") and add the line to {TABLE.name}, or set model.memory_budget_gib to null and choose the "
                         "batch and checkpointing yourself")
    small, large = mine[0], mine[-1]
    t_small, t_large = small["batch_size"] * small["row_length"], large["batch_size"] * large["row_length"]
    if t_large > t_small:
        slope = (large["peak_allocated_gib"] - small["peak_allocated_gib"]) / (t_large - t_small)
    else:
        slope = (large["peak_allocated_gib"] - large["weights_gib"]) / t_large
    slope = max(slope, 0.0)
    fixed = max(large["peak_allocated_gib"] - slope * t_large, large.get("weights_gib") or 0.0)
    return Estimate(fixed_gib=fixed, gib_per_token=slope, tokens_per_s=float(large["tokens_per_s"]),
                    reference_tokens=t_large)


class Knobs(NamedTuple):
    """What :func:`pick_knobs` chose (and what it expects of it)."""

    gradient_checkpointing: bool
    batch_size: int
    accumulate_grad_batches: int
    estimated_peak_gib: float
    estimated_tokens_per_s: float


def pick_knobs(shape: str, max_seq_length: int, batch_size: int, accumulate_grad_batches: int, budget_gib: float,
               rows: list[dict[str, Any]] | None = None, compiles: bool = False) -> Knobs:
    """The fastest (checkpointing, micro-batch, accumulation) with the same effective batch whose estimated peak at
    ``max_seq_length`` tokens per row fits ``budget_gib`` less HEADROOM_GIB. ``compiles``: the fit compiles its step
    when checkpointing is off (``model.compile: auto`` on a CUDA device with Triton and packed or bucketed batches), so
    that setting is estimated from the compiled rows.

    >>> rows = [{"shape": "s", "gradient_checkpointing": gc, "batch_size": 4, "row_length": 1024, "weights_gib": 1.0,
    ...          "peak_allocated_gib": peak, "tokens_per_s": tps} for gc, peak, tps in ((False, 9.0, 30e3), (True, 2.0, 20e3))]
    >>> pick_knobs("s", 1024, 4, 4, 24, rows)[:3]    # 24 GiB: no checkpointing, 8 x 2 instead of 4 x 4
    (False, 8, 2)
    >>> pick_knobs("s", 1024, 4, 4, 8, rows)[:3]     # 8 GiB: checkpointing, 16 x 1
    (True, 16, 1)
    """
    rows = load_table() if rows is None else rows
    effective = batch_size * accumulate_grad_batches
    usable = budget_gib - HEADROOM_GIB
    candidates = []
    for gc in (False, True):
        try:
            line = estimate(shape, gc, rows, compiled=compiles and not gc)
        except ValueError:
            continue
        for micro in (b for b in range(1, effective + 1) if effective % b == 0):
            tokens = micro * max_seq_length
            candidates.append((line.peak_gib(tokens) <= usable, line.speed(tokens), -gc, micro, gc, line))
    if not candidates:
        estimate(shape, True, rows)  # raises the "no measurement" error
    fitting = [c for c in candidates if c[0]]
    if not fitting:
        smallest = min(candidates, key=lambda c: c[5].peak_gib(c[3] * max_seq_length))
        peak = smallest[5].peak_gib(smallest[3] * max_seq_length)
        raise ValueError(
            f"model.memory_budget_gib={budget_gib}: nothing fits {shape} at max_seq_length {max_seq_length}; the "
            f"smallest setting (gradient_checkpointing={smallest[4]}, batch 1 x accumulate {effective}) is estimated at "
            f"{peak:.1f} GiB, more than the budget less {HEADROOM_GIB} GiB headroom. Fix: lower data.max_seq_length "
            "(or data.pack_length), use a GPU with more memory and raise model.memory_budget_gib, or set it to null "
            "and choose the knobs yourself")
    _, speed, _, micro, gc, line = max(fitting)
    return Knobs(gradient_checkpointing=gc, batch_size=micro, accumulate_grad_batches=effective // micro,
                 estimated_peak_gib=round(line.peak_gib(micro * max_seq_length), 2),
                 estimated_tokens_per_s=round(speed))


def cuda_memory_gib(device: Any = None) -> float | None:
    """Total memory of a CUDA device (default: the current one) in GiB; None for a CPU or without CUDA."""
    import torch

    if (device is not None and torch.device(device).type != "cuda") or not torch.cuda.is_available():
        return None
    device = torch.cuda.current_device() if device is None else device
    return torch.cuda.get_device_properties(device).total_memory / 2**30


AUTO_FRACTION = 0.9
"""``auto`` settings plan for this fraction of the GPU's memory (the display, other processes and the caching
allocator's slack take some), less ``HEADROOM_GIB``."""


def resolve_checkpointing(setting: bool | str, device_memory_gib: float | None, base_model: str, tokens: int,
                          compiles: bool, rows: list[dict[str, Any]] | None = None) -> tuple[bool, str]:
    """``model.gradient_checkpointing`` as a fit runs it, and why. ``auto``: off when the memory table's estimate of the
    step without checkpointing (``tokens`` per micro-batch; the compiled rows when ``compiles``) fits ``AUTO_FRACTION``
    of the GPU's memory less ``HEADROOM_GIB``, else on; on when there is no GPU (``device_memory_gib`` None) or the
    table has not measured ``base_model`` (the memory-safe choice). True and False are used as given.

    >>> rows = [{"shape": "gemma-2b", "gradient_checkpointing": False, "compiled": True, "batch_size": 4,
    ...          "row_length": 1024, "weights_gib": 2.0, "peak_allocated_gib": 9.3, "tokens_per_s": 28e3}]
    >>> [resolve_checkpointing("auto", card, "google/gemma-2b-it", 4096, True, rows)[0] for card in (8, 12, 24)]
    [True, False, False]
    >>> resolve_checkpointing("auto", None, "google/gemma-2b-it", 4096, True, rows)
    (True, 'auto: on (no CUDA device)')
    """
    if setting != "auto":
        return bool(setting), "as set"
    shape = shape_of(base_model)
    if device_memory_gib is None or shape is None:
        why = "no CUDA device" if device_memory_gib is None else f"{base_model!r} not in the memory table"
        return True, f"auto: on ({why})"
    peak = estimate(shape, False, rows, compiled=compiles).peak_gib(tokens)
    usable = AUTO_FRACTION * device_memory_gib - HEADROOM_GIB
    fits = peak <= usable
    return not fits, (f"auto: {'off' if fits else 'on'} (without it an estimated {peak:.1f} GiB at {tokens} tokens a "
                      f"micro-batch, {'within' if fits else 'over'} {usable:.1f} GiB of this GPU's {device_memory_gib:.1f})")
