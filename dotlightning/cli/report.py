"""One self-contained HTML page that shows whether fine-tuning worked: ``python -m dotlightning report``.

    python -m dotlightning report --input tuned.jsonl --base base.jsonl --loss runs/x/version_0/metrics.csv \\
        --output report.html

The page has the metrics table (base vs tuned, overall, per kind and per source, scored exactly as ``score`` does),
the loss curve drawn as inline SVG from Lightning's ``metrics.csv``, and for a few samples the prompt with the
reference, base and tuned graphs side by side, rendered by Graphviz as inline SVG. Numbers say how often the model
is right; the pictures say how it is wrong. Nothing is loaded from elsewhere (no scripts, fonts, images or styles
from the network), so the file can be mailed, attached to a CI run or opened offline. Every piece of text from the
files (prompts, predictions, ids) is escaped; the Graphviz SVG is stripped of links and scripts before it is inlined.
"""

from __future__ import annotations

import csv
import html
import math
import re
from pathlib import Path

from dotlightning.metrics.dot import render
from dotlightning.metrics.graph_metrics import SCORE_KEYS, sample_scores
from dotlightning.data.records import read_jsonl
from dotlightning.cli.score import _field
from dotlightning.metrics.tables import group_scores

__all__ = ["report", "match_records", "choose_samples", "loss_curve_svg", "read_loss_csv"]

GROUP_FIELDS = ("kind", "source")


def match_records(tuned: list[dict], base: list[dict], tuned_path, base_path) -> list[dict]:
    """The base record for each tuned record: by ``id`` when every record of both files has one, else by line order.

    Raises ``ValueError`` naming both files when the two sets of ids differ, an id repeats, or (without ids) the
    counts differ: comparing a model with another on different prompts would make the table meaningless.
    """
    if tuned and base and all("id" in r for r in tuned) and all("id" in r for r in base):
        by_id: dict = {}
        for path, records in ((tuned_path, tuned), (base_path, base)):
            ids = [r["id"] for r in records]
            repeated = sorted({str(i) for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{path}: id {repeated[0]!r} appears more than once; ids must be unique to match "
                                 f"{tuned_path} with {base_path}. Fix: give every record its own id")
        by_id = {r["id"]: r for r in base}
        missing = [r["id"] for r in tuned if r["id"] not in by_id]
        extra = sorted(set(by_id) - {r["id"] for r in tuned}, key=str)
        if missing or extra:
            where, which = (base_path, missing[0]) if missing else (tuned_path, extra[0])
            raise ValueError(f"{tuned_path} and {base_path}: different prompts (id {which!r} is not in {where}; "
                             f"{len(missing)} ids only in the first file, {len(extra)} only in the second). Fix: "
                             "generate both from the same prompt file")
        return [by_id[r["id"]] for r in tuned]
    if len(tuned) != len(base):
        raise ValueError(f"{tuned_path} has {len(tuned)} records but {base_path} has {len(base)}, and without an 'id' "
                         "in every record they are matched by line order. Fix: generate both from the same prompt "
                         "file, or add ids")
    return list(base)


def choose_samples(records: list[dict], n: int) -> list[int]:
    """Indices of ``n`` records, the same every time: kinds taken in turn (sorted by name), file order within a kind.

    >>> choose_samples([{"kind": "a"}, {"kind": "a"}, {"kind": "b"}, {}], 3)
    [3, 0, 2]
    """
    by_kind: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_kind.setdefault(str(record.get("kind") or ""), []).append(index)
    queues = [by_kind[k] for k in sorted(by_kind)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < min(n, len(records)):
        for queue in queues:
            if depth < len(queue) and len(chosen) < n:
                chosen.append(queue[depth])
        depth += 1
    return chosen


def read_loss_csv(path: str | Path) -> dict[str, list[tuple[float, float]]]:
    """``{"train/loss": [(step, loss), ...], "val/loss": [...]}`` from Lightning's CSVLogger ``metrics.csv``.

    Lightning writes one row per logging call, with empty cells for the metrics not logged then, so each series keeps
    only its own non-empty, finite cells. A ``loss`` column (the ``losses.csv`` of the former scripts/experiments.py)
    is read as the training loss.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file. Fix: pass the metrics.csv in the run's log folder "
                                "(<save_dir>/<name>/version_N/metrics.csv) with --loss")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        wanted = {"train/loss": "train/loss" if "train/loss" in columns else "loss", "val/loss": "val/loss"}
        if "step" not in columns or not any(c in columns for c in wanted.values()):
            raise ValueError(f"{path}:1: needs a 'step' column and 'train/loss' or 'val/loss' (columns: "
                             f"{', '.join(columns) or 'none'}). Fix: pass the metrics.csv that Lightning's CSVLogger "
                             "writes")
        series: dict[str, list[tuple[float, float]]] = {name: [] for name in wanted}
        for lineno, row in enumerate(reader, 2):
            for name, column in wanted.items():
                cell = (row.get(column) or "").strip()
                if not cell:
                    continue
                try:
                    step, value = float(row["step"]), float(cell)
                except ValueError:
                    raise ValueError(f"{path}:{lineno}: '{column}' or 'step' is not a number ({cell!r}). Fix: pass "
                                     "an unedited metrics.csv") from None
                if math.isfinite(value):
                    series[name].append((step, value))
    return {name: points for name, points in series.items() if points}


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def loss_curve_svg(series: dict[str, list[tuple[float, float]]], width: int = 900, height: int = 320) -> str:
    """A line chart of the loss series as an SVG element (axes, ticks, legend); drawn here, no plotting library."""
    left, right, top, bottom = 60, 20, 20, 45
    points = [p for s in series.values() for p in s]
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = min(0.0, min(p[1] for p in points)), max(p[1] for p in points)
    x_high, y_high = (x_high if x_high > x_low else x_low + 1), (y_high if y_high > y_low else y_low + 1)
    y_high += (y_high - y_low) * 0.05

    def x(v: float) -> float:
        return left + (v - x_low) / (x_high - x_low) * (width - left - right)

    def y(v: float) -> float:
        return top + (1 - (v - y_low) / (y_high - y_low)) * (height - top - bottom)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="loss curve">']
    for t in _ticks(y_low, y_high):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in _ticks(x_low, x_high, 8):
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{height - bottom}" y2="{height - bottom + 5}" '
                     f'class="axis"/><text x="{x(t):.1f}" y="{height - bottom + 18}" text-anchor="middle">{t:g}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" class="axis"/>'
                 f'<line x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}" class="axis"/>'
                 f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">optimizer step</text>')
    colours = {"train/loss": "#1f77b4", "val/loss": "#d62728"}
    for number, (name, pts) in enumerate(series.items()):
        colour = colours.get(name, "#555")
        path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in sorted(pts))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        if len(pts) < 40:  # sparse series (validation) get markers, or a single point would not show
            parts.extend(f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="3" fill="{colour}"/>' for a, b in pts)
        lx = width - right - 140
        ly = top + 10 + 18 * number
        parts.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="3"/>'
                     f'<text x="{lx + 30}" y="{ly + 4}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_SVG_START = re.compile(r"<svg\b", re.IGNORECASE)
_UNSAFE = re.compile(r"<script\b.*?</script\s*>|<foreignObject\b.*?</foreignObject\s*>", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"</?a\b[^>]*>", re.IGNORECASE)
_SVG_WIDTH = re.compile(r'<svg\b[^>]*?\swidth="([0-9.]+)pt"', re.IGNORECASE)
_HANDLER = re.compile(r"\son[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", re.IGNORECASE)


def _inline_svg(svg: bytes) -> str:
    """Graphviz's SVG made safe to inline: no XML prolog or doctype, no links (``URL``/``href`` attributes of the
    model's DOT would become clickable ``javascript:`` links), no scripts or event handlers."""
    text = svg.decode("utf-8", errors="replace")
    match = _SVG_START.search(text)
    text = text[match.start():] if match else ""
    text = _HANDLER.sub("", _LINK.sub("", _UNSAFE.sub("", text)))
    # A wide graph (ten nodes in a row) shrunk to a third of the page is unreadable: it may shrink to half its size,
    # no further, and its panel scrolls sideways instead.
    width = _SVG_WIDTH.search(text[:400])
    if width:
        text = _SVG_START.sub(f'<svg style="min-width:{float(width.group(1)) * 4 / 3 * 0.5:.0f}px"', text, count=1)
    return text


def _graph_panel(title: str, text: str | None, missing: str = "") -> str:
    """One column of a sample: the rendered graph, or the text in a <pre> with a badge saying why not."""
    heading = f"<h4>{html.escape(title)}</h4>"
    if text is None:
        return f'<div class="panel">{heading}<p class="muted">{html.escape(missing)}</p></div>'
    svg = render(text, fmt="svg")
    raw = f"<details><summary>text</summary><pre>{html.escape(text)}</pre></details>"
    if svg:
        return f'<div class="panel">{heading}<div class="graph">{_inline_svg(svg)}</div>{raw}</div>'
    return (f'<div class="panel">{heading}<span class="badge">does not parse</span>'
            f"<pre>{html.escape(text) or '(empty)'}</pre></div>")


def _metric_table(sections: list[tuple[str, list[tuple[str, dict, dict | None]]]], labels: tuple[str, str]) -> str:
    """Sections (``all``, ``kind``, ``source``) of rows (group, tuned scores, base scores or None); tuned cells green
    where better than base, red where worse."""
    with_base = any(base is not None for _, rows in sections for _, _, base in rows)
    head = "<tr><th rowspan=2>group</th><th rowspan=2>n</th>" + "".join(
        f"<th colspan={2 if with_base else 1}>{k}</th>" for k in SCORE_KEYS) + "</tr>"
    sub = ("<tr>" + "".join(f"<th>{html.escape(labels[0])}</th><th>{html.escape(labels[1])}</th>"
                            for _ in SCORE_KEYS) + "</tr>") if with_base else ""
    body = []
    columns = 2 + len(SCORE_KEYS) * (2 if with_base else 1)
    for section, rows in sections:
        if section != "all":
            body.append(f'<tr class="section"><th colspan={columns}>by {html.escape(section)}</th></tr>')
        for name, tuned, base in rows:
            body.append(f'<tr><th class="group">{html.escape(name)}</th><td>{int(tuned["n"])}</td>'
                        + "".join(_cells(tuned, base, with_base)) + "</tr>")
    return f'<table class="metrics"><thead>{head}{sub}</thead><tbody>{"".join(body)}</tbody></table>'


def _cells(tuned: dict, base: dict | None, with_base: bool) -> list[str]:
    if not with_base:
        return [f"<td>{tuned[k]:.3f}</td>" for k in SCORE_KEYS]
    cells = []
    for k in SCORE_KEYS:
        b = base[k] if base else float("nan")
        better = "up" if tuned[k] > b + 1e-9 else "down" if tuned[k] < b - 1e-9 else ""
        cells.append(f'<td class="base">{b:.3f}</td><td class="{better}">{tuned[k]:.3f}</td>')
    return cells


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1320px;
color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h4{margin:0 0 6px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#555}
.muted{color:#777}code{background:#f4f4f4;padding:0 3px}
table.metrics{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
table.metrics th,table.metrics td{border:1px solid #ddd;padding:3px 7px;text-align:right}
table.metrics thead th{background:#f6f6f6;text-align:center}
table.metrics th.group{text-align:left;font-weight:normal;white-space:nowrap}
table.metrics tr.section th{text-align:left;background:#fafafa;font-weight:600}
td.base{color:#666}td.up{background:#e3f4e1}td.down{background:#fbe3e1}
svg.chart{max-width:100%;height:auto;font-size:12px;font-family:inherit}
svg.chart .grid{stroke:#eee}svg.chart .axis{stroke:#888}
figure{margin:18px 0;border:1px solid #ddd;border-radius:6px;padding:12px;break-inside:avoid}
figcaption{margin-bottom:10px}figcaption .id{font-weight:600}
.prompt{max-height:160px;overflow:auto;background:#f7f7f7;border-radius:4px;padding:6px 8px;margin:6px 0 0}
.row{display:grid;gap:12px;grid-template-columns:repeat(var(--cols),minmax(0,1fr))}
.panel{min-width:0;border-left:3px solid #eee;padding-left:8px}
.graph{overflow:auto;max-height:520px;text-align:center}
.graph svg{max-width:100%;height:auto;max-height:500px}
pre{white-space:pre-wrap;word-break:break-word;font-size:12px;margin:4px 0;max-height:320px;overflow:auto}
.badge{display:inline-block;background:#c62828;color:#fff;border-radius:3px;padding:0 6px;font-size:12px}
details summary{cursor:pointer;color:#777;font-size:12px}
"""


def report(
    *,
    input: str,
    output: str,
    base: str | None = None,
    loss: str | None = None,
    samples: int = 12,
    labels: str = "base,tuned",
    title: str = "dotlightning: base vs tuned",
    prediction_field: str = "prediction",
    reference_field: str = "completion",
) -> str:
    """Write one self-contained HTML page: metrics table, loss curve and rendered samples, base vs tuned.

    Args:
        input: JSONL of the tuned model's generations (``generate``, ``test`` or ``predict`` output; ``.gz`` is fine).
        output: The HTML file to write.
        base: The base model's generations on the same prompts; matched by ``id``, else by line order.
        loss: Lightning CSVLogger ``metrics.csv`` (columns ``step``, ``train/loss``, ``val/loss``) for the loss curve.
        samples: How many prompts to show with their graphs (kinds taken in turn, the same ones every time).
        labels: The names of the two models on the page, base first: ``--labels base-chat,base-tags``.
        title: The page's heading.
        prediction_field: Field holding a model's output.
        reference_field: Field holding the reference DOT.

    Returns:
        The path written.
    """
    label_pair = tuple(part.strip() for part in labels.split(","))
    if len(label_pair) != 2 or not all(label_pair):
        raise ValueError(f"--labels {labels!r}: expected two names, base first. Fix: e.g. --labels base,tuned")
    tuned_records = read_jsonl(input)
    if not tuned_records:
        raise ValueError(f"{input}: no records. Fix: pass the JSONL written by generate, test or predict")
    base_records = match_records(tuned_records, read_jsonl(base), input, base) if base else None

    def scored(records, path):
        return [sample_scores(_field(r, prediction_field, path, i), _field(r, reference_field, path, i))
                for i, r in enumerate(records, 1)]

    tuned_scores = scored(tuned_records, input)
    base_scores = scored(base_records, base) if base_records is not None else None
    sections = [("all", ["all"] * len(tuned_records))]
    sections += [(f, [r.get(f) for r in tuned_records]) for f in GROUP_FIELDS if any(f in r for r in tuned_records)]
    table = []
    for field, keys in sections:
        tuned_groups = group_scores(tuned_scores, keys)
        base_groups = group_scores(base_scores, keys) if base_scores is not None else {}
        table.append((field, [(name, tuned_groups[name], base_groups.get(name)) for name in tuned_groups]))

    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="muted">{html.escape(label_pair[1])}: <code>{html.escape(str(input))}</code>'
             + (f" · {html.escape(label_pair[0])}: <code>{html.escape(str(base))}</code>" if base else "")
             + f" · {len(tuned_records)} prompts</p>",
             "<h2>Metrics</h2>",
             '<p class="muted">Scored as <code>python -m dotlightning score</code> does. '
             + (f"Each metric: {html.escape(label_pair[0])}, then {html.escape(label_pair[1])} (green where "
                f"{html.escape(label_pair[1])} is higher, red where lower)." if base else "")
             + "</p>",
             _metric_table(table, label_pair)]
    if loss:
        series = read_loss_csv(loss)
        parts += ["<h2>Loss</h2>", f'<p class="muted"><code>{html.escape(str(loss))}</code></p>',
                  loss_curve_svg(series) if series else '<p class="muted">no loss values in the file</p>']
    chosen = choose_samples(tuned_records, samples)
    parts.append(f"<h2>Samples</h2><p class='muted'>{len(chosen)} of {len(tuned_records)} prompts, kinds in turn.</p>")
    for index in chosen:
        record = tuned_records[index]
        meta = " · ".join(html.escape(str(record[k])) for k in GROUP_FIELDS if record.get(k) is not None)
        panels = [_graph_panel("reference", record.get(reference_field), "no reference")]
        if base_records is not None:
            panels.append(_graph_panel(label_pair[0], base_records[index].get(prediction_field) or "", ""))
        panels.append(_graph_panel(label_pair[1], record.get(prediction_field) or "", ""))
        parts.append(f'<figure><figcaption><span class="id">{html.escape(str(record.get("id", f"#{index + 1}")))}'
                     f'</span> <span class="muted">{meta}</span>'
                     f'<pre class="prompt">{html.escape(str(record.get("prompt", "")))}</pre></figcaption>'
                     f'<div class="row" style="--cols:{len(panels)}">{"".join(panels)}</div></figure>')
    page = ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n")
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(page, encoding="utf-8")
    print(f"dotlightning: report written to {output}")
    return output
