"""Shared fixtures: an isolated cache, a tiny real model (random weights, trained tokenizer), and small pair files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory) -> Path:
    """Each test session builds its own tiny checkpoint instead of touching ~/.cache."""
    path = tmp_path_factory.mktemp("dotlightning-cache")
    os.environ["DOTLIGHTNING_CACHE"] = str(path)
    return path


def make_pairs(count: int, offset: int = 0) -> list[dict]:
    """Small, varied, valid prompt/completion pairs (chains and stars of a few nodes)."""
    names = ["idle", "busy", "done", "error", "start", "stop", "load", "save", "parse", "emit", "retry", "wait"]
    pairs = []
    for index in range(offset, offset + count):
        a, b, c = names[index % 12], names[(index * 5 + 1) % 12], names[(index * 7 + 3) % 12]
        if len({a, b, c}) < 3:
            c = "node" + str(index)
        if index % 2:
            prompt = f"Draw a directed graph: {a} goes to {b}, and {b} goes to {c}. ({index})"
            completion = f"digraph G {{\n  {a} -> {b};\n  {b} -> {c};\n}}"
        else:
            prompt = f"An undirected network where {a} links to {b} and to {c}. ({index})"
            completion = f"graph G {{\n  {a} -- {b};\n  {a} -- {c};\n}}"
        pairs.append({"id": f"t{index}", "kind": "chain" if index % 2 else "network", "source": "nl",
                      "prompt": prompt, "completion": completion})
    return pairs


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def pair_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pairs")
    return {
        "train": write_jsonl(folder / "train.jsonl", make_pairs(24)),
        "val": write_jsonl(folder / "val.jsonl", make_pairs(6, offset=100)),
        "test": write_jsonl(folder / "test.jsonl", make_pairs(6, offset=200)),
    }
