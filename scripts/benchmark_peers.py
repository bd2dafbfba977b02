#!/usr/bin/env python
"""The peers beside dotlightning on one GPU: the same data subset, model shape and recipe through TRL's SFTTrainer
(defaults), TRL + Liger-Kernel, Unsloth + TRL, and dotlightning's own variants, each in its own process, then one
table of steady and overall tokens/s, peak GiB and first / last loss.

    python scripts/benchmark_peers.py --shape gemma-2b --tokenizer DIR --pairs 640 --epochs 2 --output results/X/peers.jsonl
    python scripts/benchmark_peers.py ... --stacks trl,unsloth,dl-packed-compiled       # a subset of the stacks

- **The same tokens everywhere.** The subset is the first ``--pairs`` training pairs that fit ``--max_length``,
  tokenized once by dotlightning's own data module (the seed's tag prompt, completion-only labels, EOS), and handed to
  TRL as a pre-tokenized dataset (``input_ids`` + ``labels``), so every stack trains on the same ids and labels.
- **The same model.** ``--shape`` (scripts/random_shapes.py) with random weights, saved once under ``--model_dir``
  with the tokenizer (the vocabulary widened to it), loaded by the peers with ``from_pretrained`` and a
  BitsAndBytesConfig (nf4, double quant, bf16 compute); dotlightning's stacks build the same shape in place
  (scripts/benchmark.py ``--shape``).
- **The same recipe.** LoRA r16 / alpha 32 on q_proj, v_proj, dropout 0, lr 2e-4, warmup 0.1, batch 4 x accumulate 4,
  ``--epochs`` epochs. Each peer otherwise keeps its defaults (TRL 1.x: gradient checkpointing on); what each
  dotlightning stack changes is in ``DOTLIGHTNING_STACKS``.
- **Timing.** Tokens are the subset's real (non-pad) tokens. A peer's clock runs from its trainer's ``on_train_begin``
  to ``on_train_end`` (device synchronised), so model loading is left out for every stack alike and compilation is
  counted. Steady = the last epoch's tokens / its time; overall = all tokens / the whole training time. Peak memory:
  ``torch.cuda.max_memory_allocated`` since training began (weights included).

Each child prints one JSON line last; the parent appends them to ``--output`` and prints the table. The peers'
packages (trl, liger-kernel, unsloth, unsloth-zoo and what they need) are not dependencies of dotlightning: on the
offline GPU box they come as wheels (docs/performance.md lists them); ``--peer_path DIR`` puts DIR first on the
peers' ``sys.path`` (Unsloth wants datasets < 5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GIB = 2**30
RECIPE = dict(lora_r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], lora_dropout=0.0, learning_rate=2e-4,
              warmup_ratio=0.1, batch_size=4, accumulate=4)
PEERS = ("trl", "trl-liger", "unsloth")
# dotlightning's stacks: scripts/benchmark.py overrides on configs/gemma.yaml (the seed's recipe; packed 4 x 1024 rows,
# accumulate 1, compile: auto since 2026-12-07, which stays eager with checkpointing since 2026-12-08; checkpointing
# auto since 2026-12-08, off on a GPU the step fits, so dl-default compiles there). Unpacked stacks set the seed's 4 x 4.
SEED_BATCHES = ["--data.packing", "false", "--trainer.accumulate_grad_batches", "4"]
PACKED = ["--data.packing", "true", "--data.pack_length", "1024", "--trainer.accumulate_grad_batches", "1"]
DOTLIGHTNING_STACKS: dict[str, list[str]] = {
    "dl-default": [],  # configs/gemma.yaml as shipped: what `fit --config configs/gemma.yaml` runs on a GPU
    "dl-eager": [*SEED_BATCHES, "--model.gradient_checkpointing", "false", "--model.compile", "null"],
    "dl-gc": [*SEED_BATCHES, "--model.gradient_checkpointing", "true", "--model.compile", "null"],
    "dl-compiled": [*SEED_BATCHES, "--model.gradient_checkpointing", "false", "--model.compile", "reduce-overhead",
                    "--model.compile_scope", "backbone", "--data.pad_to_multiple_of", "256"],
    # packed rows of 4 x 1024 tokens: ~16 examples a micro-batch instead of 4 (docs/packing.md)
    "dl-packed": [*PACKED, "--model.gradient_checkpointing", "false", "--model.compile", "null"],
    "dl-packed-gc": [*PACKED, "--model.gradient_checkpointing", "true", "--model.compile", "null"],
    # the whole stack as one graph, as measured 2026-12-03 (compile_scope auto would compile per layer here)
    "dl-packed-compiled": [*PACKED, "--model.gradient_checkpointing", "false", "--model.compile", "reduce-overhead",
                           "--model.compile_scope", "backbone"],
    "dl-packed-compiled-gc": [*PACKED, "--model.gradient_checkpointing", "true", "--model.compile", "reduce-overhead"],
    "dl-packed-compiled-layers": [*PACKED, "--model.gradient_checkpointing", "false", "--model.compile",
                                  "reduce-overhead", "--model.compile_scope", "layers"],
    "dl-packed-compiled-layers-gc": [*PACKED, "--model.gradient_checkpointing", "true", "--model.compile",
                                     "reduce-overhead", "--model.compile_scope", "layers"],
}
STACKS = (*PEERS, *DOTLIGHTNING_STACKS)


# ----------------------------------------------------------------------------------------------------------- data
def data_args(args: argparse.Namespace) -> list[str]:
    """The data module settings every stack shares (dotlightning's CLI syntax)."""
    return ["--config", "configs/gemma.yaml", "--model.base_model", str(args.model_dir),
            "--data.limit_train", str(args.pairs), "--data.max_seq_length", str(args.max_length),
            "--data.prompt_style", "tags", "--model.lora_dropout", "0.0"]


def tokenized_subset(args: argparse.Namespace) -> list[dict[str, list[int]]]:
    """The subset as dotlightning's data module encodes it: input_ids and labels (-100 on the prompt)."""
    sys.path.insert(0, str(HERE))
    from benchmark import build

    _, data, _, _ = build(data_args(args))
    data.setup("fit")
    return [{"input_ids": list(e["input_ids"]), "labels": list(e["labels"])} for e in data.datasets["train"]]


def ensure_model(args: argparse.Namespace) -> None:
    """The random-weight model of ``--shape`` saved with the tokenizer, once (the peers load it from disk)."""
    if (args.model_dir / "config.json").exists() and any(args.model_dir.glob("*.safetensors")):
        return
    import torch
    from transformers import AutoTokenizer

    sys.path.insert(0, str(HERE))
    from random_shapes import SHAPES, build_base

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    vocab = max(SHAPES[args.shape][1]["vocab_size"], len(tokenizer))
    model = build_base(args.shape, torch.device("cuda" if torch.cuda.is_available() else "cpu"), torch.bfloat16,
                       args.layers, "none", vocab)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.bos_token_id, model.config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    model.config.use_cache = True
    args.model_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.model_dir)
    tokenizer.save_pretrained(args.model_dir)


# ---------------------------------------------------------------------------------------------------------- peers
def run_peer(args: argparse.Namespace) -> dict[str, Any]:
    stack = args.run
    if stack == "unsloth":
        import unsloth  # noqa: F401  (must come before trl/transformers/peft to patch them)
        from unsloth import FastLanguageModel
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    rows = tokenized_subset(args)
    tokens_per_epoch = sum(len(r["input_ids"]) for r in rows)
    dataset = Dataset.from_list(rows)
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    lora = dict(r=RECIPE["lora_r"], lora_alpha=RECIPE["lora_alpha"], target_modules=RECIPE["target_modules"],
                lora_dropout=RECIPE["lora_dropout"], bias="none")
    config = dict(output_dir=str(args.work / stack), per_device_train_batch_size=RECIPE["batch_size"],
                  gradient_accumulation_steps=RECIPE["accumulate"], learning_rate=RECIPE["learning_rate"],
                  warmup_ratio=RECIPE["warmup_ratio"], num_train_epochs=args.epochs, max_length=args.max_length,
                  bf16=True, logging_steps=1, report_to="none", save_strategy="no", seed=0,
                  dataloader_num_workers=0)
    peft_config = None
    if stack == "unsloth":
        model, tokenizer = FastLanguageModel.from_pretrained(model_name=str(args.model_dir), max_seq_length=args.max_length,
                                                             load_in_4bit=True, dtype=torch.bfloat16)
        model = FastLanguageModel.get_peft_model(model, **lora, use_gradient_checkpointing="unsloth", random_state=0)
    else:
        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=torch.bfloat16)
        model = AutoModelForCausalLM.from_pretrained(args.model_dir, quantization_config=quant, dtype=torch.bfloat16,
                                                     device_map={"": 0})
        from peft import LoraConfig

        peft_config = LoraConfig(task_type="CAUSAL_LM", **lora)
        config["use_liger_kernel"] = stack == "trl-liger"

    class Clock(TrainerCallback):
        def __init__(self) -> None:
            self.epochs: list[float] = []

        def _now(self) -> float:
            torch.cuda.synchronize()
            return time.perf_counter()

        def on_train_begin(self, *_, **__):
            torch.cuda.reset_peak_memory_stats()
            self.start = self.last = self._now()

        def on_epoch_end(self, *_, **__):
            now = self._now()
            self.epochs.append(now - self.last)
            self.last = now

        def on_train_end(self, *_, **__):
            self.end = self._now()
            self.peak = torch.cuda.max_memory_allocated()

    clock = Clock()
    trainer = SFTTrainer(model=model, args=SFTConfig(**config), train_dataset=dataset, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[clock])
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    seconds = clock.end - clock.start
    import trl

    versions = {"trl": trl.__version__, "torch": torch.__version__}
    if stack == "trl-liger":
        import liger_kernel

        versions["liger_kernel"] = getattr(liger_kernel, "__version__", "0.8.5?")
    if stack == "unsloth":
        versions["unsloth"] = unsloth.__version__
    return {"stack": stack, "examples": len(rows) * args.epochs, "epochs": args.epochs,
            "optimizer_steps": trainer.state.global_step,
            "tokens_per_s": round(tokens_per_epoch / clock.epochs[-1], 1),
            "overall_tokens_per_s": round(tokens_per_epoch * args.epochs / seconds, 1),
            "overall_seconds": round(seconds, 2), "peak_memory_gib": round(clock.peak / GIB, 3),
            "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
            "gradient_checkpointing": trainer.args.gradient_checkpointing, "versions": versions}


def run_dotlightning(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from benchmark import run

    result = run(["--shape", args.shape, "--epochs", str(args.epochs), *(["--layers", str(args.layers)] if args.layers else []),
                  *data_args(args), *DOTLIGHTNING_STACKS[args.run], *args.dl_args])
    result.pop("steps", None)
    return {**result, "stack": args.run}


# --------------------------------------------------------------------------------------------------------- parent
def table(results: list[dict[str, Any]]) -> str:
    lines = ["| stack | steady tok/s (last epoch) | overall tok/s | overall s | optimizer steps | peak GiB | first -> last loss |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['stack']} | failed: {r['error'][:120]} | | | | | |")
            continue
        loss = (f"{r['first_loss']:.3f} -> {r['last_loss']:.3f}" if r.get("first_loss") is not None else "")
        lines.append(f"| {r['stack']} | {r['tokens_per_s']:,.0f} | {r['overall_tokens_per_s']:,.0f} | "
                     f"{r['overall_seconds']:.1f} | {r['optimizer_steps']} | {r['peak_memory_gib']} | {loss} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks", default=",".join(STACKS), help=f"comma-separated, from {', '.join(STACKS)}")
    parser.add_argument("--shape", default="gemma-2b", help="scripts/random_shapes.py shape")
    parser.add_argument("--layers", type=int, help="cut the shape to this many layers")
    parser.add_argument("--tokenizer", help="folder with the tokenizer files (needed once, to build --model_dir)")
    parser.add_argument("--model_dir", type=Path, default=Path("/tmp/peer-model"), help="the saved random model")
    parser.add_argument("--work", type=Path, default=Path("/tmp/peer-runs"), help="the peers' output_dir")
    parser.add_argument("--pairs", type=int, default=640, help="the first N training pairs")
    parser.add_argument("--max_length", type=int, default=512, help="pairs longer than this are left out")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--peer_path", help="folder put first on the peers' sys.path (their wheels)")
    parser.add_argument("--output", type=Path, help="append each stack's JSON line here")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per stack")
    parser.add_argument("--run", choices=STACKS, help=argparse.SUPPRESS)  # the child: one stack
    args, rest = parser.parse_known_args(argv)
    args.dl_args = rest  # extra scripts/benchmark.py overrides for the dotlightning stacks
    unknown = sorted(set(args.stacks.split(",")) - set(STACKS))
    if unknown:
        parser.error(f"--stacks: unknown {unknown}. Fix: choose from {', '.join(STACKS)}")
    return args, rest


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args, rest = parse_args(argv)
    if args.run:
        result = run_peer(args) if args.run in PEERS else run_dotlightning(args)
        print(json.dumps(result), flush=True)
        return [result]
    if args.tokenizer:
        ensure_model(args)
    results = []
    for stack in args.stacks.split(","):
        env = dict(os.environ)
        if stack in PEERS and args.peer_path:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.peer_path, env.get("PYTHONPATH")]))
        command = [sys.executable, __file__, "--run", stack, *[a for a in (argv or sys.argv[1:])]]
        print(f"== {stack}: {' '.join(command[2:])}", flush=True)
        started = time.perf_counter()
        # The child's output goes to a file as it runs, so a stack that times out still leaves its log.
        log = args.work / f"{stack}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log.open("w", encoding="utf-8") as handle:
                done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=handle, text=True,
                                      timeout=args.timeout)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            errors = log.read_text(encoding="utf-8", errors="replace")
            result = json.loads(lines[-1]) if done.returncode == 0 and lines else {
                "stack": stack, "error": f"exit {done.returncode}: " + (errors.strip().splitlines() or [""])[-1]}
            if "error" in result:
                sys.stderr.write(errors[-4000:])
        except subprocess.TimeoutExpired:
            result = {"stack": stack, "error": f"timed out after {args.timeout} s (its log: {log})"}
        result["process_seconds"] = round(time.perf_counter() - started, 1)
        results.append(result)
        print(json.dumps(result), flush=True)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            with args.output.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(result) + "\n")
    print(table(results), flush=True)
    return results


if __name__ == "__main__":
    main()
