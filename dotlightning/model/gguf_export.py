"""One merged GGUF file from an adapter, for llama.cpp and Ollama: ``export --format gguf``.

Why a converter of our own: llama.cpp's ``convert_hf_to_gguf.py`` is not published as a Python package (the ``gguf``
package on PyPI is its reader/writer library, without the converter), and the PyPI packages that wrap it are one-person
forks we cannot vouch for. The two architectures dotlightning trains (Gemma 3 and Qwen2) need little: the tensor names
come from ``gguf``'s own ``TensorNameMap``, the hyperparameters are the ones llama.cpp's converter writes, and the
tokenizer is read back from the Hugging Face tokenizer (byte-level BPE as ``gpt2`` with merges; Gemma's
sentencepiece-style vocabulary as ``llama``). Two details matter for equal outputs:

- Gemma's RMSNorm multiplies by ``1 + weight``; GGUF stores ``1 + weight`` (llama.cpp does, and transformers' GGUF
  loader subtracts 1 again), always in F32, because ``1 + w`` in bf16 would round ``w`` away.
- The chat template is the training format's (``adapter_export.with_training_chat_template``), so llama.cpp's and Ollama's
  chat endpoints prompt the model as it was trained.

The round trip (``generate --adapter "" --base_model F.gguf`` writes the same DOT as the adapter) is tested on the tiny
Gemma 3; Qwen2 follows the same code with llama.cpp's Qwen2 names and has no test here (no Qwen weights in tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import torch

GGUFDtype = Literal["bf16", "f16", "f32"]
ARCHITECTURES = {"gemma3_text": "gemma3", "gemma3": "gemma3", "qwen2": "qwen2"}
"""transformers model_type -> GGUF architecture name."""


def _rope_theta(config, layer_type: str = "full_attention") -> float | None:
    """rope_theta from a transformers 5 ``rope_parameters`` (flat, or one dict per layer type) or the older field."""
    params = getattr(config, "rope_parameters", None) or {}
    if layer_type in params and isinstance(params[layer_type], dict):
        params = params[layer_type]
    return params.get("rope_theta", getattr(config, "rope_theta", None))


def _write_hyperparameters(writer, config, arch: str) -> None:
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    theta = _rope_theta(config)
    if theta is not None:
        writer.add_rope_freq_base(float(theta))
    if arch == "gemma3":
        writer.add_key_length(config.head_dim)
        writer.add_value_length(config.head_dim)
        writer.add_sliding_window(config.sliding_window)
        local = _rope_theta(config, "sliding_attention")
        if local is not None:
            writer.add_rope_freq_base_swa(float(local))
        if config.query_pre_attn_scalar != config.head_dim:
            # llama.cpp scales attention by 1/sqrt(head_dim) (Gemma 3 27B aside); anything else would not match.
            raise ValueError(f"query_pre_attn_scalar {config.query_pre_attn_scalar} != head_dim {config.head_dim}: "
                             "llama.cpp cannot express this Gemma 3 variant. Fix: export with merge instead.")


def _token_types(tokenizer, tokens: list[str], sentencepiece: bool) -> list[int]:
    import gguf

    added = {token.content: token for token in tokenizer.added_tokens_decoder.values()}
    types = []
    for token in tokens:
        if token in added:
            types.append(gguf.TokenType.CONTROL if added[token].special else gguf.TokenType.USER_DEFINED)
        elif token == tokenizer.unk_token:
            types.append(gguf.TokenType.UNKNOWN)
        elif token.startswith("[PAD") and token not in tokenizer.get_vocab():
            types.append(gguf.TokenType.UNUSED)
        elif sentencepiece and len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    return types


def _write_tokenizer(writer, tokenizer, vocab_size: int, arch: str) -> None:
    from dotlightning.data.prompts import uses_bos

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    if model.get("type") != "BPE":
        raise ValueError(f"tokenizer model {model.get('type')!r} is not BPE; only BPE vocabularies export to GGUF here")
    by_id = {index: token for token, index in tokenizer.get_vocab().items()}
    tokens = [by_id.get(index, f"[PAD{index}]") for index in range(max(vocab_size, len(by_id)))]
    byte_level = "ByteLevel" in json.dumps(spec.get("pre_tokenizer")) or "ByteLevel" in json.dumps(spec.get("decoder"))
    writer.add_tokenizer_model("gpt2" if byte_level else "llama")
    writer.add_tokenizer_pre({"qwen2": "qwen2"}.get(arch, "default") if byte_level else "default")
    writer.add_token_list(tokens)
    writer.add_token_types(_token_types(tokenizer, tokens, sentencepiece=not byte_level))
    merges = [merge if isinstance(merge, str) else " ".join(merge) for merge in model.get("merges", [])]
    if byte_level:
        writer.add_token_merges(merges)
    else:  # sentencepiece style: llama.cpp ranks by score; transformers' Gemma loader by order. -id serves both.
        writer.add_token_scores([-float(index) for index in range(len(tokens))])
        writer.add_add_space_prefix(False)
    for name, add in (("bos", writer.add_bos_token_id), ("eos", writer.add_eos_token_id),
                      ("unk", writer.add_unk_token_id), ("pad", writer.add_pad_token_id)):
        token_id = getattr(tokenizer, f"{name}_token_id")
        if token_id is not None:
            add(token_id)
    writer.add_add_bos_token(uses_bos(tokenizer))
    writer.add_add_eos_token(False)
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)


def write_gguf(model, tokenizer, output: str | Path, dtype: GGUFDtype = "bf16", name: str | None = None) -> Path:
    """Write a (merged) transformers causal LM and its tokenizer as one GGUF file."""
    import gguf

    config = model.config
    arch = ARCHITECTURES.get(config.model_type)
    if arch is None:
        raise ValueError(f"GGUF export supports {sorted(set(ARCHITECTURES.values()))} models, not {config.model_type!r}. "
                         "Fix: use `merge` and llama.cpp's convert_hf_to_gguf.py on the merged directory.")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(output), arch)
    writer.add_name(name or output.stem)
    file_type = {"bf16": gguf.LlamaFileType.MOSTLY_BF16, "f16": gguf.LlamaFileType.MOSTLY_F16,
                 "f32": gguf.LlamaFileType.ALL_F32}[dtype]
    writer.add_file_type(file_type)
    _write_hyperparameters(writer, config, arch)
    _write_tokenizer(writer, tokenizer, config.vocab_size, arch)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd when there is no output tensor
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ValueError(f"no GGUF name for tensor {hf_name!r} ({arch}); this model has a layer the exporter "
                             "does not know. Fix: use `merge` and llama.cpp's convert_hf_to_gguf.py.")
        data = tensor.detach().to(torch.float32).cpu().numpy()
        if arch == "gemma3" and hf_name.endswith("norm.weight"):
            data = data + 1.0
        if data.ndim <= 1 or dtype == "f32":
            writer.add_tensor(gguf_name, data.astype(np.float32))
        elif dtype == "f16":
            writer.add_tensor(gguf_name, data.astype(np.float16))
        else:
            writer.add_tensor(gguf_name, gguf.quants.quantize(data, gguf.GGMLQuantizationType.BF16),
                              raw_dtype=gguf.GGMLQuantizationType.BF16)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return output


def ollama_modelfile(gguf_file: str | Path, metadata: dict, eos_token: str | None = None) -> str:
    r'''An Ollama Modelfile for the exported GGUF whose TEMPLATE writes the training prompt (tags style) exactly:
    ``<system>{system}</system>\n<user>{prompt}</user>\n<assistant>`` (llama.cpp adds BOS itself where the
    tokenizer uses one). Greedy decoding, as dotlightning scores. Chat style: Ollama reads the template from the GGUF.

    >>> print(ollama_modelfile("dot.gguf", {"system_prompt": "Sys."}, "<eos>"))  # doctest: +NORMALIZE_WHITESPACE
    FROM ./dot.gguf
    TEMPLATE """<system>{{ if .System }}{{ .System }}{{ else }}Sys.{{ end }}</system>
    <user>{{ .Prompt }}</user>
    <assistant>"""
    SYSTEM """Sys."""
    PARAMETER temperature 0
    PARAMETER num_predict 1024
    PARAMETER stop "<eos>"
    '''
    from dotlightning.data.prompts import DEFAULT_SYSTEM

    system = metadata.get("system_prompt") or DEFAULT_SYSTEM
    lines = [f"FROM ./{Path(gguf_file).name}"]
    if metadata.get("prompt_style", "tags") == "tags":
        lines += ['TEMPLATE """<system>{{ if .System }}{{ .System }}{{ else }}' + system + "{{ end }}</system>",
                  "<user>{{ .Prompt }}</user>", '<assistant>"""']
    lines += [f'SYSTEM """{system}"""', "PARAMETER temperature 0", "PARAMETER num_predict 1024"]
    if eos_token:
        lines.append(f'PARAMETER stop "{eos_token}"')
    return "\n".join(lines)
