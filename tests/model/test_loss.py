"""completion_cross_entropy must equal the full-logits reference (loss and gradients), on random tensors
and through a tiny real Gemma3 + LoRA model, including softcap, bias, all-masked rows and odd chunk sizes."""

import pytest
import torch

from dotlightning.model.loss import (
    causal_lm_loss,
    completion_cross_entropy,
    naive_causal_lm_loss,
    naive_cross_entropy,
)


def _labels(b: int, t: int, vocab: int, gen: torch.Generator) -> torch.Tensor:
    """Prompt-like masked prefix of varying length, right padding, one fully masked row."""
    labels = torch.randint(0, vocab, (b, t), generator=gen)
    for i in range(b):
        labels[i, : 1 + 3 * i] = -100  # prompt
        labels[i, t - i:] = -100  # padding
    labels[-1] = -100
    return labels


def _loss_and_grads(fn, hidden, weight, bias, labels, **kw):
    loss = fn(hidden, weight, labels, lm_head_bias=bias, **kw)
    params = [p for p in (hidden, weight, bias) if p is not None and p.requires_grad]
    # A non-unit upstream factor checks that backward scales the stored gradients.
    return loss, torch.autograd.grad(loss * 1.7, params)


@pytest.mark.parametrize("softcap", [None, 3.0])
@pytest.mark.parametrize("chunk_size", [1, 5, 7, 10_000])
@pytest.mark.parametrize("with_bias", [False, True])
def test_matches_reference_float64(softcap, chunk_size, with_bias):
    gen = torch.Generator().manual_seed(0)
    b, t, h, v = 4, 13, 16, 37
    hidden = torch.randn(b, t, h, dtype=torch.float64, generator=gen, requires_grad=True)
    weight = torch.randn(v, h, dtype=torch.float64, generator=gen, requires_grad=True)
    bias = torch.randn(v, dtype=torch.float64, generator=gen, requires_grad=True) if with_bias else None
    labels = _labels(b, t, v, gen)
    fast, fast_grads = _loss_and_grads(completion_cross_entropy, hidden, weight, bias, labels,
                                       logit_softcap=softcap, chunk_size=chunk_size)
    ref, ref_grads = _loss_and_grads(naive_cross_entropy, hidden, weight, bias, labels, logit_softcap=softcap)
    torch.testing.assert_close(fast, ref, rtol=1e-10, atol=1e-12)
    for g, r in zip(fast_grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-12)
    assert hidden.grad is None  # autograd.grad only


def test_bf16_hidden_and_frozen_head_within_bf16_tolerance():
    gen = torch.Generator().manual_seed(1)
    b, t, h, v = 3, 40, 32, 301
    hidden = torch.randn(b, t, h, generator=gen).bfloat16().requires_grad_()
    weight = (torch.randn(v, h, generator=gen) / h**0.5).bfloat16()  # frozen, as under LoRA
    labels = _labels(b, t, v, gen)
    fast, (g_fast,) = _loss_and_grads(completion_cross_entropy, hidden, weight, None, labels,
                                      logit_softcap=30.0, chunk_size=17)
    ref, (g_ref,) = _loss_and_grads(naive_cross_entropy, hidden, weight, None, labels, logit_softcap=30.0)
    assert fast.dtype == torch.float32 and g_fast.dtype == torch.bfloat16
    torch.testing.assert_close(fast, ref, rtol=2e-3, atol=2e-3)
    torch.testing.assert_close(g_fast.float(), g_ref.float(), rtol=2e-2, atol=1e-4)


def test_all_masked_batch_is_zero_with_zero_grad():
    hidden = torch.randn(2, 6, 8, requires_grad=True)
    weight = torch.randn(10, 8, requires_grad=True)
    labels = torch.full((2, 6), -100)
    labels[:, 0] = 3  # a label on the first position predicts nothing after the shift
    loss = completion_cross_entropy(hidden, weight, labels, logit_softcap=5.0)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(hidden.grad, torch.zeros_like(hidden))
    assert torch.equal(weight.grad, torch.zeros_like(weight))


def test_no_grad_and_bad_labels():
    hidden, weight = torch.randn(1, 4, 8), torch.randn(10, 8)
    with torch.no_grad():
        loss = completion_cross_entropy(hidden, weight, torch.tensor([[-100, 1, 2, 3]]), chunk_size=2)
    assert loss.requires_grad is False
    torch.testing.assert_close(loss, naive_cross_entropy(hidden, weight, torch.tensor([[-100, 1, 2, 3]])))
    with pytest.raises(ValueError, match=r"label ids must be in \[0, 10\)"):
        completion_cross_entropy(hidden, weight, torch.tensor([[-100, 1, 2, 10]]))
    with pytest.raises(ValueError, match="lm_head_weight must be"):
        completion_cross_entropy(hidden, torch.randn(10, 7), torch.tensor([[-100, 1, 2, 3]]))


def _tiny_lora_gemma3(dtype: torch.dtype, softcap: float | None):
    from peft import LoraConfig, get_peft_model
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
        query_pre_attn_scalar=16, intermediate_size=128, vocab_size=509, max_position_embeddings=128,
        final_logit_softcapping=softcap, attn_implementation="eager",
    )
    model = Gemma3ForCausalLM(config).to(dtype)
    lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    return get_peft_model(model, lora)


@pytest.mark.parametrize(("dtype", "softcap", "tol"), [(torch.float32, 30.0, 1e-5), (torch.bfloat16, None, 3e-2)])
def test_tiny_gemma3_lora_loss_and_grads_match_hf(dtype, softcap, tol):
    model = _tiny_lora_gemma3(dtype, softcap)
    gen = torch.Generator().manual_seed(2)
    input_ids = torch.randint(0, 509, (3, 21), generator=gen)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 15:] = 0  # right padding, as the DotDataModule collates
    labels = _labels(3, 21, 509, gen)
    labels[1, 15:] = -100
    batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
    lora_params = [p for n, p in model.named_parameters() if p.requires_grad]
    assert lora_params and all("lora_" in n for n, p in model.named_parameters() if p.requires_grad)

    fast = causal_lm_loss(model, batch, chunk_size=6)
    g_fast = torch.autograd.grad(fast, lora_params)
    ref = naive_causal_lm_loss(model, batch)  # transformers' own logits + loss path
    g_ref = torch.autograd.grad(ref, lora_params)

    torch.testing.assert_close(fast, ref.float(), rtol=tol, atol=tol)
    for g, r in zip(g_fast, g_ref, strict=True):
        scale = r.float().abs().max().clamp(min=1e-12)
        assert ((g.float() - r.float()).abs().max() / scale).item() < tol * 5


# --------------------------------------------------------------------------- kernels and sync-free row selection
@pytest.mark.parametrize("softcap", [None, 30.0])
@pytest.mark.parametrize("with_bias", [False, True])
def test_fused_kernel_matches_eager_chunks(softcap, with_bias):
    """The compiled elementwise path (what `auto` runs on a GPU) gives the eager chunks' loss and gradients."""
    import torch._inductor.config

    # Scalar C++ kernels, as in tests/model/test_module.py: Inductor's precompiled-header cache breaks SIMD kernels built
    # after scalar ones in one process.
    with torch._inductor.config.patch({"cpp.vec_isa_ok": False}):
        _fused_matches_eager(softcap, with_bias)


def _fused_matches_eager(softcap, with_bias):
    gen = torch.Generator().manual_seed(1)
    hidden = torch.randn(3, 21, 32, generator=gen, requires_grad=True)
    weight = (torch.randn(300, 32, generator=gen) * 0.1).requires_grad_()
    bias = (torch.randn(300, generator=gen) * 0.1).requires_grad_() if with_bias else None
    labels = _labels(3, 21, 300, gen)
    eager = _loss_and_grads(completion_cross_entropy, hidden, weight, bias, labels, logit_softcap=softcap,
                            chunk_size=8, kernel="chunked")
    fused = _loss_and_grads(completion_cross_entropy, hidden, weight, bias, labels, logit_softcap=softcap,
                            chunk_size=8, kernel="fused")
    torch.testing.assert_close(fused[0], eager[0], atol=1e-6, rtol=1e-5)
    for got, want in zip(fused[1], eager[1]):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


def test_num_labelled_selects_the_same_rows_without_sync_and_still_checks_labels():
    gen = torch.Generator().manual_seed(2)
    hidden = torch.randn(4, 11, 16, generator=gen, requires_grad=True)
    weight = torch.randn(40, 16, generator=gen)
    labels = _labels(4, 11, 40, gen)
    count = int((labels[:, 1:] != -100).sum())
    synced = _loss_and_grads(completion_cross_entropy, hidden, weight, None, labels, chunk_size=3)
    sync_free = _loss_and_grads(completion_cross_entropy, hidden, weight, None, labels, chunk_size=3,
                                num_labelled=count)
    assert torch.equal(synced[0], sync_free[0]) and torch.equal(synced[1][0], sync_free[1][0])
    labels[0, -3] = 40  # out of the vocabulary
    with pytest.raises(RuntimeError, match=r"label ids must be in \[0, 40\)"):
        completion_cross_entropy(hidden, weight, labels, num_labelled=count)


def test_kernel_choice_on_cpu():
    hidden, weight = torch.randn(1, 4, 8), torch.randn(10, 8)
    labels = torch.tensor([[-100, 1, 2, 3]])
    reference = completion_cross_entropy(hidden, weight, labels, kernel="chunked")
    assert torch.equal(completion_cross_entropy(hidden, weight, labels, kernel="auto"), reference)  # CPU: chunked
    for removed in ("cce", "cce-exact", "liger"):  # measured, removed: the error names the valid ones
        with pytest.raises(ValueError, match=rf"loss_kernel '{removed}' was removed.*Fix: use one of auto, chunked, fused"):
            completion_cross_entropy(hidden, weight, labels, kernel=removed)
    with pytest.raises(ValueError, match="loss kernel must be"):
        completion_cross_entropy(hidden, weight, labels, kernel="fast")
