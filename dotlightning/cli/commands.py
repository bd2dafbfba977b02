"""The command line: Lightning's own CLI for fit/validate/test/predict, plus score, report, generate, export and merge.

    python -m dotlightning fit --config configs/gemma.yaml
    python -m dotlightning validate --config configs/gemma3-270m.yaml          # the untuned base, same metrics
    python -m dotlightning score --input predictions.jsonl
    python -m dotlightning report --input tuned.jsonl --base base.jsonl --output report.html   # metrics, loss, graphs
    python -m dotlightning generate --prompt "a state machine: idle -> busy on start"
    python -m dotlightning predict --config configs/tiny.yaml      # <log_dir>/predictions-predict-rank0.jsonl
    python -m dotlightning export --format gguf --adapter DIR --output model.gguf    # llama.cpp, Ollama (docs/deploy.md)

``configs/NAME.yaml`` is looked up in the installed package when no such file exists where you run it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import jsonargparse
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from dotlightning.data.datamodule import DotDataModule
from dotlightning.model.memory import cuda_memory_gib
from dotlightning.model.module import DotLoRAModule
from dotlightning.train.callbacks import WritePredictions, WriteSamples

# Configs ship inside the package (package data), so an installed wheel run from any directory finds them.
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
EMBEDDED_CONFIG = CONFIG_DIR / "gemma3-270m.yaml"
# Subcommands that are not a Trainer method: each is a plain function whose docstring is its --help.
EXTRA_COMMANDS = {
    "score": "dotlightning.cli.score:score",
    "report": "dotlightning.cli.report:report",
    "generate": "dotlightning.cli.generate:generate",
    "export": "dotlightning.cli.export:export",
    "merge": "dotlightning.cli.export:merge",
}


# The callbacks a config sets by name (``callbacks.NAME``), in the order the trainer gets them. Config files replace
# lists and dicts wholesale, but merge separate keys one by one: so a config overrides one callback's init_args, or
# removes it (null), without repeating the rest. Callbacks without a name go in trainer.callbacks (after these).
CALLBACK_NAMES = ("exact_resume", "stop_on_nonfinite_loss", "explain_out_of_memory", "last_checkpoint",
                  "best_checkpoint", "lr_monitor", "export_adapter", "base_vs_tuned")


class DotLightningCLI(LightningCLI):
    """LightningCLI that hands the model's tokenizer to the data module once both exist, and takes callbacks by name.

    ``callbacks:`` (top level) maps each of :data:`CALLBACK_NAMES` to a callback or null, so a later config changes
    one by name or removes it without repeating the list: ``callbacks: {last_checkpoint: {init_args:
    {every_n_train_steps: 20}}, lr_monitor: null}``. The trainer gets them in that order, then ``trainer.callbacks``.
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in CALLBACK_NAMES:
            parser.add_argument(f"--callbacks.{name}", type=Optional[Callback], default=None,
                                help=f"The {name} callback (null: none); see configs/gemma3-270m.yaml.")

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        named = [self._get(self.config_init, f"callbacks.{name}") for name in CALLBACK_NAMES]
        listed = self._get(self.config_init, "trainer", default={}).get("callbacks") or []
        listed = listed if isinstance(listed, list) else [listed]
        return super().instantiate_trainer(**{"callbacks": [c for c in named if c is not None] + listed, **kwargs})

    def before_instantiate_classes(self) -> None:
        if self.subcommand == "fit":
            apply_memory_budget(self.config[self.subcommand])

    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        self.datamodule.connect(self.model.tokenizer)


def fit_compiles(config) -> bool:
    """Whether a fit of ``config`` on a CUDA device compiles its step when checkpointing is off
    (``compilation.resolve_compile``)."""
    from types import SimpleNamespace

    import torch

    from dotlightning.model.compilation import resolve_compile

    data = SimpleNamespace(packing=config.get("data.packing"), pad_to_multiple_of=config.get("data.pad_to_multiple_of"))
    return resolve_compile(config.get("model.compile"), torch.device("cuda"), data, checkpointing=False) is not None


def apply_memory_budget(config) -> None:
    """With ``model.memory_budget_gib`` set, replace gradient checkpointing, batch size and accumulation by what
    ``memory.pick_knobs`` picks for the budget (the effective batch stays), and say so; null changes nothing.
    ``auto``: the budget is ``memory.AUTO_FRACTION`` of the CUDA device's memory; without a CUDA device, or for a base
    model the memory table has not measured, the config's own knobs stay (and a line says so)."""
    budget = config.get("model.memory_budget_gib")
    if budget is None:
        return
    from dotlightning.model.memory import AUTO_FRACTION, pick_knobs, shape_of

    base_model = config["model.base_model"]
    shape = shape_of(base_model)
    if budget == "auto":
        total = cuda_memory_gib()
        if total is None or shape is None:
            why = "no CUDA device" if total is None else f"no measurement of {base_model!r} in the memory table"
            print(f"dotlightning: model.memory_budget_gib=auto: {why}, so the config's gradient_checkpointing="
                  f"{config.get('model.gradient_checkpointing')}, batch size and accumulation stay")
            return
        budget = round(AUTO_FRACTION * total, 1)
    if shape is None:
        raise ValueError(f"model.memory_budget_gib={budget}: the memory table has no measurement of {base_model!r}. "
                         "Fix: set model.memory_budget_gib to null and choose model.gradient_checkpointing, "
                         "data.batch_size and trainer.accumulate_grad_batches yourself, or measure it with "
                         "scripts/measure_memory.py and add it to dotlightning/configs/memory.json")
    length = config["data.pack_length"] if config.get("data.packing") else config["data.max_seq_length"]
    accumulate = config.get("trainer.accumulate_grad_batches") or 1
    knobs = pick_knobs(shape, length, config["data.batch_size"], accumulate, budget, compiles=fit_compiles(config))
    config["model.gradient_checkpointing"] = knobs.gradient_checkpointing
    config["data.batch_size"] = knobs.batch_size
    config["trainer.accumulate_grad_batches"] = knobs.accumulate_grad_batches
    setting = config.get("model.memory_budget_gib")
    budget_text = f"auto ({budget} GiB of this GPU)" if setting == "auto" else budget
    print(f"dotlightning: model.memory_budget_gib={budget_text}: gradient_checkpointing={knobs.gradient_checkpointing}, "
          f"batch_size {knobs.batch_size} x accumulate_grad_batches {knobs.accumulate_grad_batches} (estimated peak "
          f"{knobs.estimated_peak_gib} GiB at {length} tokens per row, dotlightning/configs/memory.json)")


def _run_extra(name: str, argv: list[str]) -> None:
    import importlib

    module_name, function_name = EXTRA_COMMANDS[name].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = jsonargparse.CLI(function, args=argv, prog=f"python -m dotlightning {name}")
    if name in ("export", "merge"):
        print(f"dotlightning: written to {result}")


def resolve_config(path: str) -> str:
    """A ``--config`` path as given if it exists, else ``configs/NAME.yaml`` looked up among the packaged configs.

    So ``--config configs/gemma.yaml`` works from the repository root, from an empty directory after ``pip install``,
    and from a checkout whose own ``configs/`` folder holds a user's edited copy (a file that exists always wins).

    >>> resolve_config("configs/tiny.yaml") == str(CONFIG_DIR / "tiny.yaml")
    True
    >>> resolve_config("my-own.yaml")
    'my-own.yaml'
    """
    if Path(path).exists():
        return path
    parts = Path(path).parts
    if len(parts) > 1 and parts[0] == "configs" and (CONFIG_DIR.joinpath(*parts[1:])).is_file():
        return str(CONFIG_DIR.joinpath(*parts[1:]))
    return path


def _resolve_config_args(args: list[str]) -> list[str]:
    """Rewrite the values of ``--config X``, ``--config=X`` and ``-c X`` with :func:`resolve_config`."""
    resolved = list(args)
    for index, arg in enumerate(resolved):
        if arg in ("--config", "-c") and index + 1 < len(resolved):
            resolved[index + 1] = resolve_config(resolved[index + 1])
        elif arg.startswith("--config="):
            resolved[index] = "--config=" + resolve_config(arg.split("=", 1)[1])
    return resolved


def main(argv: list[str] | None = None) -> None:
    args = _resolve_config_args(list(sys.argv[1:] if argv is None else argv))
    if argv is None:  # LightningCLI warns when given args while sys.argv has some: hand it the resolved sys.argv
        sys.argv[1:] = args
    jsonargparse.set_parsing_settings(docstring_parse_attribute_docstrings=True)
    if args and args[0] in EXTRA_COMMANDS:
        _run_extra(args[0], args[1:])
        return
    # Every trainer subcommand starts from the embedded default, so `fit` alone trains Gemma 3 270M offline.
    defaults = {"default_config_files": [str(EMBEDDED_CONFIG)]} if EMBEDDED_CONFIG.is_file() else {}
    DotLightningCLI(
        DotLoRAModule,
        DotDataModule,
        args=None if argv is None else args,
        parser_kwargs={"prog": "python -m dotlightning"} | {cmd: defaults for cmd in ("fit", "validate", "test", "predict")},
        save_config_kwargs={"overwrite": True},
        # The files every run leaves (rendered validation samples, test/predict predictions), whatever the config's
        # callback list: the module only collects them.
        trainer_defaults={"callbacks": [WriteSamples(), WritePredictions()]},
    )
