"""Memory-lean causal-LM loss: cross-entropy over completion tokens only, logits chunk by chunk.

Why this file exists: with a 256k vocabulary (Gemma) the LM head is the biggest activation in
QLoRA fine-tuning. The usual ``model(input_ids, labels=labels)`` path computes logits for *every*
position ([B*T, V], cast to fp32 for the loss and kept for backward) although prompt positions are
masked with -100 and contribute nothing. Here we

1. shift once (hidden[:, t] predicts labels[:, t + 1]) and gather only the labelled positions;
2. compute logits for at most ``chunk_size`` of those positions at a time (fp32 log-softmax);
3. compute the gradient of each chunk *during the forward pass* (softmax - one_hot) and keep only
   the [N, H] gradient wrt the hidden states, so no logits survive for backward. This costs the
   same two big matmuls as a normal forward + backward (logits, then grad_logits @ W), and one more
   (grad_logits^T @ h) only when the head weight itself is trained (it is frozen under LoRA).

Inputs may be bf16: matmuls run in the weight's dtype (cuBLAS / oneDNN accumulate in fp32), the
softmax, loss and the weight-gradient accumulator are fp32; this matches what transformers does
(bf16 ``lm_head`` then ``logits.float()``).

On a GPU the chunk loop above is memory-bound: each chunk's fp32 logits are read and written by half a
dozen elementwise kernels (logsumexp, exp, sub, div, casts), about 15 ms of a 64 ms Gemma-2B step at 4 x 512 tokens
on an H100 (``scripts/profile_step.py``). ``kernel="fused"`` keeps the two matmuls per chunk and hands everything
between them (softcap, logsumexp, softmax - one_hot, the cast) to one ``torch.compile``d function, which Inductor
turns into a reduction and a pointwise kernel over the bf16 logits. ``auto`` is ``fused`` on CUDA and ``chunked``
elsewhere. Cut Cross-Entropy and Liger-Kernel were options too (``cce``, ``cce-exact``, ``liger``); measured slower
than ``fused`` on the H100, they were removed (docs/performance.md has the numbers).

``causal_lm_loss(model, batch)`` is the training step the project uses: backbone forward (no LM head
inside the model), then ``completion_cross_entropy``. ``naive_cross_entropy`` is the reference.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any, Literal, Mapping, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from dotlightning.data.prompts import IGNORE_INDEX
from dotlightning.model import varlen_attention

LossKernel = Literal["auto", "chunked", "fused"]
PackedAttention = Literal["sdpa", "varlen"]
REMOVED_LOSS_KERNELS = ("cce", "cce-exact", "liger")  # measured, slower than fused, removed (docs/performance.md)

# Upper bound on logits elements per chunk when chunk_size is not given: 2**26 fp32 values is 256 MiB,
# so a chunk's temporaries (bf16 logits, fp32 logits, tanh for softcap) stay well under 1 GiB even at V=256k.
_AUTO_CHUNK_ELEMENTS = 2**26


# The fused kernel keeps only bf16 logits and their bf16 gradient per chunk, so it affords chunks twice as large; fewer,
# larger chunks measured 3 ms faster per Gemma-2B step at 4 x 512 (256 -> 512 rows, +0.36 GiB; results/2026-11-25-h100-perf).
_AUTO_CHUNK_ELEMENTS_FUSED = 2**27


def _auto_chunk_size(vocab_size: int, elements: int = _AUTO_CHUNK_ELEMENTS) -> int:
    # Multiples of 64 rows keep the matmuls on fast tensor-core paths.
    return max(64, (elements // max(vocab_size, 1)) // 64 * 64)


def _shift_and_select(hidden: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """[B,T,H], [B,T] -> hidden rows that predict a labelled next token [N,H] and those targets [N]."""
    if hidden.dim() != 3 or labels.dim() != 2 or hidden.shape[:2] != labels.shape:
        raise ValueError(
            f"completion_cross_entropy: expected hidden [B,T,H] and labels [B,T], got {tuple(hidden.shape)} and "
            f"{tuple(labels.shape)}; pass the backbone's last_hidden_state and the batch's labels unchanged."
        )
    shifted = labels[:, 1:]
    keep = shifted != IGNORE_INDEX  # [B, T-1]
    # Boolean indexing copies only the kept rows; its backward scatters into a zero [B,T,H] gradient.
    return hidden[:, :-1][keep], shifted[keep]


def _select_without_sync(hidden: Tensor, labels: Tensor, num_labelled: int, vocab: int) -> tuple[Tensor, Tensor]:
    """``_shift_and_select`` plus the label range check with no device sync, given the labelled count (known on the
    host when the batch is collated). Boolean indexing must wait for the GPU to learn how many rows it keeps; with the
    count known, ``nonzero_static`` does not, so the host can queue the loss, the backward and the optimizer step
    while the forward still runs. Out-of-range labels fail through an asynchronous device assert."""
    batch, length, width = hidden.shape
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX  # position t is kept when it predicts a labelled token t + 1
    rows = torch.nonzero_static(keep.view(-1), size=num_labelled).view(-1)
    targets = labels.reshape(-1).index_select(0, rows + 1)
    torch._assert_async(((targets >= 0) & (targets < vocab)).all(),
                        f"completion_cross_entropy: label ids must be in [0, {vocab}) or -100; check the tokenizer "
                        "matches the model.")
    return hidden.reshape(batch * length, width).index_select(0, rows), targets


def _label_range(labels: Tensor) -> Tensor:
    """[min, max] of the labelled ids (ignored positions count as 0), left on the device: queue it before the boolean
    index in ``_shift_and_select``, whose device sync then finds it done, so the range check costs no second wait."""
    kept = labels[:, 1:]
    kept = kept.masked_fill(kept == IGNORE_INDEX, 0)
    if not kept.numel():
        return torch.zeros(2, dtype=labels.dtype, device=labels.device)
    return torch.stack((kept.min(), kept.max()))


def _upcast(x: Tensor) -> Tensor:
    # fp32 softmax for bf16/fp16/fp32; float64 stays float64 (lets tests compare exactly).
    return x if x.dtype == torch.float64 else x.float()


def _chunk_logits(h: Tensor, weight: Tensor, bias: Tensor | None, softcap: float | None) -> tuple[Tensor, Tensor | None]:
    """fp32 logits of one chunk (and tanh(z/c) when soft-capped, needed for the gradient)."""
    logits = _upcast(h @ weight.t())
    if bias is not None:
        logits += bias.to(logits.dtype)
    if softcap is None:
        return logits, None
    t = logits.div_(softcap).tanh_()  # in place: logits buffer now holds tanh(z/c)
    return t * softcap, t


def _chunk_loss_and_grad(logits: Tensor, targets: Tensor, denom: Tensor, softcap: float | None) -> tuple[Tensor, Tensor]:
    """From one chunk's raw logits [n, V] (the head's dtype): the chunk's summed CE (fp32) and d(loss)/d(logits)
    = (softmax - one_hot) / denom, cast back to the logits' dtype. Written out of place for ``torch.compile`` (see
    ``_fused_chunk_loss_and_grad``); the eager loop in ``_ChunkedCompletionCE`` does the same math in place."""
    z = logits.float()
    if softcap is not None:
        t = torch.tanh(z / softcap)
        z = t * softcap
    lse = torch.logsumexp(z, dim=-1, keepdim=True)
    loss_sum = (lse.squeeze(1) - z.gather(1, targets[:, None]).squeeze(1)).sum()
    p = torch.exp(z - lse)
    is_target = torch.arange(z.shape[1], device=z.device)[None, :] == targets[:, None]
    g = torch.where(is_target, p - 1.0, p)
    if softcap is not None:
        g = g * (1.0 - t * t)
    return loss_sum, (g / denom).to(logits.dtype)


_compiled_chunk_loss_and_grad = None


def _fused_chunk_loss_and_grad(logits: Tensor, targets: Tensor, denom: Tensor, softcap: float | None):
    """``_chunk_loss_and_grad`` compiled once (rows dynamic, so the last, shorter chunk does not recompile)."""
    global _compiled_chunk_loss_and_grad
    if _compiled_chunk_loss_and_grad is None:
        _compiled_chunk_loss_and_grad = torch.compile(_chunk_loss_and_grad, dynamic=True)
    return _compiled_chunk_loss_and_grad(logits, targets, denom, softcap)


class _ChunkedCompletionCE(torch.autograd.Function):
    """sum_i CE(softcap(h_i W^T + b), y_i) / denom, gradients computed in forward chunk by chunk."""

    @staticmethod
    def forward(ctx, h: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor, softcap: float | None,
                chunk_size: int, denom: float, need_h: bool, need_w: bool, need_b: bool, fused: bool) -> Tensor:
        n = h.shape[0]
        acc = torch.float64 if weight.dtype == torch.float64 else torch.float32  # accumulators
        loss_sum = torch.zeros((), dtype=acc, device=h.device)
        grad_h = torch.empty_like(h) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=acc, device=weight.device) if need_w else None
        grad_b = torch.zeros(weight.shape[0], dtype=acc, device=weight.device) if need_b else None
        # A tensor, so the compiled kernel does not recompile per batch; made by a fill kernel, because a host-to-device
        # copy (torch.tensor(denom, device=...)) would wait for the stream and undo the sync-free row selection.
        denom_t = torch.full((), denom, dtype=acc, device=h.device)
        for start in range(0, n, chunk_size):
            hc = h[start:start + chunk_size]
            yc = targets[start:start + chunk_size]
            if fused and (need_h or need_w or need_b):
                logits = hc @ weight.t()
                if bias is not None:
                    logits += bias
                chunk_loss, g_lp = _fused_chunk_loss_and_grad(logits, yc, denom_t, softcap)
                loss_sum += chunk_loss
                del logits
                if need_b:
                    grad_b += g_lp.float().sum(0)
                if need_h:
                    grad_h[start:start + chunk_size] = (g_lp @ weight).to(h.dtype)
                if need_w:
                    grad_w += g_lp.t() @ hc
                continue
            logits, t = _chunk_logits(hc, weight, bias, softcap)
            lse = torch.logsumexp(logits, dim=-1)
            loss_sum += (lse - logits.gather(1, yc[:, None]).squeeze(1)).sum()
            if not (need_h or need_w or need_b):
                continue
            # d(loss)/d(logits) = (softmax - one_hot) / denom, built in place in the logits buffer.
            g = logits.sub_(lse[:, None]).exp_()
            g[torch.arange(g.shape[0], device=g.device), yc] -= 1.0
            if t is not None:  # d(c*tanh(z/c))/dz = 1 - tanh^2
                g.mul_(t.square_().neg_().add_(1.0))
            g.div_(denom)
            if need_b:
                grad_b += g.sum(0)
            g_lp = g.to(weight.dtype)
            del logits, t, g
            if need_h:
                grad_h[start:start + chunk_size] = (g_lp @ weight).to(h.dtype)
            if need_w:
                grad_w += g_lp.t() @ hc
        ctx.save_for_backward(grad_h, grad_w, grad_b)
        ctx.has = (need_h, need_w, need_b)
        return loss_sum / denom

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        grad_h, grad_w, grad_b = ctx.saved_tensors
        need_h, need_w, need_b = ctx.has
        gh = grad_h * grad_out.to(grad_h.dtype) if need_h else None
        gw = grad_w * grad_out if need_w else None
        gb = grad_b * grad_out if need_b else None
        return gh, gw, gb, None, None, None, None, None, None, None, None


def completion_cross_entropy(hidden: Tensor, lm_head_weight: Tensor, labels: Tensor, *,
                             logit_softcap: float | None = None, chunk_size: int | None = None,
                             lm_head_bias: Tensor | None = None, kernel: LossKernel = "chunked",
                             num_labelled: int | None = None) -> Tensor:
    """Mean next-token cross-entropy over labelled positions, without materialising [B*T, V] logits.

    Args:
        hidden: backbone output (after the final norm) [B, T, H], any float dtype (bf16 is fine).
        lm_head_weight: output embedding [V, H] (tied or not). Its gradient is computed only when it
            requires grad (LoRA freezes it, so that matmul is skipped).
        labels: [B, T] token ids, -100 where ignored (prompt, padding). Not shifted: the shift is done here.
        logit_softcap: Gemma-2/3 ``final_logit_softcapping`` c: logits -> c * tanh(logits / c). None: off.
        chunk_size: labelled positions per logits chunk; None picks ~2**26 logits per chunk (256 at V=256k).
        lm_head_bias: optional [V] bias (Phi-2's head has one).
        kernel: ``chunked`` (eager chunks, any device), ``fused`` (the same chunks with the elementwise work
            compiled into two kernels; compiles once, so meant for GPUs), ``auto`` (``fused`` on CUDA, else
            ``chunked``). ``chunk_size`` applies to both.
        num_labelled: how many positions predict a labelled token (``labels[:, 1:] != -100``), counted on the host
            (``data.collate`` adds it to every batch). Given, the rows are selected without a device sync.

    Returns:
        fp32 scalar: sum of CE over labelled tokens / their count. With no labelled token it is 0.0 and
        still differentiable (gradients are zeros), so an all-masked batch never yields NaN.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> hidden = torch.randn(2, 5, 8, requires_grad=True)
        >>> weight = torch.randn(11, 8)
        >>> labels = torch.tensor([[-100, -100, 3, 4, 5], [-100, 7, 8, -100, -100]])
        >>> loss = completion_cross_entropy(hidden, weight, labels, logit_softcap=30.0, chunk_size=2)
        >>> ref = naive_cross_entropy(hidden, weight, labels, logit_softcap=30.0)
        >>> bool(torch.allclose(loss, ref, atol=1e-5))
        True
        >>> loss.backward()
        >>> hidden.grad.shape
        torch.Size([2, 5, 8])
        >>> float(completion_cross_entropy(hidden, weight, torch.full((2, 5), -100)))
        0.0
    """
    if lm_head_weight.dim() != 2 or lm_head_weight.shape[1] != hidden.shape[-1]:
        raise ValueError(
            f"completion_cross_entropy: lm_head_weight must be [V, H] with H={hidden.shape[-1]}, got "
            f"{tuple(lm_head_weight.shape)}; pass model.get_output_embeddings().weight."
        )
    vocab = lm_head_weight.shape[0]
    if num_labelled is not None:
        h, targets = _select_without_sync(hidden, labels, num_labelled, vocab)
    else:
        label_range = _label_range(labels)
        h, targets = _shift_and_select(hidden, labels)
        low, high = label_range.tolist()
        if low < 0 or high >= vocab:
            raise ValueError(
                f"completion_cross_entropy: label ids must be in [0, {vocab}) or -100, got range [{low}, {high}]; "
                "check the tokenizer matches the model."
            )
    n = h.shape[0]
    kernel = resolve_loss_kernel(kernel, h, lm_head_bias)
    if chunk_size is None:
        chunk_size = _auto_chunk_size(vocab, _AUTO_CHUNK_ELEMENTS_FUSED if kernel == "fused" else _AUTO_CHUNK_ELEMENTS)
    if chunk_size < 1:
        raise ValueError(f"completion_cross_entropy: chunk_size must be >= 1, got {chunk_size}.")
    grad_on = torch.is_grad_enabled()
    need_h = grad_on and h.requires_grad
    need_w = grad_on and lm_head_weight.requires_grad
    need_b = grad_on and lm_head_bias is not None and lm_head_bias.requires_grad
    # Run the matmul in the head's dtype (activations may arrive fp32 from a norm upcast).
    if not torch.is_autocast_enabled(h.device.type) and h.dtype != lm_head_weight.dtype:
        h = h.to(lm_head_weight.dtype)
    denom = float(max(n, 1))
    return _ChunkedCompletionCE.apply(h, lm_head_weight, lm_head_bias, targets, logit_softcap, chunk_size,
                                      denom, need_h, need_w, need_b, kernel == "fused")


@functools.cache
def _installed(module: str) -> bool:
    """Whether ``module`` can be imported; looked up once, as this runs every training step."""
    return importlib.util.find_spec(module) is not None


def check_loss_kernel(kernel: str) -> None:
    """Raise, naming the valid kernels, unless ``kernel`` is one (a removed one says so).

    >>> check_loss_kernel("cce")
    Traceback (most recent call last):
    ValueError: loss_kernel 'cce' was removed (measured slower than 'fused', see docs/performance.md). Fix: use one of auto, chunked, fused.
    """
    valid = ", ".join(get_args(LossKernel))
    if kernel in REMOVED_LOSS_KERNELS:
        raise ValueError(f"loss_kernel {kernel!r} was removed (measured slower than 'fused', see docs/performance.md). "
                         f"Fix: use one of {valid}.")
    if kernel not in get_args(LossKernel):
        raise ValueError(f"loss kernel must be one of {valid}, got {kernel!r}. Fix: use one of those.")


def resolve_loss_kernel(kernel: LossKernel, h: Tensor, bias: Tensor | None) -> str:
    """The kernel ``completion_cross_entropy`` runs: ``auto`` becomes ``fused`` on CUDA, else ``chunked``."""
    check_loss_kernel(kernel)
    if kernel == "auto":  # the fused kernel is compiled by Inductor, which generates Triton code on GPUs
        return "fused" if h.is_cuda and _installed("triton") else "chunked"
    return kernel


def naive_cross_entropy(hidden: Tensor, lm_head_weight: Tensor, labels: Tensor, *,
                        logit_softcap: float | None = None, chunk_size: int | None = None,
                        lm_head_bias: Tensor | None = None) -> Tensor:
    """Reference: full [B, T, V] logits (as transformers computes them), fp32, shift, F.cross_entropy.

    Same signature and semantics as ``completion_cross_entropy`` (``chunk_size`` is ignored); an
    all-masked batch gives 0.0 instead of F.cross_entropy's NaN so both can be compared everywhere.
    """
    del chunk_size
    logits = _upcast(F.linear(hidden.to(lm_head_weight.dtype), lm_head_weight, lm_head_bias))
    if logit_softcap is not None:
        logits = torch.tanh(logits / logit_softcap) * logit_softcap
    shift_logits = logits[:, :-1].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    total = F.cross_entropy(shift_logits, shift_labels, ignore_index=IGNORE_INDEX, reduction="sum")
    return total / (shift_labels != IGNORE_INDEX).sum().clamp(min=1)


def _backbone_and_head(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module, Any]:
    """(decoder without LM head, LM head module, config) for a PeftModel or a plain *ForCausalLM."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone = getattr(base, "model", None)
    head = base.get_output_embeddings()
    if backbone is None or head is None:
        raise TypeError(
            f"causal_lm_loss: {type(base).__name__} has no `.model` backbone or no output embeddings; use a "
            "transformers *ForCausalLM (Gemma, Qwen2, Phi, Llama...) or compute the loss with model(..., labels=...)."
        )
    return backbone, head, base.config


def causal_lm_loss(model: torch.nn.Module, batch: Mapping[str, Tensor], *, chunk_size: int | None = None,
                   backbone: torch.nn.Module | None = None, kernel: LossKernel = "chunked",
                   packed_attention: PackedAttention = "sdpa") -> Tensor:
    """The project's training loss: backbone forward (LM head bypassed), then completion_cross_entropy.

    ``batch`` needs ``input_ids``, ``attention_mask`` and ``labels`` ([B, T], labels -100 where ignored),
    i.e. the DotDataModule collate output. Works for a PeftModel or a bare transformers causal LM.
    ``backbone`` runs instead of the model's own decoder, e.g. a ``torch.compile`` wrapper of it.
    ``kernel`` picks the cross-entropy implementation (see ``completion_cross_entropy``).

    Packed batches (``data.packing``, ``collate_packed``) carry ``position_ids`` that restart at 0 for each example.
    Then the backbone gets those position ids and ``attention_mask=None``: transformers (5.x, masking_utils) detects
    packed sequences from the position ids only when there is no 2D mask and no cache, and then confines attention to
    each example (per layer type, so sliding-window layers keep their window). The batch's own ``attention_mask`` only
    marks real tokens there. ``use_cache=False`` matters: with a cache the detection is skipped and examples would
    attend to each other. Flash-attention kernels find packed sequences only in a single flattened row
    (``modeling_flash_attention_utils._is_packed_sequence`` needs batch size 1), so for them the rows are joined into
    one [1, B*T] row (each row starts a new segment at position 0) and the hidden states split back.

    ``packed_attention="varlen"`` (``model.packed_attention``): packed rows go through variable-length flash
    attention from the batch's ``cu_seqlens`` instead of a mask (``varlen_attention.py``); unpacked batches are
    unaffected.
    """
    own_backbone, head, config = _backbone_and_head(model)
    backbone = own_backbone if backbone is None else backbone
    position_ids = batch.get("position_ids")
    if position_ids is not None and packed_attention == "varlen":
        hidden = _varlen_forward(backbone, config, batch["input_ids"], position_ids, batch.get("cu_seqlens"))
    elif position_ids is not None:  # packed rows: the position ids alone delimit the examples
        hidden = _packed_forward(backbone, config, batch["input_ids"], position_ids)
    else:
        hidden = backbone(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"),
                          use_cache=False).last_hidden_state
    return completion_cross_entropy(
        hidden, head.weight, batch["labels"],
        logit_softcap=getattr(config, "final_logit_softcapping", None),
        chunk_size=chunk_size, lm_head_bias=getattr(head, "bias", None), kernel=kernel,
        num_labelled=batch.get("num_labelled"),
    )


def flattens_packed_rows(config: Any, rows: int) -> bool:
    """Whether packed rows must be joined into one row for this model's attention kernel (flash-attention variants:
    they detect packed sequences from position ids only at batch size 1; sdpa, eager and flex do per row)."""
    return rows > 1 and "flash" in str(getattr(config, "_attn_implementation", None) or "")


def _packed_forward(backbone: torch.nn.Module, config: Any, input_ids: Tensor, position_ids: Tensor) -> Tensor:
    """Backbone hidden states [B, T, H] of packed rows: position ids, no attention mask, no cache."""
    shape = input_ids.shape
    if flattens_packed_rows(config, shape[0]):
        input_ids, position_ids = input_ids.reshape(1, -1), position_ids.reshape(1, -1)
    hidden = backbone(input_ids=input_ids, position_ids=position_ids, attention_mask=None,
                      use_cache=False).last_hidden_state
    return hidden.reshape(*shape, hidden.shape[-1])


def _varlen_forward(backbone: torch.nn.Module, config: Any, input_ids: Tensor, position_ids: Tensor,
                    cu_seqlens: Tensor | None) -> Tensor:
    """Backbone hidden states [B, T, H] of packed rows through variable-length attention (``varlen_attention.py``)."""
    if cu_seqlens is None:
        raise ValueError("model.packed_attention='varlen': the packed batch has no cu_seqlens. Fix: build batches with "
                         "DotDataModule (data.packing true), or collate_packed(..., max_segments=...)")
    varlen_attention.register()
    length = input_ids.shape[1]
    with varlen_attention.attention_implementation(config, varlen_attention.NAME):
        return backbone(input_ids=input_ids, position_ids=position_ids, attention_mask=None, use_cache=False,
                        cu_seq_lens_q=cu_seqlens, cu_seq_lens_k=cu_seqlens, max_length_q=length,
                        max_length_k=length).last_hidden_state


def naive_causal_lm_loss(model: torch.nn.Module, batch: Mapping[str, Tensor]) -> Tensor:
    """What a plain transformers + peft script does: full-vocab logits for every position, HF's loss."""
    if batch.get("position_ids") is not None:  # packed rows, as in causal_lm_loss (one row for flash kernels)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        ids, pos, labels = batch["input_ids"], batch["position_ids"], batch["labels"]
        if flattens_packed_rows(base.config, ids.shape[0]):
            ids, pos, labels = ids.reshape(1, -1), pos.reshape(1, -1), labels.reshape(1, -1)
        return model(input_ids=ids, position_ids=pos, attention_mask=None, labels=labels, use_cache=False).loss
    return model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"),
                 labels=batch["labels"], use_cache=False).loss


project_train_step = causal_lm_loss  # name used by scripts/benchmark.py and the brief
