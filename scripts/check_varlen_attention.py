"""Check and time ``model.packed_attention: varlen`` against sdpa with transformers' packed mask, one attention call.

    python scripts/check_varlen_attention.py                  # CUDA if there is one, else CPU (reference only)
    python scripts/check_varlen_attention.py --repeats 50     # longer timing

Builds packed rows as the training data does (examples of varied length back to back, each row's padding its own
segment), in the Gemma-2B shape by default (8 query heads, 1 key head, head_dim 256, 4 rows x 1024, bf16 on CUDA).
Correctness: the output and the gradients of query, key and value from ``varlen_attention`` against
``reference_varlen_attention`` (dense mask), with and without a sliding window; on CUDA the first is FlashAttention-2,
on CPU both are the reference and the check is the reference against each segment run alone. Timing (CUDA): forward +
backward of ``varlen_attention`` against ``scaled_dot_product_attention`` with the ``[B, 1, T, T]`` bool mask that
transformers builds for packed rows (the memory-efficient kernel, what the 2026-12-08 profile found slow). Prints one
JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from dotlightning.model.varlen_attention import reference_varlen_attention, varlen_attention  # noqa: E402


def packed_segments(rows: int, length: int, mean: int, generator: torch.Generator) -> torch.Tensor:
    """cu_seqlens of ``rows`` rows of ``length`` tokens: examples of mean ``mean`` tokens, then each row's padding."""
    starts = []
    for row in range(rows):
        start = 0
        while start < length:
            starts.append(row * length + start)
            start += int(torch.randint(max(1, mean // 4), 2 * mean, (1,), generator=generator))
    return torch.tensor(starts + [rows * length], dtype=torch.int32)


def each_segment_alone(query, key, value, cu_seqlens, scale, window):
    """Causal attention run separately on every segment (the definition the kernels must meet)."""
    out = torch.zeros_like(query)
    groups = query.shape[1] // key.shape[1]
    bounds = cu_seqlens.tolist()
    for start, end in zip(bounds, bounds[1:]):
        if end <= start:
            continue
        n = end - start
        q, k, v = (t[start:end].transpose(0, 1) for t in (query, key, value))
        k, v = k.repeat_interleave(groups, 0), v.repeat_interleave(groups, 0)
        allowed = torch.ones(n, n, dtype=torch.bool, device=query.device).tril()
        if window is not None:
            allowed &= ~torch.ones_like(allowed).tril(-window)
        out[start:end] = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                                                           scale=scale).transpose(0, 1)
    return out


def compare(device: str, rows: int = 2, length: int = 128, heads: int = 4, kv_heads: int = 1, dim: int = 16,
            window: int | None = None, seed: int = 0) -> dict[str, float]:
    """Largest absolute differences of the output and the q/k/v gradients, over the largest absolute expected value:
    ``varlen_attention`` against the reference (on CPU: the reference against each segment alone). Segments of ~length/5 tokens, two empty ones at the end."""
    generator = torch.Generator().manual_seed(seed)
    cu = packed_segments(rows, length, max(2, length // 5), generator)
    cu = torch.cat([cu, cu[-1:].repeat(2)]).to(device)  # empty trailing segments, as collate_packed pads them
    n, dtype = rows * length, torch.bfloat16 if device == "cuda" else torch.float32
    tensors = [torch.randn(n, h, dim, generator=generator).to(device, dtype).requires_grad_()
               for h in (heads, kv_heads, kv_heads)]
    scale = dim ** -0.5
    if device == "cuda":
        tested = varlen_attention(*tensors, cu, length, scale, window)
        expected_fn = lambda *t: reference_varlen_attention(*(x.float() for x in t), cu, scale, window)  # noqa: E731
    else:
        tested = reference_varlen_attention(*tensors, cu, scale, window)
        expected_fn = lambda *t: each_segment_alone(*t, cu, scale, window)  # noqa: E731
    grad = torch.randn(tested.shape, generator=generator).to(device, dtype)
    got = torch.autograd.grad(tested, tensors, grad)
    copies = [t.detach().clone().requires_grad_() for t in tensors]
    expected = expected_fn(*copies)
    want = torch.autograd.grad(expected, copies, grad.to(expected.dtype))
    def relative(a: torch.Tensor, b: torch.Tensor) -> float:
        return ((a.float() - b.float()).abs().max() / b.float().abs().max()).item()

    errors = {"out": relative(tested, expected)}
    for name, a, b in zip(("dq", "dk", "dv"), got, want):
        errors[name] = relative(a, b)
    return errors


def time_attention(rows: int, length: int, heads: int, kv_heads: int, dim: int, mean: int, window: int | None,
                   repeats: int) -> dict[str, float]:
    """ms per forward + backward on CUDA: varlen flash against sdpa with the packed [B, 1, T, T] bool mask."""
    generator = torch.Generator().manual_seed(0)
    cu = packed_segments(rows, length, mean, generator).cuda()
    q, k, v = (torch.randn(rows * length, h, dim, device="cuda", dtype=torch.bfloat16, requires_grad=True)
               for h in (heads, kv_heads, kv_heads))
    positions = torch.arange(rows * length, device="cuda")
    segment = torch.searchsorted(cu.long(), positions, right=True).view(rows, length)
    local = positions.view(rows, length) % length
    mask = (segment[:, :, None] == segment[:, None, :]) & (local[:, None, :] <= local[:, :, None])
    if window is not None:
        mask &= local[:, :, None] - local[:, None, :] < window
    mask = mask[:, None]
    batched = [t.detach().view(rows, length, t.shape[1], dim).transpose(1, 2).requires_grad_() for t in (q, k, v)]

    def run_varlen():
        varlen_attention(q, k, v, cu, length, dim ** -0.5, window).backward(torch.ones_like(q))

    def run_sdpa():
        out = torch.nn.functional.scaled_dot_product_attention(*batched, attn_mask=mask, scale=dim ** -0.5,
                                                               enable_gqa=True)
        out.backward(torch.ones_like(out))

    timings = {}
    for name, fn in (("varlen_ms", run_varlen), ("sdpa_mask_ms", run_sdpa)):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        torch.cuda.synchronize()
        timings[name] = round((time.perf_counter() - start) / repeats * 1e3, 3)
    return timings


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--kv_heads", type=int, default=1)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--mean", type=int, default=170, help="mean example length in tokens (the shipped data's)")
    parser.add_argument("--window", type=int, default=None, help="sliding window to time with (Gemma 3: 512)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    result: dict = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "torch": torch.__version__}
    for window in (None, 24):
        result[f"max_error_window_{window}"] = compare(device, window=window)
    if device == "cuda":
        result[f"gemma_2b_shape_{args.rows}x{args.length}"] = time_attention(
            args.rows, args.length, args.heads, args.kv_heads, args.dim, args.mean, args.window, args.repeats)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
