#!/usr/bin/env python
"""Peak GPU memory and tokens/s of QLoRA training at a fixed worst-case shape: every row of the batch full length.

    python scripts/measure_memory.py --config configs/gemma.yaml --shape gemma-2b            # random weights
    python scripts/measure_memory.py --config configs/gemma.yaml --shape gemma-2b --gradient_checkpointing 0 --packing 1
    python scripts/measure_memory.py --base_model embedded:qwen2.5-coder-1.5b-instruct --batch 4 --length 512
    python scripts/measure_memory.py --config configs/tiny.yaml --shape tiny --device cpu      # dry run, seconds
    bash scripts/gpu_memory.sh memory.jsonl        # every shipped config x {gc on, off} x {unpacked, packed}

A short copy of the real training step (nanoGPT's bench.py idea): DotLoRAModule.build wraps the base with LoRA exactly
as `fit` does (``--shape``: a published shape with random weights from scripts/random_shapes.py, nf4-quantised in
place on the device, handed to build as ``base``; otherwise the real weights of ``--base_model``), the batch comes from
dotlightning.data.batches.collate (or collate_packed with ``--packing 1``), the loss is the module's own training_step, and the
optimizer is AdamW on the LoRA weights (fused on CUDA, as configure_optimizers makes it).

``--config``: batch_size, max_seq_length (pack_length when packing), accumulate_grad_batches, gradient_checkpointing,
target_modules, lora_r / lora_alpha, quantization, packing and base_model come from the shipped config resolved as the
CLI does (configs/gemma3-270m.yaml first, then the given file, then the classes' own defaults); the flags below
override single values. Real fits meet shorter rows (length-grouped batches), so the peak is an upper bound for
``data.max_seq_length``.

Measured: ``weights_gib`` (allocated after build), ``peak_allocated_gib`` (torch.cuda.max_memory_allocated after a
reset following the build: what an 8 GB card must hold, CUDA context aside; null on CPU), ``peak_reserved_gib`` (what
the caching allocator took), and ``tokens_per_s``: batch x row length x accumulate tokens per optimizer step over the
steps after one warm-up step (every position counts, padding included; rows are full, so there is none unpacked).
Prints one JSON line last; ``--output FILE`` also appends it to FILE.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import shlex
import sys
import time
import warnings
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from random_shapes import SHAPES, TINY, build_base  # noqa: E402

from dotlightning.cli.commands import EMBEDDED_CONFIG, resolve_config  # noqa: E402
from dotlightning.data.batches import collate, collate_packed  # noqa: E402
from dotlightning.data.datamodule import DotDataModule  # noqa: E402
from dotlightning.model.module import DotLoRAModule  # noqa: E402

GIB = 2**30


def _merge(base: dict, override: dict) -> dict:
    """Nested dicts merged key by key (later wins), everything else replaced: jsonargparse's rule for these keys."""
    out = dict(base)
    for key, value in (override or {}).items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def config_settings(path: str | None) -> dict:
    """The knobs that set training memory, from ``path`` resolved as ``python -m dotlightning fit --config path``
    resolves it: the embedded default config first, then ``path``, then DotLoRAModule's / DotDataModule's defaults."""
    merged: dict = yaml.safe_load(EMBEDDED_CONFIG.read_text()) or {}
    if path is not None:
        resolved = Path(resolve_config(path))
        if resolved.resolve() != EMBEDDED_CONFIG.resolve():
            merged = _merge(merged, yaml.safe_load(resolved.read_text()) or {})
    model_defaults = {name: p.default for name, p in inspect.signature(DotLoRAModule.__init__).parameters.items()
                      if p.default is not inspect.Parameter.empty}
    data_defaults = {f.name: f.default for f in dataclasses.fields(DotDataModule)
                     if f.default is not dataclasses.MISSING}
    model = {**model_defaults, **(merged.get("model") or {})}
    data = {**data_defaults, **(merged.get("data") or {})}
    trainer = merged.get("trainer") or {}
    targets = model["target_modules"]
    return {
        "base_model": model["base_model"], "quantization": model["quantization"],
        "target_modules": targets if isinstance(targets, str) else list(targets),
        "lora_r": model["lora_r"], "lora_alpha": model["lora_alpha"], "loss_kernel": model["loss_kernel"],
        "gradient_checkpointing": bool(model["gradient_checkpointing"]),
        "batch_size": data["batch_size"], "max_seq_length": data["max_seq_length"],
        "packing": bool(data["packing"]), "pack_length": data["pack_length"],
        "accumulate": trainer.get("accumulate_grad_batches", 1),  # Trainer's default
    }


def _example(ids: list[int], prompt: int) -> dict:
    return {"input_ids": ids, "labels": [-100] * prompt + ids[prompt:], "prompt_ids": ids[:prompt],
            "prompt": "", "completion": "", "kind": "", "source": "", "id": ""}


def worst_case_batch(s: dict, vocab: int, generator: torch.Generator) -> dict:
    """Every row full: unpacked, ``batch_size`` examples of ``max_seq_length`` tokens (a quarter prompt); packed,
    ``batch_size`` rows of ``pack_length`` filled with the longest examples allowed (max_seq_length), then one for
    the rest of the row."""
    def ids(n: int) -> list[int]:
        return torch.randint(3, vocab, (n,), generator=generator).tolist()

    if not s["packing"]:
        n = s["max_seq_length"]
        return collate([_example(ids(n), n // 4) for _ in range(s["batch_size"])], pad_id=0)
    rows = []
    for _ in range(s["batch_size"]):
        row, room = [], s["pack_length"]
        while room > 1:
            n = min(room, s["max_seq_length"])
            row.append(_example(ids(n), n // 4))
            room -= n
        rows.append(row)
    return collate_packed(rows, pad_id=0, pack_length=s["pack_length"], batch_size=s["batch_size"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="a shipped config (configs/NAME.yaml) or any config file; "
                                         "default: configs/gemma3-270m.yaml's values")
    parser.add_argument("--shape", choices=[*SHAPES, TINY],
                        help="random weights of this published shape instead of loading base_model")
    parser.add_argument("--base_model", help="override model.base_model (real weights; ignored with --shape)")
    parser.add_argument("--targets", help="override model.target_modules: comma-separated, or all-linear")
    parser.add_argument("--lora_r", type=int)
    parser.add_argument("--batch", type=int, help="override data.batch_size")
    parser.add_argument("--length", type=int, help="override data.max_seq_length")
    parser.add_argument("--accumulate", type=int, help="override trainer.accumulate_grad_batches")
    parser.add_argument("--gradient_checkpointing", type=int, choices=[0, 1], help="override (1 on, 0 off)")
    parser.add_argument("--packing", type=int, choices=[0, 1], help="override data.packing (1 on, 0 off)")
    parser.add_argument("--pack_length", type=int, help="override data.pack_length")
    parser.add_argument("--quantization", choices=["nf4", "none"], help="override model.quantization")
    parser.add_argument("--optimizer_steps", type=int, default=2, help="timed optimizer steps after one warm-up step")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a dry run, peak is null")
    parser.add_argument("--output", help="also append the JSON line to this file")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for the JSON's "command"
    return args


def settings_from(args: argparse.Namespace) -> dict:
    s = config_settings(args.config)
    overrides = {"base_model": args.base_model, "lora_r": args.lora_r, "batch_size": args.batch,
                 "max_seq_length": args.length, "accumulate": args.accumulate, "pack_length": args.pack_length,
                 "quantization": args.quantization}
    s.update({k: v for k, v in overrides.items() if v is not None})
    if args.targets is not None:
        s["target_modules"] = args.targets if args.targets == "all-linear" else args.targets.split(",")
    if args.gradient_checkpointing is not None:
        s["gradient_checkpointing"] = bool(args.gradient_checkpointing)
    if args.packing is not None:
        s["packing"] = bool(args.packing)
    return s


def measure(args: argparse.Namespace) -> dict:
    s = settings_from(args)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("measure_memory.py measures CUDA memory. Fix: run it on a machine with a GPU, or pass "
                         "--device cpu for a dry run (no peak).")
    # With --shape the tokenizer is never used (ids are random): the tiny one loads offline in milliseconds.
    module = DotLoRAModule(base_model=TINY if args.shape else s["base_model"], quantization=s["quantization"],
                           target_modules=s["target_modules"], lora_r=s["lora_r"], lora_alpha=s["lora_alpha"],
                           loss_kernel=s["loss_kernel"], gradient_checkpointing=s["gradient_checkpointing"])
    started = time.perf_counter()
    base = None
    if args.shape:
        vocab = len(module.tokenizer) if args.shape == TINY else None
        base = build_base(args.shape, device, module._compute_dtype(device), None, s["quantization"], vocab)
    module.build(device, base=base)
    build_s = time.perf_counter() - started
    parameters = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=2e-4, fused=cuda)  # configure_optimizers' choice
    vocab = module.model.get_input_embeddings().weight.shape[0]
    generator = torch.Generator().manual_seed(0)
    batches = [worst_case_batch(s, vocab, generator) for _ in range(s["accumulate"])]
    batches = [{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in b.items()} for b in batches]
    row = s["pack_length"] if s["packing"] else s["max_seq_length"]
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    weights_gib = torch.cuda.memory_allocated() / GIB if cuda else None
    losses, times = [], []
    for _ in range(1 + args.optimizer_steps):  # the first is the warm-up (kernels, allocator, optimizer state)
        step_started = time.perf_counter()
        for index, batch in enumerate(batches):
            loss = module.training_step(batch, index)
            (loss / s["accumulate"]).backward()
            losses.append(round(float(loss.detach()), 3))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - step_started)
    timed = sum(times[1:]) if args.optimizer_steps else times[0]
    tokens = s["batch_size"] * row * s["accumulate"] * max(1, args.optimizer_steps)
    import transformers

    return {
        "config": args.config, "shape": args.shape, "base_model": s["base_model"], "quantization": s["quantization"],
        "target_modules": s["target_modules"], "lora_r": s["lora_r"],
        "batch_size": s["batch_size"], "max_seq_length": s["max_seq_length"], "packing": s["packing"],
        "pack_length": s["pack_length"] if s["packing"] else None, "row_length": row, "accumulate": s["accumulate"],
        "gradient_checkpointing": s["gradient_checkpointing"],
        "weights_gib": None if weights_gib is None else round(weights_gib, 3),
        "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / GIB, 3) if cuda else None,
        "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / GIB, 3) if cuda else None,
        "tokens_per_s": round(tokens / timed, 1),
        "seconds_per_optimizer_step": round(timed / max(1, args.optimizer_steps), 3),
        "optimizer_steps": args.optimizer_steps, "build_s": round(build_s, 2), "losses": losses,
        "device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__,
        "transformers": transformers.__version__,
        "command": shlex.join(["python", "scripts/measure_memory.py", *args.argv]),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=".*self.log.*")  # training_step logs; there is no Trainer here
    result = measure(args)
    line = json.dumps(result)
    if args.output:
        with open(args.output, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    print(line, flush=True)


if __name__ == "__main__":
    main()
