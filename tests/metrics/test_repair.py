"""repair_dot: quote the bare names a model writes unquoted (the commonest reason Graphviz rejects its DOT)."""

from __future__ import annotations

import json

import pytest

from dotlightning.metrics.dot import parse_dot
from dotlightning.metrics.repair import repair_dot
from dotlightning.cli.score import score


@pytest.mark.parametrize("broken, fixed_edge", [
    ("digraph G {\n  tidepool -> tidepool-core;\n}", ("tidepool", "tidepool core")),     # a dash (manifest names)
    ("digraph { lint -> build-image -> deploy }", ("build image", "deploy")),             # mid-chain
    ("digraph { SYN_SENT -> SYN+ACK [label=ESTABLISHED] }", ("syn sent", "syn+ack")),     # a plus
    ("digraph { api -> github.com/acme/ledger }", ("api", "github.com/acme/ledger")),     # dots and slashes
    ("digraph { web -> ops@example.org }", ("web", "ops@example.org")),                   # an at sign
    ("digraph { edge -> router; router -> node }", ("edge", "router")),                   # keywords as nodes
    ("graph { a -- v1.2-rc1 }", ("a", "v1.2 rc1")),                                       # undirected
])
def test_bare_names_dot_rejects_are_quoted_so_the_graph_keeps_the_names_written(broken, fixed_edge):
    assert parse_dot(broken) is None
    repaired = repair_dot(broken)
    graph = parse_dot(repaired)
    assert graph is not None, repaired
    assert fixed_edge in graph.edges or tuple(sorted(fixed_edge)) in graph.edges, (repaired, graph.edges)


def test_strings_html_labels_comments_and_attribute_syntax_are_left_as_written():
    broken = ('digraph G { rankdir=LR; node [shape=box];\n'
              '  "a-b" -> c-d [label="x-y -> z", tooltip=<<b>p-q</b>>]; // e-f\n'
              '  /* g-h */ subgraph cluster_0 { label="k-l"; m-n }\n}')
    repaired = repair_dot(broken)
    assert repaired == broken.replace("c-d", '"c-d"').replace("m-n", '"m-n"')
    assert parse_dot(repaired) is not None


@pytest.mark.parametrize("text", [
    'digraph { a -> b [label="c-d"] }',          # valid: never touched
    "digraph { a -> }",                          # a syntax error quoting cannot fix
    "no graph here",
    'Sure! digraph { "x" -> y }',                # valid inside prose: the prose stays too
])
def test_valid_graphs_and_graphs_beyond_repair_are_returned_unchanged(text):
    assert repair_dot(text) == text


def test_score_with_repair_counts_what_generate_would_write(tmp_path, capsys):
    path = tmp_path / "p.jsonl"
    rows = [{"prediction": "digraph { a -> b-c }", "completion": 'digraph { a -> "b-c" }'},
            {"prediction": "digraph { a -> }", "completion": "digraph { a -> b }"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw, repaired = score(input=str(path), quiet=True), score(input=str(path), quiet=True, repair=True)
    capsys.readouterr()
    assert (raw["parse_rate"], raw["edge_f1"]) == (0.0, 0.0)
    assert (repaired["parse_rate"], repaired["edge_f1"]) == (0.5, 0.5)
