"""nf4 matmuls that torch.compile can fuse: bitsandbytes' 4-bit storage, PyTorch's arithmetic.

bitsandbytes computes a QLoRA linear layer as two opaque steps: a CUDA kernel dequantises the whole 4-bit weight to
bf16 in memory, then cuBLAS multiplies. On an H100 that kernel runs at about a quarter of memory bandwidth, and it
runs twice per layer per step (forward, then again for the input gradient), so a Gemma-2B-shaped 2048 -> 16384 nf4
layer costs about 2x its bf16 twin (``scripts/profile_step.py``). Here the same dequantisation is written as
ordinary tensor ops (unpack two nibbles per byte, look each up in the 16-value NF4 code, scale by its block's absmax,
itself 8-bit quantised under double quantisation). Eagerly that is several kernels and slower than bitsandbytes; under
``torch.compile`` Inductor fuses it into one generated kernel, and with ``mode="max-autotune"`` it may fuse it into
the matmul's prologue so the bf16 weight never reaches memory.

The weights stay bitsandbytes ``Params4bit``: loading, saving, peft's merge and the adapter are unchanged. Only the
forward of each ``bnb.nn.Linear4bit`` is swapped (``use_torch_nf4``), and only the frozen weight's arithmetic: the
LoRA path and the gradient w.r.t. the layer input are the same math as bitsandbytes'.
"""

from __future__ import annotations

import torch


def dequantize_blockwise_8bit(quantized: torch.Tensor, scales: torch.Tensor, code: torch.Tensor, blocksize: int,
                              offset: torch.Tensor | None = None) -> torch.Tensor:
    """float32 values of an 8-bit blockwise-quantised vector: ``code[q] * scale_of_its_block (+ offset)``.

    This is how double quantisation stores the nf4 absmax: one uint8 per 64 weights, one float32 per 256 of those.
    """
    values = code[quantized.reshape(-1).long()]
    n = values.numel()
    if n % blocksize:  # a partial last block: repeat the scales, then cut (rare; absmax vectors are short)
        values = values * scales.repeat_interleave(blocksize)[:n]
    else:
        values = (values.view(-1, blocksize) * scales.view(-1, 1)).view(-1)
    return values + offset if offset is not None else values


def dequantize_nf4(packed: torch.Tensor, absmax: torch.Tensor, code: torch.Tensor, blocksize: int,
                   shape: torch.Size | tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """The dense weight of a bitsandbytes nf4 tensor, as ``dtype``.

    ``packed`` holds two 4-bit indices per byte, the first in the high nibble, in row-major order of ``shape``;
    ``absmax`` (float32, one per ``blocksize`` weights) scales each block. Bit-for-bit equal to
    ``bitsandbytes.functional.dequantize_4bit`` (tests/test_nf4.py).

    >>> import torch
    >>> code = torch.linspace(-1, 1, 16)
    >>> packed = torch.tensor([[0x0F], [0x70]], dtype=torch.uint8)   # indices 0, 15, 7, 0
    >>> dequantize_nf4(packed, torch.tensor([2.0]), code, 4, (2, 2), torch.float32)
    tensor([[-2.0000,  2.0000],
            [-0.1333, -2.0000]])
    """
    packed = packed.reshape(-1)
    indices = torch.stack((packed >> 4, packed & 0x0F), dim=-1).reshape(-1)
    values = code[indices.long()]
    n = torch.Size(shape).numel()
    if n % blocksize:
        values = values[:n] * absmax.repeat_interleave(blocksize)[:n]
    else:
        values = values[:n].view(-1, blocksize) * absmax.view(-1, 1)
    return values.to(dtype).view(shape)


def quant_state_tensors(weight) -> tuple[tuple[torch.Tensor, ...], tuple]:
    """Split a ``Params4bit``'s quant state into tensors and constants (what a traced autograd.Function can take)."""
    state = weight.quant_state
    if state.quant_type != "nf4":
        raise ValueError(f"torch nf4 matmul handles quant_type 'nf4', not {state.quant_type!r}")
    if getattr(state, "packing_format_for_cpu", False):
        raise ValueError("this nf4 weight was repacked by bitsandbytes for its CPU inference kernel; route the layer "
                         "through use_torch_nf4 before any no-grad CPU forward, or set support_avx512bf16_for_cpu=False")
    if state.nested:
        tensors = (weight.data, state.absmax, state.code, state.state2.absmax, state.state2.code, state.offset)
        constants = (state.blocksize, tuple(state.shape), state.state2.blocksize)
    else:
        tensors = (weight.data, state.absmax, state.code)
        constants = (state.blocksize, tuple(state.shape), None)
    return tensors, constants


def dense_weight(tensors: tuple[torch.Tensor, ...], constants: tuple, dtype: torch.dtype) -> torch.Tensor:
    blocksize, shape, blocksize2 = constants
    if blocksize2 is None:
        packed, absmax, code = tensors
    else:
        packed, absmax8, code, absmax2, code2, offset = tensors
        absmax = dequantize_blockwise_8bit(absmax8, absmax2, code2, blocksize2, offset)
    return dequantize_nf4(packed, absmax, code, blocksize, shape, dtype)


class NF4Matmul(torch.autograd.Function):
    """``x @ W.T + b`` for a frozen nf4 ``W`` (and frozen ``b``). Saves only the 4-bit weight and recomputes the dense
    one in backward (as bitsandbytes does), so activation memory is that of a bf16 layer, not a bf16 layer plus its
    weight."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bias: torch.Tensor | None, constants: tuple, *tensors: torch.Tensor) -> torch.Tensor:
        ctx.constants = constants
        ctx.save_for_backward(*tensors)
        return torch.nn.functional.linear(x, dense_weight(tensors, constants, x.dtype), bias)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_output @ dense_weight(ctx.saved_tensors, ctx.constants, grad_output.dtype)
        return (grad_x, None, None) + (None,) * len(ctx.saved_tensors)


def _torch_nf4_forward(self, x: torch.Tensor) -> torch.Tensor:
    """Forward of a ``bnb.nn.Linear4bit`` whose weight is nf4, through ``NF4Matmul``.

    Under torch.compile the custom Function is traced into one joint graph, where common-subexpression elimination
    merges the backward's dequantisation into the forward's and the partitioner then *saves* every dense bf16 weight
    for backward (+3.7 GiB on Gemma-2B, measured). Wrapping the dequantisation in activation checkpointing tags it
    for recomputation instead; eagerly the checkpoint is a no-op, as nothing in it requires grad."""
    input_dtype = x.dtype
    compute_dtype = self.compute_dtype or input_dtype
    tensors, constants = quant_state_tensors(self.weight)
    x = x.to(compute_dtype)
    bias = None if self.bias is None else self.bias.to(compute_dtype)  # in the matmul, as bitsandbytes does
    if torch.compiler.is_compiling() and not getattr(self, "nf4_save_dense_weight", False):
        weight = torch.utils.checkpoint.checkpoint(dense_weight, tensors, constants, compute_dtype, use_reentrant=False)
        out = torch.nn.functional.linear(x, weight, bias)
    else:
        out = NF4Matmul.apply(x, bias, constants, *tensors)
    return out.to(input_dtype)


def use_torch_nf4(model: torch.nn.Module, enabled: bool = True, save_dense_weight: bool = False) -> int:
    """Route every nf4 ``bnb.nn.Linear4bit`` in ``model`` through ``NF4Matmul`` (``enabled=False``: back to
    bitsandbytes); returns how many layers changed.

    Call it once the model is on its device (the quant state is built when the weight moves there).
    ``save_dense_weight``: under torch.compile, let the partitioner keep dense weights for backward (faster, about
    2 bytes per weight more memory) instead of recomputing them."""
    import bitsandbytes as bnb

    swapped = 0
    for module in model.modules():
        state = getattr(getattr(module, "weight", None), "quant_state", None)
        if not isinstance(module, bnb.nn.Linear4bit) or state is None or state.quant_type != "nf4":
            continue
        if enabled:
            # A per-instance bound method, not a subclass: isinstance checks (peft, transformers) keep holding.
            module.forward = _torch_nf4_forward.__get__(module)
            module.nf4_save_dense_weight = save_dense_weight
        else:
            module.__dict__.pop("forward", None)
        swapped += 1
    return swapped
