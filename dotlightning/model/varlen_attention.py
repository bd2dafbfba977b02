"""Packed rows through variable-length flash attention (``model.packed_attention: varlen``), not through a mask.

Why: with packed rows transformers confines attention to each example by handing sdpa a ``[B, 1, T, T]`` bool mask
per layer type (docs/packing.md). A mask rules out sdpa's flash kernel; the memory-efficient kernel that remains has
a slow backward at Gemma's head_dim 256: on one H100 (2026-12-08, results/2026-12-08-h100-perf-2/) it took 55 of the
134 ms of GPU time of a 4 x 1024 Gemma-2B-shape step, twelve times its own forward. FlashAttention's variable-length
kernel takes the examples as ``cu_seqlens`` (where each starts in the batch flattened to one row) instead, computes
only the blocks inside each example, and has a fast backward at head_dim 256.

How: ``collate_packed`` adds ``cu_seqlens`` to every packed batch (fixed length: one compiled shape). For the training
forward only, ``causal_lm_loss`` switches the model's ``config._attn_implementation`` to :data:`NAME` (registered here
with transformers' ``AttentionInterface``) and passes ``cu_seq_lens_q``/``max_length_q``, the keyword arguments
transformers already forwards from the model to each attention call. A name transformers has no mask function for
builds no mask at all (``masking_utils._preprocess_mask_arguments``), so no ``[B, 1, T, T]`` tensor and no host sync
for packed-sequence detection either. Validation, test and generation keep the model's own attention (sdpa).

The kernel: PyTorch's own FlashAttention-2 (``aten::_flash_attention_forward`` / ``_backward``, the ops behind
sdpa's flash path and ``torch.nn.attention.varlen``), called directly because ``torch.nn.attention.varlen``'s
signature changed between torch 2.10 and 2.13. It takes grouped-query heads (Gemma's 1 key head for 8 query heads)
and sliding windows (Gemma 3's local layers). Off a CUDA device (and for tests) :func:`reference_varlen_attention`
computes the same thing with a dense mask.

Status: the plumbing is tested on CPU (the tiny Gemma 3 gives the same loss and LoRA gradients as the sdpa mask
path, with a sliding window shorter than the examples); the CUDA kernel path has not run on a GPU yet:
``python scripts/check_varlen_attention.py`` there compares it with the reference before any timing.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Iterator

import torch
from torch import Tensor

NAME = "dotlightning_varlen"
"""The attention implementation name registered with transformers."""


def reference_varlen_attention(query: Tensor, key: Tensor, value: Tensor, cu_seqlens: Tensor, scale: float | None,
                               window: int | None) -> Tensor:
    """Causal attention inside each segment of ``cu_seqlens``, by a dense mask (any device, any dtype).

    ``query`` [N, H, D], ``key``/``value`` [N, Hkv, D] with H a multiple of Hkv (grouped-query heads), ``cu_seqlens``
    [S + 1] (segment starts, then N; repeated N = empty segments). ``window``: a query sees keys less than ``window``
    positions back (transformers' ``sliding_window``), None for all of its segment. Returns [N, H, D].

    >>> q = torch.randn(5, 2, 4)
    >>> out = reference_varlen_attention(q, q[:, :1], q[:, :1], torch.tensor([0, 2, 5, 5]), None, None)
    >>> torch.allclose(out[0], q[0, :1].expand(2, 4))   # the first token of a segment sees only itself
    True
    """
    n = query.shape[0]
    positions = torch.arange(n, device=query.device)
    segment = torch.searchsorted(cu_seqlens.to(positions.dtype), positions, right=True)
    allowed = (segment[:, None] == segment[None, :]) & (positions[None, :] <= positions[:, None])
    if window is not None:
        allowed &= positions[:, None] - positions[None, :] < window
    groups = query.shape[1] // key.shape[1]
    key, value = (t.repeat_interleave(groups, dim=1) for t in (key, value))
    out = torch.nn.functional.scaled_dot_product_attention(
        query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1), attn_mask=allowed, scale=scale)
    return out.transpose(0, 1)


def _window_sizes(window: int | None) -> tuple[int | None, int | None]:
    """FlashAttention's (left, right): a key at most ``window - 1`` positions back, none ahead; None: causal only."""
    return (window - 1, 0) if window is not None else (None, None)


class _FlashVarlen(torch.autograd.Function):
    """FlashAttention-2's variable-length forward and backward, causal, no dropout."""

    @staticmethod
    def forward(ctx: Any, query: Tensor, key: Tensor, value: Tensor, cu_seqlens: Tensor, max_length: int,
                scale: float | None, window: int | None) -> Tensor:
        left, right = _window_sizes(window)
        out, lse, rng_state, unused, _ = torch.ops.aten._flash_attention_forward(
            query, key, value, cu_seqlens, cu_seqlens, max_length, max_length, 0.0, True, False,
            scale=scale, window_size_left=left, window_size_right=right)
        ctx.save_for_backward(query, key, value, out, lse, cu_seqlens, rng_state, unused)
        ctx.max_length, ctx.scale, ctx.window = max_length, scale, window
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        query, key, value, out, lse, cu_seqlens, rng_state, unused = ctx.saved_tensors
        left, right = _window_sizes(ctx.window)
        grad_query, grad_key, grad_value = torch.ops.aten._flash_attention_backward(
            grad_out.contiguous(), query, key, value, out, lse, cu_seqlens, cu_seqlens, ctx.max_length,
            ctx.max_length, 0.0, True, rng_state, unused, scale=ctx.scale, window_size_left=left,
            window_size_right=right)
        return grad_query, grad_key, grad_value, None, None, None, None


def varlen_attention(query: Tensor, key: Tensor, value: Tensor, cu_seqlens: Tensor, max_length: int,
                     scale: float | None = None, window: int | None = None) -> Tensor:
    """Causal attention inside each segment: FlashAttention-2 on CUDA in fp16/bf16, the dense reference elsewhere.
    Shapes as :func:`reference_varlen_attention`; ``max_length``: an upper bound on a segment's length."""
    if query.is_cuda and query.dtype in (torch.float16, torch.bfloat16):
        return _FlashVarlen.apply(query.contiguous(), key.contiguous(), value.contiguous(), cu_seqlens, max_length,
                                  scale, window)
    return reference_varlen_attention(query, key, value, cu_seqlens, scale, window)


def varlen_attention_forward(module: torch.nn.Module, query: Tensor, key: Tensor, value: Tensor,
                             attention_mask: Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                             sliding_window: int | None = None, softcap: float | None = None,
                             cu_seq_lens_q: Tensor | None = None, max_length_q: int | None = None,
                             **kwargs: Any) -> tuple[Tensor, None]:
    """transformers' attention-function signature: ``query`` [B, H, T, D], ``key``/``value`` [B, Hkv, T, D]; returns
    [B, T, H, D]. The B rows are one flattened row of ``cu_seqlens`` segments."""
    if cu_seq_lens_q is None or max_length_q is None:
        raise ValueError(f"attention {NAME!r} needs cu_seq_lens_q and max_length_q (packed batches' cu_seqlens). "
                         "Fix: use it through causal_lm_loss with data.packing true, or set model.packed_attention sdpa")
    if attention_mask is not None or softcap or dropout:
        raise ValueError(f"attention {NAME!r} takes no attention mask, logit soft-capping or attention dropout "
                         f"(got mask={attention_mask is not None}, softcap={softcap}, dropout={dropout}). "
                         "Fix: set model.packed_attention sdpa for this model")
    batch, heads, length, dim = query.shape
    flat = [t.transpose(1, 2).reshape(batch * length, t.shape[1], t.shape[-1]) for t in (query, key, value)]
    out = varlen_attention(*flat, cu_seq_lens_q, max_length_q, scaling, sliding_window)
    return out.view(batch, length, heads, out.shape[-1]), None


@functools.cache
def register() -> None:
    """Make :data:`NAME` a transformers attention implementation (once; later calls return at once)."""
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, varlen_attention_forward)


@contextlib.contextmanager
def attention_implementation(config: Any, name: str) -> Iterator[None]:
    """Run the model with ``config._attn_implementation = name`` for the length of the block, then restore it."""
    previous = config._attn_implementation
    config._attn_implementation = name
    try:
        yield
    finally:
        config._attn_implementation = previous
