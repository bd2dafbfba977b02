#!/usr/bin/env python
"""Tokens/s and peak memory of a real fit: Lightning's Trainer.fit of DotLoRAModule + DotDataModule on shipped data.

    python scripts/benchmark_fit.py --out results/fit                 # CUDA: Gemma-2B shape, nf4
    python scripts/benchmark_fit.py --smoke --out /tmp/fit            # CPU: 2 layers, a few steps (2-3 min on 2 cores)

- **Model.** A published shape with random weights (scripts/benchmark.py's SHAPES, no download), nf4 in place, LoRA
  r16 on --targets (q_proj,v_proj as in configs/gemma.yaml) through DotLoRAModule.build. The vocabulary is widened to
  the tokenizer's where that is larger (Gemma 3's 262,144 ids against Gemma-2B's 256,000), so every token id exists.
- **Data.** data/train.jsonl tokenized with --tokenizer; the fit uses a subset that fills the --buckets most common
  length buckets of --multiple tokens with whole batches, so a padded fit meets exactly --buckets batch shapes (and
  a compiled variant's epoch 1 minus a timed epoch is about what compiling those shapes costs).
- **Variants** ('+'-joined): eager | compile (model.compile='reduce-overhead', CUDA graphs) | compile-default,
  padN (data.pad_to_multiple_of=N), gc (gradient checkpointing). Each is a fresh fit from the same seed.
- **Timing.** Epoch 1 meets every shape (compiles, records graphs) and is reported apart; the later epochs are timed
  (steady state, as in a long fit). tokens/s counts non-pad tokens. Peak memory: torch.cuda.max_memory_allocated
  (weights included); on CPU the peak RSS above the pre-fit RSS.
- **Check.** LoRA dropout is off by default so every variant trains the same way: |Δloss| is the largest difference
  from the first variant's per-batch losses.

Prints a table and, last, one JSON line; writes fit.txt, fit.json and the data subset to --out.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import lightning.pytorch as L
import torch
import torch._dynamo
from torch._dynamo.utils import counters

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmark import CpuPeak, SHAPES, build_base, peak_memory, quantize_nf4_, reset_memory, sync  # noqa: E402
from dotlightning.model.base_models import EMBEDDED_GEMMA3_270M, load_tokenizer  # noqa: E402
from dotlightning.data.batches import padded_width  # noqa: E402
from dotlightning.data.datamodule import DotDataModule  # noqa: E402
from dotlightning.model.module import DotLoRAModule  # noqa: E402

VARIANTS = "eager,eager+pad64,compile+pad64,compile+pad64+gc"


class FitTimer(L.Callback):
    """Wall time of every training epoch (device synchronised at both ends) and every batch's loss."""

    def __init__(self) -> None:
        self.epoch_s: list[float] = []
        self.losses: list[torch.Tensor] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        sync(pl_module.device)
        self.t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(outputs["loss"].detach())  # no .item() here: that would sync every step

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        sync(pl_module.device)
        self.epoch_s.append(time.perf_counter() - self.t0)


def bucketed_subset(args, tokenizer, path: Path) -> dict:
    """Write to ``path`` the first examples of the --buckets most common length buckets, whole batches per bucket."""
    batches = args.steps * args.accumulate
    if batches % args.buckets:
        raise SystemExit(f"--steps x --accumulate = {batches} batches per epoch must split evenly over --buckets")
    data = DotDataModule(val_file=None, test_file=None, max_seq_length=args.seq_len, check_dot=False)
    data.connect(tokenizer)
    data.setup("fit")
    by_bucket = defaultdict(list)
    for example in data.datasets["train"].examples:
        by_bucket[padded_width(len(example["input_ids"]), args.multiple)].append(example)
    buckets = sorted(sorted(by_bucket, key=lambda t: -len(by_bucket[t]))[: args.buckets])
    per_bucket = batches // args.buckets * args.batch_size
    short = {t: len(by_bucket[t]) for t in buckets if len(by_bucket[t]) < per_bucket}
    if short:
        raise SystemExit(f"buckets {short} hold fewer than the {per_bucket} examples each needs: lower --steps")
    rows = [{key: e[key] for key in ("id", "kind", "source", "prompt", "completion")}
            for t in buckets for e in by_bucket[t][:per_bucket]]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return {"examples": len(rows), "buckets": buckets, "of": data.stats["train"]["records"]}


def run_variant(variant: str, args, new_base, subset: Path, device: torch.device, cpu_peak) -> dict:
    parts = variant.split("+")
    mode = {"compile": "reduce-overhead", "compile-default": "default"}.get(parts[0])
    multiple = next((int(p[3:]) for p in parts if p.startswith("pad")), None)
    torch._dynamo.reset()
    counters.clear()
    L.seed_everything(0, verbose=False)
    targets = args.targets if args.targets == "all-linear" else args.targets.split(",")
    module = DotLoRAModule(base_model=args.tokenizer, quantization=args.quant, gradient_checkpointing="gc" in parts,
                           compile=mode, target_modules=targets, lora_dropout=args.lora_dropout, warmup_ratio=0.0,
                           generate_every_n_val=0)
    module.build(device, base=new_base())
    data = DotDataModule(train_file=str(subset), val_file=None, test_file=None, batch_size=args.batch_size,
                         max_seq_length=args.seq_len, pad_to_multiple_of=multiple, check_dot=False)
    data.connect(module.tokenizer)
    timer = FitTimer()
    trainer = L.Trainer(accelerator=device.type, devices=1, max_epochs=args.epochs,
                        accumulate_grad_batches=args.accumulate, gradient_clip_val=1.0, limit_val_batches=0,
                        num_sanity_val_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[timer], default_root_dir=args.out)
    reset_memory(device, cpu_peak)
    trainer.fit(module, datamodule=data)
    memory = peak_memory(device, cpu_peak)
    real = sum(data.datasets["train"].lengths)  # whole batches: every example once per epoch
    widths = [data.batch_lengths("train", epoch) for epoch in range(args.epochs)]
    timed_slots = sum(args.batch_size * sum(w) for w in widths[1:])
    timed = timer.epoch_s[1:]
    return {"variant": variant, "tokens_per_s": real * len(timed) / sum(timed),
            "padding": 1 - real * len(timed) / timed_slots, "first_epoch_s": timer.epoch_s[0],
            "timed_epoch_s": statistics.mean(timed), "batch_lengths": len(set(widths[0])),
            "compiled_graphs": counters["stats"]["unique_graphs"],
            "new_lengths_when_timed": len({t for w in widths[1:] for t in w} - set(widths[0])), **memory,
            "losses": [float(loss) for loss in timer.losses]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="directory for fit.txt, fit.json and the data subset")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--smoke", action="store_true", help="CPU-sized: 2 layers, bs 2, 2 epochs of 2 batches")
    ap.add_argument("--model", default="gemma-2b", choices=list(SHAPES))
    ap.add_argument("--layers", type=int, default=None, help="override num_hidden_layers")
    ap.add_argument("--quant", choices=["nf4", "none"], default="nf4")
    ap.add_argument("--tokenizer", default=EMBEDDED_GEMMA3_270M, help="base_model spec or tokenizer directory")
    ap.add_argument("--variants", default=VARIANTS)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=1024, help="data.max_seq_length")
    ap.add_argument("--multiple", type=int, default=64, help="bucket width used to pick the subset")
    ap.add_argument("--buckets", type=int, default=1, help="length buckets in the subset (shapes to compile)")
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps per epoch")
    ap.add_argument("--accumulate", type=int, default=4, help="accumulate_grad_batches (the configs use 4)")
    ap.add_argument("--epochs", type=int, default=3, help="the first is warm-up, the rest are timed")
    ap.add_argument("--targets", default="q_proj,v_proj", help="LoRA target modules: comma list, or all-linear")
    ap.add_argument("--lora-dropout", type=float, default=0.0)
    args = ap.parse_args()
    if args.smoke:
        defaults = {"layers": 2, "batch_size": 2, "seq_len": 256, "steps": 1, "accumulate": 2, "epochs": 2}
        for key, value in defaults.items():
            if getattr(args, key) == ap.get_default(key):
                setattr(args, key, value)
    if args.epochs < 2:
        raise SystemExit("--epochs must be >= 2: the first one is not timed")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    cpu_peak = CpuPeak() if device.type == "cpu" else None

    tokenizer = load_tokenizer(args.tokenizer)
    subset = out / "train-subset.jsonl"
    picked = bucketed_subset(args, tokenizer, subset)
    vocab = max(SHAPES[args.model][1]["vocab_size"], len(tokenizer))
    t0 = time.perf_counter()
    # Built once in bf16 and kept on the host; each variant gets a copy on the device, quantised there.
    pristine = build_base(args.model, device, torch.bfloat16, args.layers, "none", vocab).to("cpu")
    build_s = time.perf_counter() - t0

    def new_base() -> torch.nn.Module:
        base = copy.deepcopy(pristine).to(device)
        if args.quant == "nf4":
            quantize_nf4_(base)
        return base

    setup = (f"{args.model} ({pristine.config.num_hidden_layers} layers, vocab {vocab}, {args.quant}) on "
             f"{torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, torch {torch.__version__}")
    lines = [f"# {setup}; built in {build_s:.0f} s",
             f"# data: {picked['examples']} of {picked['of']} train examples in buckets {picked['buckets']} "
             f"(--multiple {args.multiple}); bs {args.batch_size}, accumulate {args.accumulate}, {args.steps} "
             f"steps/epoch, {args.epochs} epochs (the first untimed)",
             f"{'variant':<22}{'tok/s':>9}{'pad%':>6}{'epoch 1 s':>10}{'timed epoch s':>14}{'shapes':>7}"
             f"{'graphs':>7}{'peak GiB':>9}{'|Δloss|':>9}"]
    print("\n".join(lines), flush=True)
    rows = []
    for variant in args.variants.split(","):
        try:
            row = run_variant(variant, args, new_base, subset, device, cpu_peak)
        except Exception as exc:  # noqa: BLE001 - an OOM or compile failure must not end the run
            row = {"variant": variant, "error": f"{type(exc).__name__}: {exc}"[:300]}
        rows.append(row)
        if "error" in row:
            lines.append(f"{variant:<22}{row['error'][:100]}")
        else:
            ref = rows[0].get("losses", [])
            row["loss_max_abs_diff"] = max((abs(a - b) for a, b in zip(row["losses"], ref)), default=float("nan"))
            lines.append(f"{variant:<22}{row['tokens_per_s']:>9.0f}{100 * row['padding']:>6.1f}"
                         f"{row['first_epoch_s']:>10.1f}{row['timed_epoch_s']:>14.2f}{row['batch_lengths']:>7}"
                         f"{row['compiled_graphs']:>7}{row['peak_mem_gib']:>9.2f}{row['loss_max_abs_diff']:>9.4f}")
        print(lines[-1], flush=True)
        reset_memory(device, None)
        summary = {"args": vars(args), "setup": setup, "data": picked,
                   "results": [{k: v for k, v in row.items() if k != "losses"} for row in rows]}
        (out / "fit.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")  # after every variant: a run cut
        (out / "fit.json").write_text(json.dumps({**summary, "rows": rows}, indent=1), encoding="utf-8")  # short keeps
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
