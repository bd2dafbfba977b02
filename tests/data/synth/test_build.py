"""The shipped dataset is exactly the build script's output, and every record meets the dataset contract."""
from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pygraphviz
import pytest

from dotlightning.data.records import read_jsonl
from dotlightning.data.synth import build as build_dataset
from dotlightning.data.synth.dot_writer import Cluster, Graph, quote_id
from dotlightning.data.synth.vocab import STRUCTURAL

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = ROOT / "scripts"

SPLITS = ("train", "val", "test")
MIN_SIZE = {"train": 3000, "val": 300, "test": 300}
SOURCES = {"nl": 0.45, "code": 0.20, "smcat": 0.20, "docs": 0.15}


def node_label(node) -> str | None:
    """A node's own label; None for none and for "\\N" (the node's name), which pygraphviz reports for every node once
    anything in the process has rendered a graph with Graphviz (tests/cli/test_report.py runs before these)."""
    label = node.attr.get("label")
    return None if label == "\\N" else label


def _load(path: Path) -> list[dict]:
    return read_jsonl(path)


@pytest.fixture(scope="module")
def shipped() -> dict[str, list[dict]]:
    return {s: _load(ROOT / "data" / f"{s}.jsonl") for s in SPLITS}


@pytest.fixture(scope="module")
def parsed(shipped) -> dict[str, list[pygraphviz.AGraph]]:
    return {s: [pygraphviz.AGraph(string=r["completion"]) for r in recs] for s, recs in shipped.items()}


def test_rebuild_is_byte_identical(tmp_path):
    build_dataset.main(["--out", str(tmp_path), "--seed", "0"])
    for s in SPLITS:
        assert (tmp_path / f"{s}.jsonl").read_bytes() == (ROOT / "data" / f"{s}.jsonl").read_bytes(), (
            f"data/{s}.jsonl is stale: run `python scripts/build_dataset.py --out data`")


class _StubSmcat:
    """Stands in for the node renderer (seed 1's smcat programs are not in the shipped cache)."""

    def render(self, src: str) -> dict:  # one node named after the program, so no two splits share a name
        return {"dot": f'digraph "state transitions" {{\n  "stub{abs(hash(src)) % 10**9}"\n}}\n'}


def test_other_seed_differs():
    data, _ = build_dataset.build(1, smcat=_StubSmcat())
    shipped_val = read_jsonl(ROOT / "data" / "val.jsonl")
    assert [r["prompt"] for r in data["val"]] != [r["prompt"] for r in shipped_val]


def _expected_mix(split: str) -> dict[str, float]:
    from dotlightning.data.synth.formats import V4_SOURCES
    n, extra, f = build_dataset.SIZES[split], build_dataset.EXTRA_TRAIN.get(split, 0), build_dataset.FORMAT_SHARE[split]
    v4 = n * (1 - SOURCES["smcat"]) * f + extra
    counts = {k: n * share * (1 if k == "smcat" else 1 - f) + v4 * V4_SOURCES.get(k, 0) for k, share in SOURCES.items()}
    return {k: c / (n + extra) for k, c in counts.items()}


def test_sizes_fields_kinds_sources(shipped):
    for s, recs in shipped.items():
        assert len(recs) >= MIN_SIZE[s]
        for r in recs:
            assert set(r) == {"id", "kind", "source", "prompt", "completion"}
            assert r["prompt"].strip() and r["completion"].strip()
        kinds = Counter(r["kind"] for r in recs)
        assert len(kinds) >= 10, kinds
        src = Counter(r["source"] for r in recs)
        assert set(src) == set(SOURCES)
        for name, share in _expected_mix(s).items():  # mix roughly as designed (v4 replaces a share, grows train)
            assert abs(src[name] / len(recs) - share) < 0.05, (s, src, name, share)
    assert len({r["id"] for recs in shipped.values() for r in recs}) == sum(map(len, shipped.values()))
    train_kinds = set(r["kind"] for r in shipped["train"])
    for s in ("val", "test"):
        assert set(r["kind"] for r in shipped[s]) == train_kinds


def test_every_completion_parses_and_is_canonical(shipped, parsed):
    header = re.compile(r'^(digraph|graph) ([A-Za-z_][A-Za-z0-9_]*|"[^"]*") \{$')
    for s, recs in shipped.items():
        for r, g in zip(recs, parsed[s]):
            if r["source"] == "smcat":  # state-machine-cat's own DOT, verbatim (tests/data/synth/test_smcat.py)
                assert r["completion"].startswith('digraph "state transitions" {') and g.is_directed(), r["id"]
                continue
            lines = r["completion"].split("\n")
            assert header.match(lines[0]), (r["id"], lines[0])
            assert lines[-1] == "}", r["id"]
            assert g.is_directed() == lines[0].startswith("digraph"), r["id"]
            depth = 1
            for line in lines[1:-1]:
                if line.strip() == "}":
                    depth -= 1
                    assert line == "  " * depth + "}", (r["id"], line)
                    continue
                assert line.startswith("  " * depth) and not line.startswith("  " * depth + " "), (r["id"], line)
                if line.endswith("{"):
                    assert re.match(r'^ {2}subgraph ("?)cluster_\w+\1 \{$', line), (r["id"], line)
                    depth += 1
                else:
                    assert line.endswith(";"), (r["id"], line)
            assert depth == 1, r["id"]
            assert "\t" not in r["completion"] and not r["completion"].endswith("\n")


def test_completion_is_derivable_from_prompt(shipped, parsed):
    """Every node ID and edge label in the completion is written somewhere in the prompt."""
    for s, recs in shipped.items():
        for r, g in zip(recs, parsed[s]):
            prompt = r["prompt"].lower()
            if r["source"] == "smcat":  # node IDs are the state names (note helpers aside); labels are smcat's HTML
                for n in g.nodes():
                    assert build_dataset.SMCAT_HELPER_NODE.match(n) or n.lower() in prompt, (r["id"], n)
                continue
            words = _words(prompt)
            for n in g.nodes():
                shown = node_label(n) or n  # label mode: snake_case id, the prompt's name is the label
                # v3 prose: "the load balancer" -> load_balancer; "access switches 1 to 3" -> access_switch_2
                fam = re.match(r"^(.+)_(\d+)$", shown)
                ranged = fam and any(int(x) <= int(fam[2]) <= int(y)  # "access switches 1 to 3"
                                     for x, y in re.findall(r"(\d+) ?(?:-|to|through) ?(\d+)", prompt))
                assert (shown.lower() in prompt or _words(shown) in words
                        or (fam and any(_words(fam[1] + pl) in words for pl in ("", "s", "es"))
                            and (fam[2] in prompt or ranged))), (r["id"], n)
            for e in g.edges():
                lab = e.attr.get("label")
                implied = lab in ("yes", "no") and re.search(r"\b(otherwise|if|else)\b", prompt)  # decisions
                stem = lab and lab.lower()[:-1] if lab and lab.endswith("e") else lab  # "close" said "closing"
                assert not lab or lab.lower() in prompt or stem.lower() in prompt or implied, (r["id"], lab)


def _words(text: str) -> str:
    """Case, quotes, '_', '-' and whitespace folded the way the scorer folds node IDs (padded for whole words)."""
    return " " + " ".join(re.split(r"[\s_\-]+", re.sub(r"[\"'`*.,;:!?()]", " ", text.lower()))).strip() + " "


_EDGE_LINE = re.compile(r'^ +([A-Za-z_][A-Za-z0-9_]*|-?[0-9.]+|"(?:[^"\\]|\\.)*") (->|--) '
                        r'([A-Za-z_][A-Za-z0-9_]*|-?[0-9.]+|"(?:[^"\\]|\\.)*")( \[.*\])?;$')


def test_multiword_names_are_single_ids(shipped, parsed):
    """Every edge statement joins exactly two IDs (never `deploy to staging -> x`), and no node ID starts with an
    article ("the load balancer" -> load_balancer, not the_load_balancer)."""
    for s, recs in shipped.items():
        for r, g in zip(recs, parsed[s]):
            if r["source"] == "smcat":
                continue
            for line in r["completion"].split("\n"):
                if " -> " in line or " -- " in line:
                    assert _EDGE_LINE.match(line), (r["id"], line)
            for n in g.nodes():
                assert not re.match(r"^(the|our|an?)[_ ]", str(n).lower()), (r["id"], n)


def test_prose_share(shipped, parsed):
    """Dataset v3: a good share of nl/docs prompts say names as plain multi-word phrases (snake_case in the DOT),
    and fan-in/fan-out by conjunction and passive relations all occur in train."""
    recs = [(r, g) for r, g in zip(shipped["train"], parsed["train"]) if r["source"] in ("nl", "docs")]
    plain = 0
    for r, g in recs:
        p = _words(r["prompt"])
        ids = [str(n) for n in g.nodes() if "_" in str(n) and not node_label(n)]
        plain += any(_words(i) in p and i not in r["prompt"] for i in ids)
    assert 0.2 < plain / len(recs) < 0.6, plain / len(recs)
    text = "\n".join(r["prompt"] for r, _ in recs)
    for phrase in (" all ", "Both ", " is called by ", " report to ", " is used by ", "otherwise",
                   " moves it from ", "First ", " comes after ", " in parallel"):
        assert text.count(phrase) >= 5, phrase


def test_no_duplicate_prompts(shipped):
    prompts = [r["prompt"] for recs in shipped.values() for r in recs]
    assert len(prompts) == len(set(prompts))


def test_heldout_vocabulary(shipped, parsed):
    """val/test node names come from pool halves train never uses (structural names like start/end excepted)."""
    train = {i for g in parsed["train"] for i in build_dataset.vocab_ids([str(n) for n in g.nodes()])}
    for s in ("val", "test"):
        held = {i for g in parsed[s] for i in build_dataset.vocab_ids([str(n) for n in g.nodes()])}
        assert not (held & train) - STRUCTURAL, sorted((held & train) - STRUCTURAL)[:10]


def test_canonical_writer():
    g = Graph(directed=True, name="my graph")
    g.attrs["rankdir"] = "LR"
    g.node("lonely")
    g.node("x y", label='say "hi"')
    g.clusters.append(Cluster("back", "Back end", ["db"]))
    g.edge("a", "x y", label="go")
    g.edge("x y", "db")
    assert g.to_dot() == (
        'digraph "my graph" {\n  rankdir="LR";\n  lonely;\n  "x y" [label="say \\"hi\\""];\n'
        '  subgraph cluster_back {\n    label="Back end";\n    db;\n  }\n'
        '  a -> "x y" [label="go"];\n  "x y" -> db;\n}')
    pygraphviz.AGraph(string=g.to_dot())
    assert [quote_id(x) for x in ("abc_1", "1.5", "node", "a-b", "Ab")] == ["abc_1", "1.5", '"node"', '"a-b"', "Ab"]


def test_smcat_fixture_tool(tmp_path):
    fx = tmp_path / "fixtures"
    fx.mkdir()
    (fx / "001-one.smcat").write_text("a => b: go;\n")
    (fx / "001-one.dot").write_text('digraph "state transitions" {\n  "a" -> "b" [label="go"]\n}\n')
    (fx / "002-orphan.smcat").write_text("a;\n")  # no .dot: reported, skipped
    out = tmp_path / "eval.jsonl"
    proc = subprocess.run([sys.executable, str(SCRIPTS / "smcat_fixtures_to_records.py"), str(fx), "--out", str(out)],
                          capture_output=True, text=True, check=True)
    assert "002-orphan.smcat" in proc.stderr
    recs = _load(out)
    assert len(recs) == 1
    r = recs[0]
    assert r["kind"] == "state_machine" and r["source"] == "smcat" and r["id"] == "smcat-fixture-001-one"
    assert "a => b: go;" in r["prompt"] and r["completion"].startswith('digraph "state transitions"')
    from dotlightning.data.synth.text import SMCAT_INSTRUCTIONS
    assert any(ins in r["prompt"] for ins in SMCAT_INSTRUCTIONS)  # same wording as the dataset's smcat source
