"""model.compile_scope='layers' (regional compilation): one compiled decoder layer for every layer, eager's loss and
LoRA gradients on packed batches, with and without gradient checkpointing, and nothing compiled outside training."""

from __future__ import annotations

import pytest
import torch

from dotlightning.model.compilation import compile_for_training, decoder_layers
from dotlightning.model.loss import causal_lm_loss
from helpers import make_data, make_module


def lora_grads(module) -> dict[str, torch.Tensor]:
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.requires_grad}


def randomize_lora_b(module) -> None:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)


@pytest.mark.parametrize("checkpointing, packed_attention", [(False, "sdpa"), (True, "sdpa"), (False, "varlen")])
def test_layers_scope_compiles_one_layer_for_all_and_matches_eager(pair_files, checkpointing, packed_attention):
    """Inductor on CPU (scalar kernels: a faster cold compile). The tiny model's two layers are of one kind, so the
    compiled layer is traced once and reused (a recompile per layer would make a 2B model's compile as long as the
    whole backbone's); loss and every LoRA gradient equal the eager step's on two packed batches; the layers are
    eager again outside the training forward (validation and generation must not compile). With
    ``packed_attention='varlen'`` the compiled step (varlen attention from cu_seqlens, no mask) equals eager sdpa's."""
    import torch._dynamo
    import torch._inductor.config
    from torch._dynamo.utils import counters

    module = make_module(dtype="float32", compile="default", compile_scope="layers",
                         gradient_checkpointing=checkpointing)
    module.configure_model()
    randomize_lora_b(module)
    layers = decoder_layers(module.model.get_base_model().model)
    assert len(layers) == 2 and not any(getattr(layer, "gradient_checkpointing", False) for layer in layers)
    data = make_data(module, pair_files, packing=True, pack_length=256, batch_size=2)
    data.setup("fit")
    torch._dynamo.reset()
    counters.clear()
    graphs = []
    with torch._inductor.config.patch({"cpp.vec_isa_ok": False}):
        for batch in list(data.train_dataloader())[:2]:
            module.zero_grad(set_to_none=True)
            eager_loss = causal_lm_loss(module.model, batch)
            eager_loss.backward()
            eager_grads = lora_grads(module)
            module.zero_grad(set_to_none=True)
            loss = causal_lm_loss(module.model, batch, backbone=module._compiled_backbone,
                                  packed_attention=packed_attention)
            loss.backward()
            graphs.append(counters["stats"]["unique_graphs"])
            assert all(layer._compiled_call_impl is None for layer in layers), "layers left compiled after training"
            torch.testing.assert_close(loss.detach(), eager_loss.detach(), rtol=1e-5, atol=1e-6)
            assert all(grad.abs().sum() > 0 for grad in eager_grads.values())
            for name, grad in eager_grads.items():
                torch.testing.assert_close(lora_grads(module)[name], grad, rtol=1e-4, atol=1e-7, msg=name)
        module.eval()
        with torch.no_grad():
            causal_lm_loss(module.model, batch)  # validation's forward: eager, nothing compiled
    torch._dynamo.reset()
    assert graphs == [1, 1], f"the decoder layer must compile once for both layers and both batches: {graphs}"
    assert counters["stats"]["unique_graphs"] == 1


def test_layers_scope_needs_decoder_layers():
    with pytest.raises(TypeError, match="no `.layers` list.*Fix: set model.compile_scope to 'backbone'"):
        compile_for_training(torch.nn.Linear(2, 2), "default", "layers", checkpointing=False)
    with pytest.raises(ValueError, match="compile_scope must be 'auto', 'layers' or 'backbone'.*Fix"):
        make_module(compile="default", compile_scope="blocks")


@pytest.mark.parametrize("checkpointing, expected", [(False, "layers"), (True, "backbone")])
def test_compile_scope_auto_compiles_layers_without_checkpointing_and_the_backbone_with_it(checkpointing, expected):
    """The default scope: regional compilation where it was measured on a GPU (no checkpointing: 8 s to compile
    instead of 52 s, as fast after), the whole stack with checkpointing; the module says which it compiled."""
    from dotlightning.model.compilation import RegionallyCompiled

    module = make_module(compile="default", gradient_checkpointing=checkpointing)
    assert module.hparams.compile_scope == "auto" and module._compile_scope is None
    module.configure_model()
    assert module._compile_scope == expected
    assert isinstance(module._compiled_backbone, RegionallyCompiled) == (expected == "layers")
    eager = make_module(gradient_checkpointing=checkpointing)
    eager.configure_model()
    assert eager._compile_scope is None and vars(eager).get("_compiled_backbone") is None


def test_compile_auto_is_cuda_graphs_on_cuda_with_few_batch_shapes_and_eager_elsewhere(pair_files, monkeypatch):
    """model.compile='auto' (configs/gemma.yaml): CUDA graphs where they pay (a CUDA device with Triton, packed or
    bucketed batches, no gradient checkpointing), nothing on a CPU, without Triton (Windows wheels), with batches of
    every length or with checkpointing (its memory would be lost); a CPU fit builds no compiled backbone, and the module
    hands its checkpointing setting to the decision."""
    import importlib.util
    from types import SimpleNamespace

    from dotlightning.model.compilation import resolve_compile

    find_spec = importlib.util.find_spec
    triton = {"installed": False}
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: (object() if triton["installed"] else None) if name == "triton"
                        else find_spec(name, *args))
    assert resolve_compile("auto", torch.device("cuda"), SimpleNamespace(packing=True)) is None  # no Triton: eager
    triton["installed"] = True

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    packed, bucketed, ragged = (SimpleNamespace(packing=True, pad_to_multiple_of=None),
                                SimpleNamespace(packing=False, pad_to_multiple_of=64),
                                SimpleNamespace(packing=False, pad_to_multiple_of=None))
    assert resolve_compile("auto", cuda, packed) == resolve_compile("auto", cuda, bucketed) == "reduce-overhead"
    assert resolve_compile("auto", cuda, ragged) is None and resolve_compile("auto", cuda, None) is None
    assert resolve_compile("auto", cpu, packed) is None
    assert resolve_compile("default", cpu, ragged) == "default" and resolve_compile(None, cuda, packed) is None
    # with gradient checkpointing auto stays eager (compiled, the checkpointed step kept its memory on an H100)
    assert resolve_compile("auto", cuda, packed, checkpointing=True) is None
    assert resolve_compile("reduce-overhead", cuda, packed, checkpointing=True) == "reduce-overhead"
    module = make_module(compile="auto")
    module.build(cpu, datamodule=make_data(module, pair_files, packing=True, pack_length=256))
    assert module._compile_mode is None and module._compiled_backbone is None
    import dotlightning.model.module as module_py
    seen = []
    monkeypatch.setattr(module_py, "resolve_compile", lambda *args, **kwargs: seen.append(args) or None)
    make_module(compile="auto", gradient_checkpointing=True).build(cpu)
    assert seen == [("auto", cpu, None, True)]
