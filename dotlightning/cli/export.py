"""``python -m dotlightning export`` and ``merge``: what training made, in the form a user takes away.

``python -m dotlightning export --ckpt_path last.ckpt --output DIR`` turns a Lightning checkpoint into an adapter;
``python -m dotlightning merge --adapter DIR --output DIR`` merges it into a bf16 copy of the base (never into nf4,
whose rounding would corrupt the merged weights) and saves a model that ``AutoModelForCausalLM.from_pretrained`` loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from dotlightning.model.adapter_export import checkpoint_to_adapter, merged_model
from dotlightning.model.adapter_metadata import ADAPTER_METADATA, read_adapter_metadata

def export(
    ckpt_path: str | None = None,
    output: str | None = None,
    format: Literal["adapter", "gguf"] = "adapter",
    adapter: str | None = None,
    base_model: str | None = None,
    dtype: Literal["bf16", "f16", "f32"] = "bf16",
) -> Path:
    """Export a dotlightning checkpoint as a peft adapter, or an adapter (or checkpoint) as one merged GGUF file.

    Args:
        ckpt_path: A checkpoint written by ``fit`` (it stores the module's hyperparameters and the LoRA weights).
        output: Directory for the peft adapter (format adapter), or the .gguf file to write (format gguf).
        format: adapter (peft's format plus tokenizer and model card) or gguf (the adapter merged into its base, one
            file for llama.cpp and Ollama; see docs/deploy.md).
        adapter: For format gguf: the adapter directory to merge (instead of --ckpt_path).
        base_model: For format gguf: the base to merge into; default: the one recorded with the adapter.
        dtype: For format gguf: tensor type of the weight matrices (norms and biases are always f32).
    """
    if not output:
        raise ValueError("export needs --output (a directory for format adapter, a .gguf file for format gguf)")
    if format == "adapter":
        if not ckpt_path:
            raise ValueError("export --format adapter needs --ckpt_path (a checkpoint written by fit)")
        return checkpoint_to_adapter(ckpt_path, output)
    if format != "gguf":
        raise ValueError(f"export --format {format!r} is not supported. Fix: use adapter or gguf.")
    if (ckpt_path is None) == (adapter is None):
        raise ValueError("export --format gguf needs exactly one of --adapter DIR or --ckpt_path FILE")
    from dotlightning.model.gguf_export import ollama_modelfile, write_gguf

    if ckpt_path is not None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="dotlightning-adapter-") as folder:
            adapter_dir = checkpoint_to_adapter(ckpt_path, folder)
            metadata = read_adapter_metadata(adapter_dir)
            model, tokenizer = merged_model(str(adapter_dir), base_model)
    else:
        metadata = read_adapter_metadata(adapter)
        model, tokenizer = merged_model(adapter, base_model)
    path = write_gguf(model, tokenizer, output, dtype=dtype, name=Path(adapter or ckpt_path).stem)
    # Next to it, for `ollama create NAME -f F.Modelfile` (docs/deploy.md).
    path.with_suffix(".Modelfile").write_text(ollama_modelfile(path, metadata, tokenizer.eos_token) + "\n",
                                              encoding="utf-8")
    return path



def merge(*, adapter: str, output: str, base_model: str | None = None) -> Path:
    """Merge an adapter into a bf16 copy of its base and save the full model and tokenizer.

    Args:
        adapter: A peft adapter directory (as written by fit or export).
        output: Directory for the merged model.
        base_model: The base to merge into; default: the one recorded with the adapter.
    """
    merged, tokenizer = merged_model(adapter, base_model)
    output_path = Path(output)
    merged.save_pretrained(output_path, safe_serialization=True)
    tokenizer.save_pretrained(output_path)
    metadata = read_adapter_metadata(adapter)
    (output_path / ADAPTER_METADATA).write_text(json.dumps({**metadata, "merged_from": str(adapter)}, indent=2) + "\n",
                                                encoding="utf-8")
    return output_path
