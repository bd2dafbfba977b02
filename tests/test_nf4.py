"""dotlightning.nf4 reads bitsandbytes' nf4 storage with plain tensor ops: the dense weight must be bit-for-bit
bitsandbytes' own, and a layer routed through it must give bitsandbytes' output and input gradient, eagerly and
compiled (which is the point: Inductor can fuse ops, not bitsandbytes' CUDA kernels)."""

import pytest
import torch

bnb = pytest.importorskip("bitsandbytes")

from dotlightning.nf4 import dense_weight, quant_state_tensors, use_torch_nf4  # noqa: E402


def _nf4_layer(out_features: int, in_features: int, *, nested: bool = True, bias: bool = False, seed: int = 0):
    torch.manual_seed(seed)
    layer = bnb.nn.Linear4bit(in_features, out_features, bias=bias, compute_dtype=torch.bfloat16,
                              compress_statistics=nested, quant_type="nf4")
    weight = torch.randn(out_features, in_features, dtype=torch.bfloat16)
    layer.weight = bnb.nn.Params4bit(weight, requires_grad=False, compress_statistics=nested, quant_type="nf4",
                                     module=layer)
    if bias:
        layer.bias = torch.nn.Parameter(torch.randn(out_features, dtype=torch.bfloat16), requires_grad=False)
    return layer.to("cpu")


@pytest.mark.parametrize("shape", [(512, 256), (96, 40), (7, 5), (3, 1)])  # 7x5 and 3x1: partial last block, odd count
@pytest.mark.parametrize("nested", [True, False])
def test_dense_weight_is_bit_exact(shape, nested):
    layer = _nf4_layer(*shape, nested=nested)
    reference = bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state)
    tensors, constants = quant_state_tensors(layer.weight)
    ours = dense_weight(tensors, constants, reference.dtype)
    assert ours.shape == reference.shape and torch.equal(ours, reference)


def _forward_backward(layer, x, upstream):
    x = x.detach().requires_grad_()
    out = layer(x)
    out.backward(upstream)
    return out.detach(), x.grad


@pytest.mark.parametrize("bias", [False, True])
def test_routed_layer_matches_bitsandbytes_and_can_be_switched_back(bias):
    reference_layer, layer = _nf4_layer(64, 128, bias=bias), _nf4_layer(64, 128, bias=bias)
    x, upstream = torch.randn(6, 128, dtype=torch.bfloat16), torch.randn(6, 64, dtype=torch.bfloat16)
    want = _forward_backward(reference_layer, x, upstream)
    assert use_torch_nf4(layer) == 1 and "forward" in layer.__dict__
    got = _forward_backward(layer, x, upstream)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    assert use_torch_nf4(layer, enabled=False) == 1 and "forward" not in layer.__dict__
    assert isinstance(layer, bnb.nn.Linear4bit)  # peft and transformers still see a Linear4bit


@pytest.fixture
def scalar_cpp_kernels():
    """Inductor's C++ kernels without SIMD, as tests/test_model.py compiles them: faster to build on 2 cores, and
    Inductor's precompiled-header cache breaks SIMD kernels built after scalar ones in the same process. (Through
    config.patch: pytest's monkeypatch cannot restore torch's context-variable config entries.)"""
    import torch._inductor.config

    with torch._inductor.config.patch({"cpp.vec_isa_ok": False}):
        yield


@pytest.mark.parametrize("save_dense_weight", [False, True])
def test_compiled_layer_matches_and_recomputes_the_dense_weight(save_dense_weight, scalar_cpp_kernels):
    reference_layer, layer = _nf4_layer(64, 128), _nf4_layer(64, 128)
    use_torch_nf4(layer, save_dense_weight=save_dense_weight)
    block = torch.nn.Sequential(layer, torch.nn.GELU())
    compiled = torch.compile(block, dynamic=False)
    x, upstream = torch.randn(6, 128, dtype=torch.bfloat16), torch.randn(6, 64, dtype=torch.bfloat16)
    want = _forward_backward(torch.nn.Sequential(reference_layer, torch.nn.GELU()), x, upstream)
    saved: list[torch.Size] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.shape) or t, lambda t: t):
        got = _forward_backward(compiled, x, upstream)
    for got_tensor, want_tensor in zip(got, want):  # the GELU compiled vs eager differs by bf16 rounding only
        torch.testing.assert_close(got_tensor, want_tensor, atol=2e-2, rtol=2e-2)
    # Recomputed in backward by default; kept (2 bytes per weight) only when asked for.
    assert (torch.Size([64, 128]) in saved) == save_dense_weight
