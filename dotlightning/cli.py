"""The command line: Lightning's own CLI for fit/validate/test/predict, plus score, generate, export and merge.

    python -m dotlightning fit --config configs/gemma.yaml
    python -m dotlightning validate --config configs/gemma3-270m.yaml          # the untuned base, same metrics
    python -m dotlightning score --input predictions.jsonl
    python -m dotlightning generate --prompt "a state machine: idle -> busy on start"
"""

from __future__ import annotations

import sys
from pathlib import Path

import jsonargparse
from lightning.pytorch.cli import LightningCLI

from dotlightning.data import DotDataModule
from dotlightning.model import DotLoRAModule

EMBEDDED_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "gemma3-270m.yaml"
# Subcommands that are not a Trainer method: each is a plain function whose docstring is its --help.
EXTRA_COMMANDS = {
    "score": "dotlightning.score:score",
    "generate": "dotlightning.predict:generate",
    "export": "dotlightning.export:export",
    "merge": "dotlightning.export:merge",
}


class DotLightningCLI(LightningCLI):
    """LightningCLI that hands the model's tokenizer to the data module once both exist."""

    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        self.datamodule.connect(self.model.tokenizer)


def _run_extra(name: str, argv: list[str]) -> None:
    import importlib

    module_name, function_name = EXTRA_COMMANDS[name].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = jsonargparse.CLI(function, args=argv, prog=f"python -m dotlightning {name}")
    if name in ("export", "merge"):
        print(f"dotlightning: written to {result}")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    jsonargparse.set_parsing_settings(docstring_parse_attribute_docstrings=True)
    if args and args[0] in EXTRA_COMMANDS:
        _run_extra(args[0], args[1:])
        return
    # Every trainer subcommand starts from the embedded default, so `fit` alone trains Gemma 3 270M offline.
    defaults = {"default_config_files": [str(EMBEDDED_CONFIG)]} if EMBEDDED_CONFIG.is_file() else {}
    DotLightningCLI(
        DotLoRAModule,
        DotDataModule,
        args=argv,
        parser_kwargs={"prog": "python -m dotlightning"} | {cmd: defaults for cmd in ("fit", "validate", "test", "predict")},
        save_config_kwargs={"overwrite": True},
    )
