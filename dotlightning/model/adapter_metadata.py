"""What an adapter directory records about itself, read and checked without loading a model: ``dotlightning.json``
(the exact base spec, the prompt format, the recipe), where the packaged adapters are, and whether an adapter fits the
configured base. ``module.py`` (training, loading) and ``adapter_export.py`` (writing adapters) both use it; it imports neither.
"""

from __future__ import annotations

import json
from pathlib import Path

ADAPTER_METADATA = "dotlightning.json"
PACKAGED_ADAPTERS = Path(__file__).resolve().parents[1] / "adapters"  # package data, so an installed wheel has them


def resolve_adapter(path: str | None) -> str | None:
    """An adapter path as given if it exists, else ``adapters/NAME`` looked up among the packaged adapters (they
    lived in the repository's top-level ``adapters/`` before they became package data).

    >>> resolve_adapter("adapters/gemma3-270m-dot") == str(PACKAGED_ADAPTERS / "gemma3-270m-dot")
    True
    >>> resolve_adapter(""), resolve_adapter("runs/x/adapter")
    ('', 'runs/x/adapter')
    """
    if not path or Path(path).exists():
        return path
    parts = Path(path).parts
    if len(parts) > 1 and parts[0] == "adapters" and PACKAGED_ADAPTERS.joinpath(*parts[1:]).is_dir():
        return str(PACKAGED_ADAPTERS.joinpath(*parts[1:]))
    return path


def prompt_metadata(datamodule) -> dict:
    """How the model was prompted in training (style, system text, length limit), from a data module if there is one."""
    if datamodule is None:
        return {}
    return {
        "prompt_style": getattr(datamodule, "prompt_style", "tags"),
        "system_prompt": getattr(datamodule, "system_prompt", None),
        "max_seq_length": getattr(datamodule, "max_seq_length", None),
    }


class CheckpointMismatchError(RuntimeError):
    """A checkpoint or adapter was trained on a different base model than the one configured."""


def check_adapter_base(adapter: str | Path, base_model: str) -> None:
    """Refuse an adapter trained on another base, naming both."""
    trained_on = read_adapter_metadata(adapter).get("base_model")
    if trained_on and trained_on != base_model:
        raise CheckpointMismatchError(
            f"adapter {str(adapter)!r} was trained on base_model {trained_on!r}, but this run uses {base_model!r}; "
            "set model.base_model to the adapter's base"
        )


def read_adapter_metadata(adapter: str | Path) -> dict:
    path = Path(adapter) / ADAPTER_METADATA
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
