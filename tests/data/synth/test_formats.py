"""Dataset v4 formats (dotlightning/data/synth/formats*.py): each pasted file means exactly the graph written for it.

The oracles here read the prompt with real parsers (yaml, json, csv, tomllib) or plain regexes over the code, never
with the generator's own bookkeeping, and compare with the completion as Graphviz reads it.
"""
from __future__ import annotations

import csv
import io
import json
import random
import re
import tomllib
from pathlib import Path

import pygraphviz
import pytest
import yaml

from dotlightning.data.records import read_jsonl
from dotlightning.data.synth import build as build_dataset
from dotlightning.data.synth import formats as F
from dotlightning.data.synth.formats_code import CODE_FORMATS

SEEDS = range(25)


def _records(choice, split="train", seeds=SEEDS):
    for seed in seeds:
        rng = random.Random(f"{seed}-{choice}")
        kind, src, prompt, g = F.gen_format(rng, split, choice)
        yield kind, src, prompt, g, pygraphviz.AGraph(string=g.to_dot())


def _edges(ag) -> list[tuple[str, str]]:
    return [(str(a), str(b)) for a, b in ag.edges()]


def _labelled(ag) -> set[tuple[str, str, str]]:
    return {(str(e[0]), str(e[1]), e.attr.get("label")) for e in ag.edges()}


def _code(prompt: str) -> str:
    """The pasted file without the instruction line(s) and fences."""
    return re.sub(r"^```\w*$", "", prompt, flags=re.M)


@pytest.mark.parametrize("fmt", list(CODE_FORMATS))
def test_each_code_format_parses_and_names_every_node(fmt):
    for kind, src, prompt, g, ag in _records(("code", fmt)):
        assert src == "code" and ag.number_of_nodes() == len(g.nodes) and ag.number_of_edges() == len(g.edges)
        for n in ag.nodes():
            # Terraform says `resource "aws_s3_bucket" "logs"` for aws_s3_bucket.logs
            t, _, nm = str(n).partition(".")
            assert str(n) in prompt or f'"{t}" "{nm}"' in prompt, (fmt, str(n), prompt)
        for *_, lab in _labelled(ag):
            assert lab is None or lab in prompt


@pytest.mark.parametrize("split", ["train", "test"])
def test_sql_foreign_keys_point_from_referencing_to_referenced_table(split):
    checked = 0
    for kind, _, prompt, g, ag in _records(("code", "sql"), split):
        want = set()
        for m in re.finditer(r"CREATE TABLE (\S+) \((.*?)\n\);", prompt, re.S):
            want |= {(m[1], r) for r in re.findall(r"REFERENCES (\S+?)\(id\)", m[2])}
        want |= set(re.findall(r"ALTER TABLE (\S+) ADD .*? REFERENCES (\S+?)\(id\);", prompt))
        assert kind == "sql_schema" and set(_edges(ag)) == want, prompt
        checked += len(want)
    assert checked > 20


def test_ci_needs_gives_upstream_to_downstream():
    for kind, _, prompt, g, ag in _records(("code", "ci")):
        doc = _yaml_part(prompt)
        jobs = doc["jobs"] if "jobs" in doc else {k: v for k, v in doc.items() if isinstance(v, dict)}
        want = set()
        for job, spec in jobs.items():
            needs = spec.get("needs", [])
            for up in [needs] if isinstance(needs, str) else needs:
                want.add((up, job))  # `test: needs: [build]` -> build -> test
        assert kind == "ci" and set(_edges(ag)) == want


def _yaml_part(prompt: str) -> dict:
    """Parse the pasted YAML, whichever side of it the instruction sits."""
    lines = _code(prompt).strip().split("\n")
    for lo in range(3):  # the instruction is a line or two before or after the file
        for hi in range(len(lines), len(lines) - 3, -1):
            try:
                doc = yaml.safe_load("\n".join(lines[lo:hi]))
            except yaml.YAMLError:
                continue
            if isinstance(doc, dict):
                return doc
    raise AssertionError(prompt)


def test_compose_depends_on_points_to_the_dependency():
    n = 0
    for seed in range(60):
        kind, _, prompt, g, ag = next(_records(("code", "build"), seeds=[seed]))
        if "services:" not in prompt:
            continue
        svcs = _yaml_part(prompt)["services"]
        want = {(s, d) for s, spec in svcs.items() for d in (spec.get("depends_on") or [])}
        assert kind == "build" and set(_edges(ag)) == want
        n += 1
    assert n >= 10


def test_makefile_target_points_to_each_prerequisite():
    n = 0
    for seed in range(60):
        kind, _, prompt, g, ag = next(_records(("code", "build"), seeds=[seed]))
        if "\t" not in prompt:
            continue
        want = set()
        for t, pre in re.findall(r"^([^\s:.=][^\s:=]*):(.*)$", prompt, re.M):
            want |= {(t, p) for p in pre.split()}
        assert set(_edges(ag)) == want, prompt
        n += 1
    assert n >= 10


def _toml(text: str) -> dict:
    lines = text.strip().split("\n")
    for hi in range(len(lines), len(lines) - 3, -1):  # an instruction may follow the last file
        try:
            return tomllib.loads("\n".join(lines[:hi]))
        except tomllib.TOMLDecodeError:
            continue
    raise AssertionError(text)


def test_manifests_point_from_package_to_dependency_and_keep_scoped_names():
    scoped = 0
    for kind, _, prompt, g, ag in _records(("code", "manifest"), seeds=range(60)):
        want = set()
        for block in re.split(r"\n(?=(?://|#) )", _code(prompt)):
            block = block.strip()
            head, _, rest = block.partition("\n")
            if "package.json" in head:
                d = json.JSONDecoder().raw_decode(rest.strip())[0]
                want |= {(d["name"], x) for x in d["dependencies"]}
            elif "Cargo.toml" in head or "pyproject" in head:
                d = _toml(rest.split("\n```")[0])
                if "package" in d:
                    want |= {(d["package"]["name"], x) for x in d["dependencies"]}
                else:
                    want |= {(d["project"]["name"], re.split(r"[<>=~]", x)[0]) for x in d["project"]["dependencies"]}
            elif "requirements.txt" in head:
                me = head.split(" of ")[1]
                want |= {(me, re.split(r"[<>=~]", x)[0]) for x in rest.split("\n") if re.match(r"^[\w-]+[<>=~]", x)}
            elif "go.mod" in head:
                me = re.search(r"^module (\S+)", rest, re.M)[1]
                want |= {(me, x) for x in re.findall(r"^\t(\S+) v", rest, re.M)}
        assert kind == "manifest" and set(_edges(ag)) == want, prompt
        scoped += any(str(n).startswith("@") and "/" in str(n) for n in ag.nodes())
    assert scoped >= 5


def test_transition_tables_give_labelled_state_edges():
    for kind, _, prompt, g, ag in _records(("code", "transition_table"), seeds=range(60)):
        body = _code(prompt)
        want = set()
        if "|---|" in body:
            want = {(a, c, b) for a, b, c in re.findall(r"^\| (\S+) \| (\S+) \| (\S+) \|$", body, re.M)
                    if not re.search(r"^(From|State|Current)$", a)}
        elif re.search(r"^(from|state|src),", body, re.M):
            text = body[re.search(r"^(from|state|src),", body, re.M).start():].split("\n\n")[0]
            want = {(r[0], r[2], r[1]) for r in list(csv.reader(io.StringIO(text.strip())))[1:]}
        elif "states:\n" in body:
            want = {(s, to, ev) for s, v in _yaml_part(prompt)["states"].items() for ev, to in v.get("on", v.get(True)).items()}
        else:
            text = body[min(i for i in (body.find("{"), body.find("[")) if i >= 0):]
            obj = json.JSONDecoder().raw_decode(text)[0]
            if isinstance(obj, list):
                want = {(r["from"], r["to"], r["event"]) for r in obj}
            else:
                obj = obj.get("states", obj)
                want = {(s, to, ev) for s, m in obj.items() for ev, to in m.items()}
        assert kind == "transition_table" and _labelled(ag) == want, prompt


def test_enum_switch_edges_are_state_to_next_state_labelled_with_event():
    for kind, _, prompt, g, ag in _records(("code", "enum_switch"), seeds=range(40)):
        want = set()
        for m in re.finditer(r"\(State::(\w+), Event::(\w+)\) => State::(\w+)", prompt):
            want.add((m[1], m[3], m[2]))
        cur = None
        for line in prompt.split("\n"):
            c = re.match(r"\s*case (?:State\.)?(\w+):", line)
            cur = c[1] if c else cur
            t = re.search(r"if \(ev ===? (?:Event\.)?(\w+)\) return (?:State\.)?(\w+);", line)
            if t:
                want.add((cur, t[2], t[1]))
        assert kind == "state_machine" and _labelled(ag) == want, prompt


def test_includes_and_imports_point_from_file_to_what_it_includes():
    for kind, _, prompt, g, ag in _records(("code", "imports"), seeds=range(60)):
        if "#include" not in prompt:
            continue
        want, cur = set(), None
        for line in prompt.split("\n"):
            h = re.match(r"^(?://|/\*)(?: file:)? (\S+?)(?: \*/)?$", line)
            cur = h[1] if h else cur
            inc = re.match(r'^#include "(.+)"$', line)
            if inc:
                want.add((cur, inc[1]))
        assert kind == "dependency" and set(_edges(ag)) == want
        assert all("<" not in str(n) for n in ag.nodes())  # system headers are left out


def test_special_names_survive_quoting():
    """Dots, '@', slashes and dashes stay exactly as written: the DOT quotes them and Graphviz reads them back."""
    seen = set()
    for fmt in ("manifest", "imports", "sql", "build", "edge_list"):
        for kind, _, prompt, g, ag in _records(("code", fmt), seeds=range(40)):
            for n in g.nodes:
                if re.search(r"[.@/-]", n):
                    assert f'"{n}"' in g.to_dot() and ag.has_node(n)
                    seen |= {c for c in ".@/-" if c in n}
    assert seen == set(".@/-")


def test_long_grouped_descriptions_have_labelled_clusters():
    for directed in (True, False):
        choice = ("nl", "clustered" if directed else "network")
        for kind, src, prompt, g, ag in _records(choice, seeds=range(30)):
            assert ag.is_directed() == directed and g.to_dot().startswith("digraph" if directed else "graph")
            dotted = all("." in n for n in g.nodes)  # `api.users` style: prefixes are the groups, fewer nodes
            assert len(g.nodes) >= (8 if dotted else 12) and len(g.clusters) >= (2 if dotted else 3)
            members = [n for c in g.clusters for n in c.nodes]
            assert sorted(members) == sorted(g.nodes)  # every node in exactly one cluster
            for sub in ag.subgraphs():
                assert sub.name.startswith("cluster_") and sub.graph_attr["label"].lower() in prompt.lower()


def test_docs_excerpts_carry_unrelated_sections():
    for kind, src, prompt, g, ag in _records(("docs", "doc"), "test", seeds=range(20)):
        assert src == "docs" and ag.number_of_edges() >= 1
        assert prompt.count("\n## ") >= 2 or prompt.count("\nh2. ") >= 2


def test_held_out_split_never_reuses_train_node_ids():
    def ids(split):
        out = set()
        for seed in range(150):
            _, _, _, g = F.gen_format(random.Random(f"v{seed}"), split)
            out |= build_dataset.vocab_ids(list(g.nodes))
        return out
    assert not ids("train") & ids("test")


def test_same_seed_same_records():
    a = [F.gen_format(random.Random(s), "val") for s in range(30)]
    b = [F.gen_format(random.Random(s), "val") for s in range(30)]
    assert [(k, s, p, g.to_dot()) for k, s, p, g in a] == [(k, s, p, g.to_dot()) for k, s, p, g in b]


def test_shipped_test_split_has_every_v4_kind():
    recs = read_jsonl(Path(build_dataset.__file__).parents[3] / "data" / "test.jsonl")
    kinds = {(r["source"], r["kind"]) for r in recs}
    for k in ("sql_schema", "build", "ci", "manifest", "edge_list", "transition_table"):
        assert ("code", k) in kinds
    assert ("nl", "clustered") in kinds
