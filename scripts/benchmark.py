#!/usr/bin/env python
"""Tokens/s, peak memory and loss of the real training step: DotLoRAModule.training_step on DotDataModule's batches.

    python scripts/benchmark.py --config configs/tiny.yaml --steps 5                          # CPU, seconds
    python scripts/benchmark.py --config configs/qwen2.5-coder-1.5b.yaml                       # CUDA, real weights
    python scripts/benchmark.py --config configs/gemma.yaml --shape gemma-2b --model.base_model embedded:gemma3-270m \
        --data.batch_size 16 --trainer.accumulate_grad_batches 1 --model.gradient_checkpointing false
    python scripts/benchmark.py --config configs/gemma.yaml --shape gemma-2b --model.base_model embedded:gemma3-270m \
        --model.compile reduce-overhead --data.pad_to_multiple_of 64 --warmup 20 --steps 20 --profile prof/

A short copy of the real training loop (nanoGPT's bench.py idea), and the one benchmark of the training step:
- **Built as ``fit`` builds it.** The module, the data module and the trainer settings come from the config files and
  ``--section.key value`` overrides exactly as ``python -m dotlightning fit`` resolves them (configs/gemma3-270m.yaml
  first, then each ``--config``, then the overrides; ``model.memory_budget_gib`` applied). Every lever is an override:
  ``--model.compile reduce-overhead`` (+ ``--data.pad_to_multiple_of 64``), ``--model.gradient_checkpointing``,
  ``--model.loss_kernel``, ``--model.attn_implementation``, ``--data.packing true --data.pack_length 4096``,
  ``--data.batch_size``, ``--data.max_seq_length``, ``--data.group_by_length false`` (random batching),
  ``--data.limit_train``, ``--trainer.accumulate_grad_batches``, ``--trainer.precision``.
- **The real step.** ``Trainer.fit`` of that module and data module, so every batch goes through the module's own
  ``training_step`` (chunked completion-only loss, ``num_labelled``), its ``configure_optimizers`` (AdamW, fused on
  CUDA, and the warmup/decay schedule), gradient clipping, accumulation and the reliability callbacks of the config
  (exact-resume seeding, the NaN/Inf stop, the out-of-memory note). What writes files or generates is left out: no
  logger, no checkpoints, no adapter export, no validation.
- **Random shapes.** ``--shape NAME`` (``scripts/random_shapes.py``, shared with ``measure_memory.py``) builds that
  published shape with random weights on the device (nf4-quantised in place when ``model.quantization`` is nf4) and
  hands it to ``DotLoRAModule.build``: no weights to download. The tokenizer, and so the batches, are still
  ``model.base_model``'s (the vocabulary is widened to the tokenizer's where that is larger). ``--layers N`` cuts it.
- **Timing.** ``--warmup`` optimizer steps run untimed (first-seen shapes, compilation, CUDA graphs, optimizer state),
  then ``--steps`` are timed, each from the end of the previous optimizer step to the end of its own (device
  synchronised). tokens/s counts real (non-pad) tokens. For a compiled step, let the warm-up meet every batch shape
  (e.g. ``--data.limit_train 256`` and a warm-up of one epoch), or read ``median_step_s``.
- **Memory.** CUDA: ``torch.cuda.max_memory_allocated`` (weights included), reset when training starts. CPU: the
  process's peak RSS (VmHWM, reset at the same point through /proc/self/clear_refs where Linux allows it).
- **Profile.** ``--profile DIR`` runs the timed steps under torch.profiler and writes ``DIR/trace.json`` (Chrome
  trace, open it in Perfetto) and ``DIR/profile.txt`` (the top ops by device time, then by CPU time); the timings of
  that run include the profiler's overhead.

Prints a summary and, last, one JSON line; ``--output FILE`` also appends that line to FILE.

Replaces scripts/benchmark.py's old standalone step, scripts/profile_step.py and scripts/benchmark_fit.py (removed
2026-12-02; their measured numbers and the equivalent commands are in docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from random_shapes import SHAPES, TINY, build_base  # noqa: E402

from dotlightning.cli.commands import EMBEDDED_CONFIG, DotLightningCLI, _resolve_config_args, apply_memory_budget  # noqa: E402
from dotlightning.data.datamodule import DotDataModule  # noqa: E402
from dotlightning.model.module import DotLoRAModule  # noqa: E402

GIB = 2**30
# Trainer settings that change the step itself; everything else (loggers, checkpoints, validation) is left out.
STEP_SETTINGS = ("accelerator", "precision", "accumulate_grad_batches", "gradient_clip_val", "gradient_clip_algorithm",
                 "deterministic", "benchmark")


class _ConfigOnly(DotLightningCLI):
    """The CLI's parser and instantiation without a subcommand: module and data module as ``fit`` builds them."""

    def before_instantiate_classes(self) -> None:
        apply_memory_budget(self.config)


def build(cli_args: list[str]) -> tuple[DotLoRAModule, DotDataModule, dict[str, Any], list[L.Callback]]:
    """Module, connected data module, the step's trainer settings and the config's reliability callbacks, from
    ``--config`` files and overrides resolved as ``python -m dotlightning fit`` resolves them."""
    cli = _ConfigOnly(DotLoRAModule, DotDataModule, args=_resolve_config_args(cli_args), run=False,
                      parser_kwargs={"default_config_files": [str(EMBEDDED_CONFIG)], "prog": "scripts/benchmark.py"},
                      save_config_callback=None)
    trainer_config = cli.config["trainer"]
    settings = {key: trainer_config[key] for key in STEP_SETTINGS if trainer_config.get(key) is not None}
    # Exact-resume seeding, the NaN/Inf stop and the OOM note act on every step of a real fit: kept. Checkpoints,
    # the adapter export, the base-vs-tuned table and the LR monitor write files, generate or need a logger: left out.
    callbacks = [c for c in cli.trainer.callbacks if type(c).__module__ == "dotlightning.train.reliability"]
    return cli.model, cli.datamodule, settings, callbacks


def _cpu_peak_reset() -> str:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return "cpu peak RSS (VmHWM since training started)"
    except OSError:
        return "cpu peak RSS (VmHWM of the whole process: /proc/self/clear_refs not writable)"


def _cpu_peak_bytes() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


class StepTimer(L.Callback):
    """Per optimizer step: wall time (device synchronised), real and labelled tokens, micro-batch losses; peak memory
    from the start of training; and the profiler around the timed steps."""

    def __init__(self, warmup: int, steps: int | None, profile_dir: str | None = None) -> None:
        self.warmup, self.steps, self.profile_dir = warmup, steps, profile_dir
        self.records: list[dict[str, Any]] = []
        self._tokens: list[torch.Tensor] = []
        self._labelled = self._examples = 0
        self._losses: list[torch.Tensor] = []
        self._profiler = None
        self.memory_method = ""
        self.peak_bytes: int | None = None

    def _sync(self, device: torch.device) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._sync(pl_module.device)
        if pl_module.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(pl_module.device)
            self.memory_method = "cuda max_memory_allocated (weights included)"
        else:
            self.memory_method = _cpu_peak_reset()
        self._step = trainer.global_step
        self._last = time.perf_counter()
        if self.profile_dir and self.warmup == 0:
            self._start_profiler(pl_module.device)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._tokens.append(batch["attention_mask"].sum())  # stays on the device: no sync here
        self._labelled += int(batch["num_labelled"])
        self._examples += int(batch.get("examples", batch["input_ids"].shape[0]))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None:  # Lightning hands back the loss divided by the accumulation; undo that
            self._losses.append(loss.detach() * trainer.accumulate_grad_batches)
        if trainer.global_step == self._step:
            return  # still accumulating this optimizer step
        self._step = trainer.global_step
        self._sync(pl_module.device)
        now = time.perf_counter()
        self.records.append({"seconds": now - self._last, "tokens": int(torch.stack(self._tokens).sum()),
                             "labelled": self._labelled, "micro_batches": len(self._tokens),
                             "epoch": trainer.current_epoch, "examples": self._examples,
                             "losses": [float(x) for x in self._losses]})
        self._tokens, self._labelled, self._examples, self._losses = [], 0, 0, []
        if self._profiler is not None:
            self._profiler.step()
        if self.profile_dir and len(self.records) == self.warmup:
            self._start_profiler(pl_module.device)
        if self.steps is not None and len(self.records) == self.warmup + self.steps:
            self._finish(pl_module.device)
        self._last = time.perf_counter()  # the profiler's start/stop and the bookkeeping above are not timed

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # One progress line per epoch on stderr, so a run cut off by a time limit still says how far it got.
        done = [r for r in self.records if r["epoch"] == trainer.current_epoch]
        seconds = sum(r["seconds"] for r in done)
        print(f"epoch {trainer.current_epoch}: {len(done)} optimizer steps, {sum(r['tokens'] for r in done)} tokens "
              f"in {seconds:.1f} s (first step {done[0]['seconds'] if done else 0:.1f} s)", file=sys.stderr, flush=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.peak_bytes is None:  # --epochs: the fit ran to its end
            self._finish(pl_module.device)

    def _start_profiler(self, device: torch.device) -> None:
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        self._profiler = profile(activities=activities)
        self._profiler.__enter__()

    def _finish(self, device: torch.device) -> None:
        self.peak_bytes = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else _cpu_peak_bytes()
        if self._profiler is None:
            return
        self._profiler.__exit__(None, None, None)
        folder = Path(self.profile_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self._profiler.export_chrome_trace(str(folder / "trace.json"))
        events = self._profiler.key_averages()
        by_device = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
        tables = [f"## {self.steps} timed optimizer steps, sorted by {by_device}",
                  events.table(sort_by=by_device, row_limit=40, max_name_column_width=90),
                  "## sorted by self_cpu_time_total",
                  events.table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=90)]
        (folder / "profile.txt").write_text("\n".join(tables) + "\n", encoding="utf-8")
        self._profiler = None


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Every other argument (--config FILE, --model.X, --data.X, --trainer.X) goes to the CLI's parser, as "
               "for `python -m dotlightning fit`.")
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed optimizer steps before them")
    parser.add_argument("--epochs", type=int, help="instead of --warmup/--steps: a whole fit of this many epochs, "
                        "every optimizer step timed; overall tokens/s counts every step (compilation included), "
                        "steady tokens/s the last epoch's")
    parser.add_argument("--validate", type=int, metavar="N", help="after the fit, time the validation loop's "
                        "batched generation (DotLoRAModule.score_generations) on the first N validation prompts")
    parser.add_argument("--shape", choices=[*SHAPES, TINY], help="random weights of this published shape "
                        "(scripts/random_shapes.py) instead of loading model.base_model")
    parser.add_argument("--layers", type=int, help="with --shape: this many transformer layers")
    parser.add_argument("--profile", metavar="DIR", help="torch.profiler over the timed steps: DIR/trace.json, "
                        "DIR/profile.txt")
    parser.add_argument("--output", help="also append the JSON line to this file")
    args, cli_args = parser.parse_known_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error(f"--steps {args.steps} --warmup {args.warmup}: need at least one timed step. Fix: --steps >= 1, "
                     "--warmup >= 0")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs {args.epochs}: a fit needs at least one epoch. Fix: --epochs >= 1")
    if args.layers is not None and args.shape is None:
        parser.error("--layers cuts a random shape. Fix: add --shape NAME, or drop --layers")
    return args, cli_args


def run(argv: list[str] | None = None, extra_callbacks: tuple[L.Callback, ...] = ()) -> dict[str, Any]:
    """The benchmark; ``extra_callbacks`` join the fit (scripts/sync_sites.py watches the steps with one)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args, cli_args = parse_args(argv)
    started = time.perf_counter()
    module, data, settings, callbacks = build(cli_args)
    if args.epochs:
        args.warmup, args.steps = 0, None
    timer = StepTimer(args.warmup, args.steps, args.profile)
    length = dict(max_epochs=args.epochs, max_steps=-1) if args.epochs else dict(max_steps=args.warmup + args.steps,
                                                                                    max_epochs=-1)
    trainer = L.Trainer(devices=1, **length, limit_val_batches=0,
                        num_sanity_val_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[*callbacks, timer, *extra_callbacks], **settings)
    device = trainer.strategy.root_device
    if args.shape:
        vocab = len(module.tokenizer) if args.shape == TINY else max(SHAPES[args.shape][1]["vocab_size"],
                                                                      len(module.tokenizer))
        base = build_base(args.shape, device, module._compute_dtype(device), args.layers, module.hparams.quantization,
                          vocab)
        attn = module.hparams.attn_implementation  # the shapes are built with sdpa; --model.attn_implementation X
        if attn and attn != base.config._attn_implementation:
            base.set_attn_implementation(attn)
        module.memory_shape = args.shape  # what gradient_checkpointing: auto sizes the step by
        module.build(device, base=base, datamodule=data)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(does not have many workers|number of training batches).*")
        trainer.fit(module, datamodule=data)
    if args.steps is not None and len(timer.records) < args.warmup + args.steps:
        raise SystemExit(f"the fit ended after {len(timer.records)} optimizer steps, before the {args.warmup} + "
                         f"{args.steps} asked for. Fix: lower --warmup/--steps, or raise --data.limit_train.")
    # Steady: the timed steps, or with --epochs the last epoch's; overall: every step from the start of training.
    last_epoch = max(r["epoch"] for r in timer.records)
    timed = timer.records[args.warmup:] if not args.epochs else [r for r in timer.records if r["epoch"] == last_epoch]
    seconds = sum(r["seconds"] for r in timed)
    tokens = sum(r["tokens"] for r in timed)
    all_seconds = sum(r["seconds"] for r in timer.records)
    validation = {}
    if args.validate:
        print(f"validating {args.validate} prompts", file=sys.stderr, flush=True)
        module.eval()
        started_validation = time.perf_counter()
        scores = module.score_generations(data.val_dataloader(), max_samples=args.validate)
        validation = {"validate_prompts": args.validate, "validate_seconds": round(time.perf_counter() - started_validation, 2),
                      "validate_parse_rate": scores.get("parse_rate"), "generate_batch_size": module.hparams.generate_batch_size,
                      "max_new_tokens": module.hparams.max_new_tokens}
    losses = [loss for r in timer.records for loss in r["losses"]]
    hp = module.hparams
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "base_model": hp.base_model, "shape": args.shape, "layers": module.model.get_base_model().config.num_hidden_layers,
        "quantization": hp.quantization, "target_modules": hp.target_modules, "lora_r": hp.lora_r,
        "compile": module._compile_mode, "compile_setting": hp.compile, "compile_scope": module._compile_scope,
        "compile_scope_setting": hp.get("compile_scope"),
        "gradient_checkpointing": module.checkpointing, "gradient_checkpointing_setting": hp.gradient_checkpointing,
        "packed_attention": hp.get("packed_attention"), "loss_kernel": hp.loss_kernel,
        "batch_size": data.batch_size, "accumulate_grad_batches": trainer.accumulate_grad_batches,
        "max_seq_length": data.max_seq_length, "packing": data.packing,
        "pack_length": data.pack_length if data.packing else None, "pad_to_multiple_of": data.pad_to_multiple_of,
        "warmup_steps": args.warmup, "timed_steps": len(timed), "epochs": args.epochs, "tokens": tokens,
        "labelled_tokens": sum(r["labelled"] for r in timed), "seconds": round(seconds, 4),
        "tokens_per_s": round(tokens / seconds, 1), "optimizer_steps": len(timer.records),
        "overall_tokens": sum(r["tokens"] for r in timer.records), "overall_seconds": round(all_seconds, 2),
        "overall_tokens_per_s": round(sum(r["tokens"] for r in timer.records) / all_seconds, 1),
        "examples": sum(r["examples"] for r in timer.records), **validation,
        "median_step_s": round(statistics.median(r["seconds"] for r in timed), 4),
        "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
        "peak_memory_gib": None if timer.peak_bytes is None else round(timer.peak_bytes / GIB, 3),
        "memory": timer.memory_method, "total_s": round(time.perf_counter() - started, 1),
        "profile": args.profile, "torch": torch.__version__,
        "steps": [{**r, "seconds": round(r["seconds"], 4)} for r in timer.records],
        "command": shlex.join(["python", "scripts/benchmark.py", *argv]),
        "output": args.output,
    }
    return result


def summary(result: dict[str, Any]) -> str:
    losses = f"loss {result['first_loss']:.4f} -> {result['last_loss']:.4f}" if result["first_loss"] is not None else ""
    return (f"# {result['command']}\n"
            f"# {result['device']}, torch {result['torch']}: {result['base_model']}"
            f"{' as random ' + result['shape'] if result['shape'] else ''} ({result['layers']} layers, "
            f"{result['quantization']}), LoRA r{result['lora_r']} on {result['target_modules']}, compile "
            f"{result['compile']} ({result['compile_scope']}), gradient checkpointing "
            f"{result['gradient_checkpointing']}\n"
            f"# batch {result['batch_size']} x accumulate {result['accumulate_grad_batches']}, max_seq_length "
            f"{result['max_seq_length']}, packing {result['packing']}; {result['warmup_steps']} warm-up + "
            f"{result['timed_steps']} timed optimizer steps\n"
            f"tokens/s {result['tokens_per_s']:,.0f} (non-pad; {result['tokens']:,} tokens in {result['seconds']:.2f} "
            f"s, median step {result['median_step_s']:.3f} s), peak {result['peak_memory_gib']} GiB "
            f"({result['memory']}), {losses}, {result['total_s']} s in all")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    result = run(argv)
    line = json.dumps(result)
    print(summary(result), flush=True)
    if result["profile"]:
        print(f"# profile: {result['profile']}/trace.json, {result['profile']}/profile.txt", flush=True)
    if result["output"]:
        with open(result["output"], "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    print(line, flush=True)
    return result


if __name__ == "__main__":
    main()
