"""Base vs fine-tuned, measured: fit named variants of the embedded default and score each on the same prompts.

    python scripts/experiments.py --runs base,main --out results/ [--smcat eval/smcat_fixtures.jsonl]

Every run uses the project's own pieces (DotLoRAModule, DotDataModule, generate_dot, the DOT metrics) with the
settings of configs/gemma3-270m.yaml, changed only by the run's overrides below. ``base`` trains nothing: with the LoRA
B matrices at zero the model is exactly the base model, evaluated with the same prompts, decoding and scorer.

For each run it writes ``OUT/RUN/`` (adapter, predictions-*.jsonl, losses.csv) and one line per run to
``OUT/results.jsonl``: test / smcat-fixture / train-sample metrics overall and by kind and source, wall time, tokens/s,
peak GPU memory. ``scripts/report.py FOLDER`` draws the loss curves from losses-*.csv files copied there.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import lightning.pytorch as L
import torch

from dotlightning.cli.score import score
from dotlightning.data.datamodule import DotDataModule
from dotlightning.data.records import read_jsonl
from dotlightning.model.adapter_export import export_adapter
from dotlightning.model.generation import generate_dot
from dotlightning.model.module import DotLoRAModule

ROOT = Path(__file__).resolve().parent.parent
SEED_MODEL = dict(base_model="embedded:gemma3-270m", quantization="nf4", lora_r=16, lora_alpha=32, lora_dropout=0.05,
                  target_modules=["q_proj", "v_proj"], learning_rate=2e-4, warmup_ratio=0.1,
                  generate_every_n_val=0)
# The seed's batch 4 x accumulation 4 is an effective batch of 16; runs take it as 16 x 1 (same optimizer steps,
# a quarter of the host-bound step launches). max_seq_length 1024: smcat renders are up to ~900 Gemma tokens.
SEED_DATA = dict(batch_size=16, max_seq_length=1024, prompt_style="tags")
SEED_TRAINER = dict(max_epochs=3, accumulate_grad_batches=1)
# The best levers of the 2026-11-24 runs: LoRA on every linear layer at lr 1e-3.
BEST_MODEL = {"target_modules": "all-linear", "learning_rate": 1e-3}

# name -> (model overrides, data overrides, trainer overrides), each applied on top of the SEED_* settings.
# Data overrides may name a ``source`` filter (train on one source only) or ``limit_train`` (first n pairs).
RUNS: dict[str, tuple[dict, dict, dict]] = {
    "base": ({}, {}, {"max_epochs": 0}),
    "shipped": ({"adapter": str(ROOT / "dotlightning" / "adapters" / "gemma3-270m-dot")}, {}, {"max_epochs": 0}),
    "seed": ({}, {}, {}),                                                    # the user's card as written
    "all-linear": ({"target_modules": "all-linear"}, {}, {}),                # lever: LoRA targets
    "lr1e-3": ({"learning_rate": 1e-3}, {}, {}),                             # lever: learning rate
    "best": (BEST_MODEL, {}, {}),                                            # both levers
    "best-r64": (BEST_MODEL | {"lora_r": 64, "lora_alpha": 128}, {}, {}),   # lever: rank
    "best-epochs1": (BEST_MODEL, {}, {"max_epochs": 1}),                     # lever: epochs
    "best-epochs5": (BEST_MODEL, {}, {"max_epochs": 5}),
    "best-epochs8": (BEST_MODEL, {}, {"max_epochs": 8}),
    "best-chat": (BEST_MODEL, {"prompt_style": "chat"}, {}),                 # lever: prompt format
    "best-bs4": (BEST_MODEL, {"batch_size": 4}, {}),                         # lever: 4x the optimizer steps
    "best-n160": (BEST_MODEL, {"limit_train": 160}, {}),                     # learning curve
    "best-n500": (BEST_MODEL, {"limit_train": 500}, {}),
    "best-n1000": (BEST_MODEL, {"limit_train": 1000}, {}),
    "best-nl-only": (BEST_MODEL, {"source": "nl"}, {}),                      # joint vs one source
    "best-code-only": (BEST_MODEL, {"source": "code"}, {}),
    "best-smcat-only": (BEST_MODEL, {"source": "smcat"}, {}),
}


class StepLog(L.Callback):
    """Per optimizer step: loss, and the non-pad tokens seen (for tokens/s)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, float]] = []
        self.tokens = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.tokens += int(batch["attention_mask"].sum())
        self.rows.append((trainer.global_step, float(outputs["loss"])))


def filtered_train_file(source: str, out: Path) -> str:
    """The shipped train split restricted to one source (for the joint-vs-separate question)."""
    records = [r for r in read_jsonl(ROOT / "data" / "train.jsonl") if r.get("source") == source]
    path = out / f"train-{source}.jsonl"  # written as scripts/build_dataset.py writes the shipped lines
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records), encoding="utf-8")
    return str(path)


def predict_file(module: DotLoRAModule, data: DotDataModule, records_file: str, limit: int | None, out: Path,
                 batch_size: int, max_new_tokens: int) -> Path:
    """Generate for the first ``limit`` records of a JSONL file in the run's prompt format; write predictions."""
    records = read_jsonl(records_file)
    records = records[:limit] if limit else records
    fmt = data.prompt_format
    prompt_ids = [fmt.encode(module.tokenizer, record["prompt"])["input_ids"] for record in records]
    predictions = generate_dot(module.model, module.tokenizer, prompt_ids, max_new_tokens=max_new_tokens,
                               batch_size=batch_size)
    with out.open("w", encoding="utf-8") as handle:
        for record, prediction in zip(records, predictions):
            handle.write(json.dumps({**record, "prediction": prediction}, ensure_ascii=False) + "\n")
    return out


def run(name: str, args: argparse.Namespace) -> dict:
    model_over, data_over, trainer_over = RUNS[name]
    out = Path(args.out) / name
    out.mkdir(parents=True, exist_ok=True)
    L.seed_everything(42, workers=True)
    data_over = dict(data_over)
    if "source" in data_over:
        data_over["train_file"] = filtered_train_file(data_over.pop("source"), out)
    module = DotLoRAModule(**(SEED_MODEL | model_over))
    data = DotDataModule(**(SEED_DATA | {"batch_size": args.batch_size} | data_over))
    data.connect(module.tokenizer)
    trainer_settings = SEED_TRAINER | {"accumulate_grad_batches": args.accumulate} | trainer_over
    step_log = StepLog()
    if args.max_train_minutes:
        trainer_settings["max_time"] = {"minutes": args.max_train_minutes}
    trainer = L.Trainer(accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, num_sanity_val_steps=0, limit_val_batches=0,
                        gradient_clip_val=1.0, callbacks=[step_log], **trainer_settings)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    if trainer_settings["max_epochs"] > 0:
        trainer.fit(module, datamodule=data)
    else:
        module.build(trainer.strategy.root_device)
        data.setup("fit")
    train_seconds = time.perf_counter() - started
    peak_train = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    adapter = model_over.get("adapter")
    if trainer_settings["max_epochs"] > 0:
        adapter = str(export_adapter(module, out / "adapter", datamodule=data))
    if args.eval_quantization and args.eval_quantization != module.hparams.quantization:
        # Score the adapter on a plain bf16 copy of the base, as it is deployed (merge/generate); nf4 decoding is
        # several times slower and the base row is scored the same way.
        device = trainer.strategy.root_device
        del module, trainer
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        module = DotLoRAModule(**(SEED_MODEL | model_over | {"quantization": args.eval_quantization,
                                                              "adapter": adapter}))
        module.build(device)
    (out / "losses.csv").write_text("step,loss\n" + "".join(f"{s},{l:.5f}\n" for s, l in step_log.rows))

    result: dict = {"run": name, "model": SEED_MODEL | model_over, "eval_quantization": args.eval_quantization, "data": SEED_DATA | data_over,
                    "trainer": trainer_settings, "train_seconds": round(train_seconds, 1),
                    "train_tokens": step_log.tokens, "peak_train_gib": peak_train,
                    "tokens_per_s": round(step_log.tokens / train_seconds) if step_log.tokens else None,
                    "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"}
    evaluations = {"test": (str(ROOT / "data" / "test.jsonl"), args.test_limit)}
    if args.train_limit:
        evaluations["train_sample"] = (str(ROOT / "data" / "train.jsonl"), args.train_limit)
    if args.smcat:
        evaluations["smcat_fixtures"] = (args.smcat, None)
    for split, (records_file, limit) in evaluations.items():
        started = time.perf_counter()
        predictions = predict_file(module, data, records_file, limit, out / f"predictions-{split}.jsonl",
                                   args.generate_batch_size, args.max_new_tokens)
        scores = score(input=str(predictions), group_by=["kind", "source"], quiet=True)
        result[split] = scores | {"generate_seconds": round(time.perf_counter() - started, 1)}
    with (Path(args.out) / "results.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(result) + "\n")
    print(f"== {name}: test edge_f1 {result['test']['edge_f1']:.3f} parse {result['test']['parse_rate']:.3f}; "
          f"train {train_seconds:.0f}s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="base,main", help=f"comma-separated, of: {', '.join(RUNS)}")
    parser.add_argument("--out", default="results")
    parser.add_argument("--smcat", default=None, help="records from scripts/smcat_fixtures_to_records.py")
    parser.add_argument("--test-limit", type=int, default=None, help="score only the first n test records")
    parser.add_argument("--train-limit", type=int, default=200, help="train records scored for the memorisation check (0: none)")
    parser.add_argument("--batch-size", type=int, default=SEED_DATA["batch_size"], help="unless the run sets one")
    parser.add_argument("--accumulate", type=int, default=1, help="unless the run sets one")
    parser.add_argument("--generate-batch-size", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    parser.add_argument("--eval-quantization", choices=["nf4", "none"], default=None,
                        help="score on this base instead of the training one (none: bf16, as merged/deployed)")
    parser.add_argument("--max-train-minutes", type=float, default=None, help="stop training early (Trainer max_time)")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    torch.set_float32_matmul_precision("high")
    for name in args.runs.split(","):
        try:
            run(name, args)
        except Exception as error:  # one failed variant must not lose the others' numbers
            print(f"== {name}: FAILED {type(error).__name__}: {error}", flush=True)
            with (Path(args.out) / "results.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"run": name, "error": f"{type(error).__name__}: {error}"}) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
