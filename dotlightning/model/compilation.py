"""What ``model.compile`` compiles for the training forward: the whole decoder stack, or each decoder layer.

``backbone``: ``torch.compile`` of the decoder stack as one graph (embedding, mask construction, every layer, the final
norm). Compiling 18 Gemma-2B layers forward and backward took 64 s on an H200 (2026-12-03), a third of a 3-epoch
packed fit of the shipped data.

``layers`` (regional compilation): one compiled function runs a decoder layer, and every layer calls it. The layers
share its code, so Dynamo traces and Inductor compiles one layer forward and backward (one graph per distinct layer
kind: Gemma 3's sliding and full layers are two) and the other layers reuse it; the embedding, rotary tables, mask
construction and final norm run eager. With ``mode="reduce-overhead"`` each layer call replays its own CUDA graph.
Gradient checkpointing then goes inside the compiled layer (``torch.utils.checkpoint`` under Dynamo: the recompute
is part of the compiled backward), the same in every transformers version (5.17 checkpoints in the layer's
``__call__``, 5.25 in its ``forward``); transformers' own per-layer flag is turned off so it does not checkpoint twice.

``auto`` (the default, ``resolve_compile_scope``): ``layers`` without gradient checkpointing, where an H100 measured it
(8 s to compile against 52 s, as fast after), ``backbone`` with checkpointing. (``model.compile: auto`` itself stays
eager with checkpointing, ``resolve_compile``: the scope matters there only for a compile mode set by hand.)

Either way the compiled path is used by the training forward only: the returned callable is what ``causal_lm_loss``
gets as ``backbone``. For ``layers`` it routes the layers through the compiled function for the length of that call
(``nn.Module._compiled_call_impl``, what ``nn.Module.compile`` sets) and restores them afterwards, so validation,
test and generation (KV-cache decoding, a new shape every token) stay eager.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any, Callable, Literal

import torch
import torch._dynamo

CompileScope = Literal["auto", "layers", "backbone"]
CompileMode = Literal["auto", "default", "reduce-overhead"]


def resolve_compile(mode: str | None, device: torch.device, datamodule: Any = None,
                    checkpointing: bool = False) -> str | None:
    """The compile mode a fit runs with. ``auto``: ``reduce-overhead`` (CUDA graphs) on a CUDA device when the training
    batches come in one shape (``data.packing``) or a few (``data.pad_to_multiple_of``), Triton is installed and
    gradient checkpointing is off, else none: on a CPU, without Triton, or with batches of every length (each would
    compile), the step stays eager. With checkpointing it stays eager too: compiled, the checkpointed step kept its
    memory on the GPU (one H100, 2026-12-08, results/2026-12-08-h100-perf-2/: Gemma-2B shape, 4 x 1024 packed, 8.2-8.4
    GiB against 9.1-9.3 GiB without checkpointing, where eager checkpointing keeps 3.3 GiB), so compiling would void the
    memory that checkpointing is switched on for. Other values are used as given.

    >>> resolve_compile("auto", torch.device("cpu")), resolve_compile("default", torch.device("cpu"))
    (None, 'default')
    """
    if mode != "auto":
        return mode
    few_shapes = getattr(datamodule, "packing", False) is True or getattr(datamodule, "pad_to_multiple_of", None)
    # torch.compile on a GPU needs Triton (absent from Windows wheels): without it the step stays eager, not broken
    has_triton = importlib.util.find_spec("triton") is not None
    compiles = device.type == "cuda" and few_shapes and has_triton and not checkpointing
    return "reduce-overhead" if compiles else None


def check_compile_scope(scope: str) -> None:
    """Refuse a ``model.compile_scope`` other than ``auto``, ``layers`` or ``backbone`` (checked when the module is
    made)."""
    if scope not in ("auto", "layers", "backbone"):
        raise ValueError(f"model.compile_scope must be 'auto', 'layers' or 'backbone', got {scope!r}. "
                         "Fix: use one of those.")


def resolve_compile_scope(scope: str, checkpointing: bool, backbone: torch.nn.Module | None = None) -> str:
    """The scope a fit compiles with. ``auto``: ``layers`` without gradient checkpointing when the backbone has a list
    of decoder layers, else ``backbone``. Measured on one H100 (2026-12-08, results/2026-12-08-h100-perf/): without
    checkpointing, the random Gemma-2B shape at 4 x 1024 packed compiled in 8 s with ``layers`` against 52 s with
    ``backbone`` and then ran as fast (28.1k against 27.5k tok/s); with checkpointing ``layers`` has not been measured on
    a GPU, so it stays ``backbone`` there. Other values are used as given.

    >>> resolve_compile_scope("auto", checkpointing=False), resolve_compile_scope("auto", checkpointing=True)
    ('layers', 'backbone')
    >>> resolve_compile_scope("auto", False, torch.nn.Linear(2, 2)), resolve_compile_scope("layers", True)
    ('backbone', 'layers')
    """
    if scope != "auto":
        return scope
    layers = getattr(backbone, "layers", None)
    has_layers = backbone is None or (isinstance(layers, torch.nn.ModuleList) and len(layers) > 0)
    return "layers" if not checkpointing and has_layers else "backbone"


def decoder_layers(backbone: torch.nn.Module) -> torch.nn.ModuleList:
    """The repeated decoder layers of a transformers backbone (``.layers`` on Gemma, Qwen2, Phi, Llama)."""
    layers = getattr(backbone, "layers", None)
    if not isinstance(layers, torch.nn.ModuleList) or not len(layers):
        raise TypeError(f"model.compile_scope='layers': {type(backbone).__name__} has no `.layers` list of decoder "
                        "layers. Fix: set model.compile_scope to 'backbone'.")
    return layers


def _run_layer(layer: torch.nn.Module, checkpointing: bool, *args: Any, **kwargs: Any) -> Any:
    """One decoder layer, optionally checkpointed; compiled once (``_COMPILED``) and called by every layer."""
    if checkpointing:
        return torch.utils.checkpoint.checkpoint(layer._call_impl, *args, use_reentrant=False, **kwargs)
    return layer._call_impl(*args, **kwargs)


class RegionallyCompiled:
    """Calls ``backbone`` with each decoder layer routed through ``compiled_layer`` (see the module docstring)."""

    def __init__(self, backbone: torch.nn.Module, compiled_layer: Callable[..., Any], checkpointing: bool) -> None:
        self.backbone = backbone
        self.layers = decoder_layers(backbone)
        self.calls = [functools.partial(compiled_layer, layer, checkpointing) for layer in self.layers]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for layer, call in zip(self.layers, self.calls):
            layer._compiled_call_impl = call
        # The frozen embedding's output needs no gradient, the later layers' inputs do (LoRA): two graphs, and twice
        # the compile time, unless the first layer's input requires grad too (the embedding runs eager: no graph break).
        hook = self.backbone.get_input_embeddings().register_forward_hook(_output_requires_grad)
        try:
            return self.backbone(*args, **kwargs)
        finally:
            hook.remove()
            for layer in self.layers:
                layer._compiled_call_impl = None


def _output_requires_grad(module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> None:
    if torch.is_grad_enabled() and not output.requires_grad:
        output.requires_grad_(True)


def compile_for_training(backbone: torch.nn.Module, mode: str, scope: CompileScope,
                         checkpointing: bool) -> Callable[..., Any]:
    """The callable ``causal_lm_loss`` runs as the backbone in training (``model.compile``, ``model.compile_scope``).

    ``checkpointing``: gradient checkpointing is on. For ``backbone`` transformers' own checkpointing (already
    enabled on the model) is traced into the graph; for ``layers`` it moves into the compiled layer.
    """
    check_compile_scope(scope)
    scope = resolve_compile_scope(scope, checkpointing, backbone)
    if scope == "backbone":
        return torch.compile(backbone, dynamic=False, mode=mode)
    layers = decoder_layers(backbone)
    if checkpointing and hasattr(torch._dynamo.config, "skip_fwd_side_effects_in_bwd_under_checkpoint"):
        # With the `kernels` package installed, transformers' hub-kernel layers set a context variable in forward: a
        # side effect that Dynamo refuses to replay in the checkpoint's recompute, and the whole layer would run eager.
        # Not replaying it is harmless (it selects a kernel, which the compiled graph has already fixed).
        torch._dynamo.config.skip_fwd_side_effects_in_bwd_under_checkpoint = True
    if checkpointing:
        for layer in layers:  # checkpointed inside the compiled layer instead (transformers 5.17 would do it outside)
            layer.gradient_checkpointing = False
    return RegionallyCompiled(backbone, torch.compile(_run_layer, dynamic=False, mode=mode), checkpointing)
