"""The base-vs-tuned HTML report: metric rows, escaping, matching by id, and errors that name both files."""

from __future__ import annotations

import json

import pytest

from dotlightning.cli.report import report


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _records(predictions, ids=True):
    kinds = ["fsm", "flow", "fsm"]
    out = []
    for index, prediction in enumerate(predictions):
        record = {"kind": kinds[index % 3], "source": "nl", "prompt": f"prompt {index}",
                  "completion": f"digraph {{ a{index} -> b{index} }}", "prediction": prediction}
        out.append(({"id": f"r{index}"} if ids else {}) | record)
    return out


def test_report_has_metric_rows_per_kind_and_source_and_one_figure_per_sample(tmp_path):
    tuned = _write(tmp_path / "tuned.jsonl", _records(["digraph { a0 -> b0 }", "digraph { a1 -> b1 }", "no"]))
    base = _write(tmp_path / "base.jsonl", _records(["no", "no", "no"]))
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("epoch,step,train/loss,val/loss\n0,1,2.5,\n0,2,1.5,\n0,2,,1.7\n0,3,0.9,\n", encoding="utf-8")
    page = (tmp_path / "out" / "report.html")
    report(input=str(tuned), base=str(base), loss=str(metrics), output=str(page), samples=2)
    text = page.read_text(encoding="utf-8")
    for row in ("<th class=\"group\">all</th>", "<th class=\"group\">fsm</th>", "<th class=\"group\">flow</th>",
                "<th class=\"group\">nl</th>", "by kind", "by source"):
        assert row in text
    assert '<td class="base">0.000</td><td class="up">0.667</td>' in text  # overall parse_rate, base then tuned
    assert text.count("<figure>") == 2 and 'aria-label="loss curve"' in text and "val/loss" in text
    assert "<script" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") \
        .replace('"http://www.w3.org/1999/xlink"', "")  # nothing loaded from elsewhere


def test_report_escapes_a_prompt_with_a_script_tag(tmp_path):
    records = _records(["digraph { a0 -> b0 }"])
    records[0]["prompt"] = "draw <script>alert(1)</script> & co"
    page = tmp_path / "r.html"
    report(input=str(_write(tmp_path / "t.jsonl", records)), output=str(page))
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text


def test_report_shows_a_prediction_that_does_not_parse_as_text_with_a_badge(tmp_path):
    page = tmp_path / "r.html"
    report(input=str(_write(tmp_path / "t.jsonl", _records(["Sorry, a -> b <b>is</b> hard"]))), output=str(page))
    text = page.read_text(encoding="utf-8")
    assert '<span class="badge">does not parse</span><pre>Sorry, a -&gt; b &lt;b&gt;is&lt;/b&gt; hard</pre>' in text
    assert text.count("<svg") == 1  # the reference only


def test_report_matches_base_to_tuned_by_id_not_by_line_order(tmp_path):
    tuned = _records(["digraph { a0 -> b0 }", "digraph { a1 -> b1 }"])
    base = list(reversed(_records(["base says zero", "digraph { a1 -> b1 }"])))
    page = tmp_path / "r.html"
    report(input=str(_write(tmp_path / "t.jsonl", tuned)), base=str(_write(tmp_path / "b.jsonl", base)),
           output=str(page), labels="old,new")
    text = page.read_text(encoding="utf-8")
    figures = {f[f.index('<span class="id">') + 17:f.index("</span>")]: f for f in text.split("<figure>")[1:]}
    assert "base says zero" in figures["r0"] and "base says zero" not in figures["r1"]
    assert "<h4>old</h4>" in figures["r0"] and "<h4>new</h4>" in figures["r0"]


def test_report_names_both_files_when_they_hold_different_prompts(tmp_path):
    tuned = _write(tmp_path / "tuned.jsonl", _records(["x", "y"], ids=False))
    base = _write(tmp_path / "base.jsonl", _records(["x"], ids=False))
    with pytest.raises(ValueError, match=r"tuned\.jsonl has 2 records but .*base\.jsonl has 1.*Fix:"):
        report(input=str(tuned), base=str(base), output=str(tmp_path / "r.html"))
    other = _records(["x", "y"])
    other[1]["id"] = "elsewhere"
    base_ids = _write(tmp_path / "base-ids.jsonl", other)
    with pytest.raises(ValueError, match=r"tuned-ids\.jsonl and .*base-ids\.jsonl: different prompts .*'r1'.*Fix:"):
        report(input=str(_write(tmp_path / "tuned-ids.jsonl", _records(["x", "y"]))), base=str(base_ids),
               output=str(tmp_path / "r.html"))


def test_report_points_at_the_bad_line_of_a_broken_file(tmp_path):
    broken = tmp_path / "t.jsonl"
    broken.write_text(json.dumps(_records(["x"])[0]) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.jsonl:2: malformed JSON"):
        report(input=str(broken), output=str(tmp_path / "r.html"))


def test_report_is_a_cli_subcommand(tmp_path, capsys):
    from dotlightning.cli.commands import main

    page = tmp_path / "r.html"
    main(["report", "--input", str(_write(tmp_path / "t.jsonl", _records(["digraph { a0 -> b0 }"]))),
          "--output", str(page), "--samples", "1"])
    assert page.is_file() and "report written to" in capsys.readouterr().out
