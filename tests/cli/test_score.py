"""The score command: its table and final JSON line, group rows from the same formulas as the overall row, and errors
that name the file, the line and the fix."""

from __future__ import annotations

import json

import pytest

from dotlightning.cli.score import main, score
from dotlightning.metrics.graph_metrics import DotGraphMetrics, sample_scores
from dotlightning.metrics.tables import format_table, group_scores


def values(metric: DotGraphMetrics) -> dict[str, float]:
    return {k: float(v) for k, v in metric.compute().items()}


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return str(path)


ROWS = [
    {"prediction": "digraph { a -> b }", "completion": "digraph { a -> b }", "kind": "flow", "source": "s1"},
    {"prediction": "```dot\ndigraph { a -> b }\n```", "completion": "digraph { a -> b; b -> c }", "kind": "fsm"},
    {"prediction": None, "completion": "graph { a -- b }", "kind": "fsm", "source": "s1"},
]


def test_score_prints_table_and_final_json_line(tmp_path, capsys):
    result = score(input=write_jsonl(tmp_path / "p.jsonl", ROWS), group_by="kind")
    lines = capsys.readouterr().out.strip().splitlines()
    last = json.loads(lines[-1])
    assert {"parse_rate", "clean_rate", "node_f1", "edge_f1", "edge_label_f1", "exact_match", "n"} <= set(last)
    assert last["n"] == 3 and last["parse_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert last["groups"]["kind"]["fsm"]["n"] == 2 and last["groups"]["kind"]["flow"]["exact_match"] == 1.0
    assert result["edge_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert any(line.startswith("all") for line in lines)


def test_group_scores_match_the_overall_metric():
    scores = [sample_scores(r["prediction"] or "", r["completion"]) for r in ROWS]
    groups = group_scores(scores, [r.get("source") for r in ROWS])
    assert set(groups) == {"(none)", "s1"}
    total = sum(g["edge_f1"] * g["n"] for g in groups.values()) / len(ROWS)
    overall = DotGraphMetrics()
    overall.update([r["prediction"] or "" for r in ROWS], [r["completion"] for r in ROWS])
    assert total == pytest.approx(values(overall)["edge_f1"])
    assert "s1" in format_table(groups)


def test_score_cli_main(tmp_path, capsys):
    path = write_jsonl(tmp_path / "p.jsonl", [{"pred": "graph { a -- b }", "ref": "graph { b -- a }"}])
    main(["--input", path, "--prediction_field", "pred", "--reference_field", "ref", "--quiet", "true"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and json.loads(out[0])["exact_match"] == 1.0


def test_score_invalid_jsonl_names_file_line_and_fix(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prediction": "digraph {}", "completion": "digraph {}"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: malformed JSON.*one JSON object"):
        score(input=str(path))
    path.write_text('{"output": "digraph {}", "completion": "digraph {}"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: field 'prediction' missing.*--prediction_field"):
        score(input=str(path))
