"""Published model shapes with random weights, nf4-quantised in place: benchmarks and memory measurements without
downloading a single weight (benchmark.py and measure_memory.py import this).

``SHAPES`` keys are what both scripts' ``--shape`` takes; ``tiny`` is dotlightning.model.tiny's two-layer
Gemma 3 (seconds on CPU, for tests and dry runs).
"""

from __future__ import annotations

import torch

# Published shapes; weights are random.
SHAPES: dict[str, tuple[str, dict]] = {
    "gemma-2b": ("GemmaConfig", dict(
        vocab_size=256000, hidden_size=2048, num_hidden_layers=18, num_attention_heads=8, num_key_value_heads=1,
        head_dim=256, intermediate_size=16384, hidden_act="gelu_pytorch_tanh", tie_word_embeddings=True,
        max_position_embeddings=8192)),
    "phi-2": ("PhiConfig", dict(
        vocab_size=51200, hidden_size=2560, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
        intermediate_size=10240, partial_rotary_factor=0.4, tie_word_embeddings=False,
        max_position_embeddings=2048)),
    "qwen2.5-1.5b": ("Qwen2Config", dict(
        vocab_size=151936, hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
        intermediate_size=8960, tie_word_embeddings=True, max_position_embeddings=32768)),
    # the embedded default (configs/gemma3-270m.yaml): what a user's own consumer GPU has to fit
    "gemma3-270m": ("Gemma3TextConfig", dict(
        vocab_size=262144, hidden_size=640, num_hidden_layers=18, num_attention_heads=4, num_key_value_heads=1,
        head_dim=256, query_pre_attn_scalar=256, intermediate_size=2048, hidden_activation="gelu_pytorch_tanh",
        sliding_window=512, tie_word_embeddings=True, max_position_embeddings=32768)),
    # configs/qwen2.5-coder-0.5b.yaml (Qwen2.5-Coder-0.5B-Instruct's published config)
    "qwen2.5-coder-0.5b": ("Qwen2Config", dict(
        vocab_size=151936, hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
        intermediate_size=4864, tie_word_embeddings=True, max_position_embeddings=32768)),
}
# configs/qwen2.5-coder-1.5b.yaml: Qwen2.5-Coder-1.5B has Qwen2.5-1.5B's shape exactly
SHAPES["qwen2.5-coder-1.5b"] = SHAPES["qwen2.5-1.5b"]
TINY = "tiny"  # dotlightning.model.tiny's model: not a published shape, built by build_base all the same


def build_base(name: str, device: torch.device, dtype: torch.dtype, layers: int | None, quant: str,
               vocab_size: int | None = None):
    """Random-init causal LM of a published shape (or ``tiny``), optionally nf4 and with another vocabulary size; no
    LoRA. Built straight on ``device`` in ``dtype``, so on CUDA the nf4 quantisation runs on the GPU too."""
    import transformers

    torch.manual_seed(0)
    if name == TINY:
        from dotlightning.model.tiny import VOCAB_SIZE, build_tiny_model

        with torch.device(device):
            model = build_tiny_model(vocab_size or VOCAB_SIZE, pad_token_id=0, bos_token_id=2, eos_token_id=1)
    else:
        cls_name, kwargs = SHAPES[name]
        kwargs = dict(kwargs, pad_token_id=0, bos_token_id=2, eos_token_id=1)
        if layers:
            kwargs["num_hidden_layers"] = layers
        if vocab_size:
            kwargs["vocab_size"] = vocab_size
        config = getattr(transformers, cls_name)(**kwargs)
        config._attn_implementation = "sdpa"
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)  # init straight in bf16: no fp32 copy of a 2.5B model
        try:
            with torch.device(device):
                model = transformers.AutoModelForCausalLM.from_config(config)
        finally:
            torch.set_default_dtype(previous)
    model.to(dtype)
    if quant == "nf4":
        quantize_nf4_(model)
    model.config.use_cache = False
    return model


def quantize_nf4_(model: torch.nn.Module) -> None:
    """Swap every nn.Linear except the LM head for a bitsandbytes nf4 Linear4bit (double quant, bf16
    compute), quantising the existing random weights in place: what from_pretrained(load_in_4bit) builds,
    without writing 5 GB of random weights to disk."""
    import bitsandbytes as bnb

    head = model.get_output_embeddings()
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if not isinstance(child, torch.nn.Linear) or child is head:
                continue
            device = child.weight.device
            q = bnb.nn.Linear4bit(child.in_features, child.out_features, bias=child.bias is not None,
                                  compute_dtype=torch.bfloat16, compress_statistics=True, quant_type="nf4",
                                  device="meta")
            q.weight = bnb.nn.Params4bit(child.weight.data, requires_grad=False, compress_statistics=True,
                                         quant_type="nf4", module=q).to(device)
            if child.bias is not None:
                q.bias = torch.nn.Parameter(child.bias.data, requires_grad=False)
            setattr(parent, child_name, q)
    model.is_loaded_in_4bit = True  # peft/transformers read this flag
