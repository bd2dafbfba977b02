"""The smcat source: generator, render cache and the build's use of it - all without node or network."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from dotlightning.data.records import read_jsonl
from dotlightning.data.synth import build as build_dataset
from dotlightning.data.synth import smcat as dataset_smcat
from dotlightning.data.synth import smcat_render
from dotlightning.data.synth.vocab import pool
from dotlightning.metrics.dot import parse_dot

ROOT = Path(__file__).resolve().parents[3]

SHIPPED_CACHE = ROOT / "data" / "smcat-renders.jsonl.gz"


@pytest.fixture(scope="module")
def cache() -> dict[str, dict]:
    return smcat_render.load_cache(SHIPPED_CACHE)


@pytest.fixture(scope="module")
def smcat_records() -> list[dict]:
    out = []
    for s in ("train", "val", "test"):
        for r in read_jsonl(ROOT / "data" / f"{s}.jsonl"):
            if r["source"] == "smcat":
                out.append(r)
    return out


def test_every_smcat_completion_is_a_cached_render(cache, smcat_records):
    rendered = {v["dot"].strip() for v in cache.values() if "dot" in v}
    assert smcat_records and all(r["completion"] in rendered for r in smcat_records)


def test_cached_renders_parse(cache):
    dots = [v["dot"] for v in cache.values() if "dot" in v]
    assert len(dots) >= 880
    assert all(parse_dot(d) is not None for d in dots)
    assert all(d.startswith('digraph "state transitions" {') for d in dots)


def test_smcat_lengths_within_their_bound(smcat_records):
    bound = build_dataset.max_est_tokens("smcat")
    assert build_dataset.max_est_tokens("nl") == build_dataset.MAX_EST_TOKENS == 460
    lens = [build_dataset.estimate_tokens(build_dataset.full_text(r["prompt"], r["completion"])) for r in smcat_records]
    assert max(lens) <= bound <= 1200


def test_fixture_phrasing_is_common(smcat_records):
    share = sum(r["prompt"].startswith("smcat -> dot:\n\n") for r in smcat_records) / len(smcat_records)
    assert share > 0.25


def test_cache_hit_needs_no_node(tmp_path):
    src = "a => b: go;"
    path = tmp_path / "c.jsonl.gz"
    smcat_render.save_cache(path, {smcat_render.source_key(src): {"dot": "digraph x { a -> b }"}})
    r = smcat_render.SmcatRenderer(path, node_dir=tmp_path / "no-node-here")
    assert r.render(src) == {"dot": "digraph x { a -> b }"}
    assert not r.save()  # nothing new: the file is left alone


def test_cache_miss_without_renderer_says_how_to_install(tmp_path):
    r = smcat_render.SmcatRenderer(tmp_path / "empty.jsonl.gz", node_dir=tmp_path / "no-node-here")
    with pytest.raises(smcat_render.SmcatUnavailable) as e:
        r.render("a => b;")
    msg = str(e.value)
    assert "\n" not in msg and "cd dotlightning/data/synth/smcat-renderer && npm ci" in msg


def test_build_fails_with_one_line_on_a_miss(tmp_path, monkeypatch):
    monkeypatch.setattr(smcat_render, "NODE_DIR", tmp_path / "no-node-here")
    with pytest.raises(SystemExit) as e:
        build_dataset.main(["--out", str(tmp_path / "d"), "--smcat-cache", str(tmp_path / "empty.jsonl.gz")])
    msg = str(e.value.code)
    assert msg.startswith("error: smcat render cache miss") and "npm ci" in msg and "\n" not in msg


def test_cache_file_is_byte_reproducible(tmp_path, cache):
    some = dict(list(cache.items())[:50])
    smcat_render.save_cache(tmp_path / "a.gz", some)
    smcat_render.save_cache(tmp_path / "b.gz", dict(reversed(list(some.items()))))
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert smcat_render.load_cache(tmp_path / "a.gz") == some


def test_shipped_cache_is_exactly_what_the_build_uses():
    r = smcat_render.SmcatRenderer(SHIPPED_CACHE, node_dir=Path("/nonexistent"))
    build_dataset.build(0, smcat=r)  # would raise SmcatUnavailable on any miss
    assert not r.new and r.used == set(r.cache)


def test_generator_is_deterministic_and_uses_the_split_pools():
    a = [dataset_smcat.program(random.Random(f"t{i}"), "val") for i in range(40)]
    b = [dataset_smcat.program(random.Random(f"t{i}"), "val") for i in range(40)]
    assert a == b and len(set(a)) == 40
    held_words = {w.lower() for p in pool("state", "val") for w in re.split(r"[^A-Za-z]+", p) if len(w) > 3}
    text = " ".join(a).lower()
    assert sum(w in text for w in held_words) >= 10  # state names come from the held-out half of the pool


def test_generator_covers_the_grammar():
    progs = "\n".join(dataset_smcat.program(random.Random(i), "train") for i in range(400))
    for needle in ["initial", "final", "history", "^", "]", "{", "parallel", "entry/", "exit/", "label=", "color=",
                   "active", "type=terminate", "type=internal", "#", "[", "/", '"', "=>", "->", "class="]:
        assert needle in progs, needle
