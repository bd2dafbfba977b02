"""Pictures for people: validation samples as TensorBoard images, and the base-vs-tuned HTML report."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dotlightning.train import loggers
from dotlightning.train.samples import write_samples


class FakeExperiment:
    """What write_samples needs of TensorBoard's SummaryWriter: add_text and add_image, recorded."""

    def __init__(self) -> None:
        self.texts: list[tuple] = []
        self.images: list[tuple] = []

    def add_text(self, tag, text, step):
        self.texts.append((tag, text, step))

    def add_image(self, tag, image, step, dataformats="CHW"):
        self.images.append((tag, image, step, dataformats))


SAMPLES = [
    {"prompt": "a to b", "prediction": "digraph { a -> b }"},
    {"prompt": "nonsense", "prediction": "I cannot draw that."},
    {"prompt": "x and y", "prediction": "Sure:\n```dot\ngraph { x -- y }\n```"},
]


def test_samples_are_logged_as_hwc_uint8_images_and_unparseable_ones_skipped(tmp_path):
    experiment = FakeExperiment()
    folder = write_samples(SAMPLES, tmp_path / "step-000007", experiment, step=7)
    assert [tag for tag, *_ in experiment.images] == ["val/sample_0", "val/sample_2"]
    for _tag, image, step, dataformats in experiment.images:
        assert isinstance(image, np.ndarray) and image.dtype == np.uint8
        assert image.ndim == 3 and image.shape[2] == 3 and image.shape[0] > 10 and image.shape[1] > 10
        assert step == 7 and dataformats == "HWC"
        assert image.min() < 100 and image.max() == 255  # dark strokes on a white (not transparent-black) page
    assert experiment.texts[0][0] == "val/samples" and "nonsense" in experiment.texts[0][1]
    assert sorted(p.name for p in folder.iterdir()) == ["sample-0.svg", "sample-2.svg", "samples.md"]


def test_samples_without_an_image_logger_are_only_written_to_disk(tmp_path):
    folder = write_samples(SAMPLES[:1], tmp_path / "s", experiment=object())
    assert (folder / "sample-0.svg").read_bytes().lstrip().startswith((b"<?xml", b"<svg"))


def test_tensorboard_logger_falls_back_to_csv_with_the_fix_when_tensorboard_is_missing(tmp_path, monkeypatch):
    from lightning.pytorch.loggers import CSVLogger

    monkeypatch.setattr(loggers, "tensorboard_available", lambda: False)
    with pytest.warns(UserWarning, match=r"Fix: pip install 'dotlightning\[tensorboard\]'"):
        logger = loggers.TensorBoardLogger(str(tmp_path), name="run", version=3)
    assert isinstance(logger, CSVLogger) and logger.log_dir == str(tmp_path / "run" / "version_3")


def test_tensorboard_logger_is_lightnings_when_tensorboard_is_installed(tmp_path):
    pytest.importorskip("tensorboard")
    from lightning.pytorch.loggers import TensorBoardLogger

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logger = loggers.TensorBoardLogger(str(tmp_path), name="run")
    assert isinstance(logger, TensorBoardLogger) and logger.log_dir == str(tmp_path / "run" / "version_0")
    assert hasattr(logger.experiment, "add_image")


# --- the HTML report -------------------------------------------------------------------------------------------------

from dotlightning.cli.report import report  # noqa: E402


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
