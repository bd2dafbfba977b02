"""Hand back what training made: the LoRA adapter in peft's own format, or a full model with it merged in.

``python -m dotlightning export --ckpt_path last.ckpt --output DIR`` turns a Lightning checkpoint into an adapter;
``python -m dotlightning merge --adapter DIR --output DIR`` merges it into a bf16 copy of the base (never into nf4,
whose rounding would corrupt the merged weights) and saves a model that ``AutoModelForCausalLM.from_pretrained`` loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

ADAPTER_METADATA = "dotlightning.json"


def export_adapter(module, output: str | Path, datamodule=None) -> Path:
    """Save ``module``'s adapter (``adapter_config.json`` + ``adapter_model.safetensors``) and how to prompt it."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    module.model.save_pretrained(output, safe_serialization=True)
    metadata = {"base_model": module.hparams.base_model, "quantization": module.hparams.quantization}
    if datamodule is not None:
        metadata |= {
            "prompt_style": getattr(datamodule, "prompt_style", "tags"),
            "system_prompt": getattr(datamodule, "system_prompt", None),
            "max_seq_length": getattr(datamodule, "max_seq_length", None),
        }
    (output / ADAPTER_METADATA).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return output  # no tokenizer copy: it is the base model's (33 MB for Gemma's 262k vocabulary)


class CheckpointMismatchError(RuntimeError):
    """A checkpoint or adapter was trained on a different base model than the one configured."""


def check_adapter_base(adapter: str | Path, base_model: str) -> None:
    """Refuse an adapter trained on another base, naming both."""
    trained_on = read_adapter_metadata(adapter).get("base_model")
    if trained_on and trained_on != base_model:
        raise CheckpointMismatchError(
            f"adapter {str(adapter)!r} was trained on base_model {trained_on!r}, but this run uses {base_model!r}; "
            "set model.base_model to the adapter's base"
        )


def read_adapter_metadata(adapter: str | Path) -> dict:
    path = Path(adapter) / ADAPTER_METADATA
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def export(ckpt_path: str, output: str) -> Path:
    """Export the adapter held in a dotlightning checkpoint.

    Args:
        ckpt_path: A checkpoint written by ``fit`` (it stores the module's hyperparameters and the LoRA weights).
        output: Directory for the peft adapter.
    """
    from dotlightning.model import DotLoRAModule

    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    module = DotLoRAModule(**checkpoint["hyper_parameters"])
    module.configure_model()
    module.on_load_checkpoint(checkpoint)
    module.load_state_dict(checkpoint["state_dict"], strict=False)
    return export_adapter(module, output)


def merge(adapter: str, output: str, base_model: str | None = None) -> Path:
    """Merge an adapter into a bf16 copy of its base and save the full model and tokenizer.

    Args:
        adapter: A peft adapter directory (as written by fit or export).
        output: Directory for the merged model.
        base_model: The base to merge into; default: the one recorded with the adapter.
    """
    from peft import PeftModel

    from dotlightning.base_models import load_base_model, load_tokenizer

    base_model = base_model or read_adapter_metadata(adapter).get("base_model")
    if not base_model:
        raise ValueError(f"{adapter}: no {ADAPTER_METADATA} names the base model; pass --base_model")
    check_adapter_base(adapter, base_model)
    base = load_base_model(base_model, quantization="none", dtype=torch.bfloat16)
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    output_path = Path(output)
    merged.save_pretrained(output_path, safe_serialization=True)
    load_tokenizer(base_model).save_pretrained(output_path)
    return output_path
