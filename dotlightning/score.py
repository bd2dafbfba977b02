"""Score a JSONL file of generated DOT against references: ``python -m dotlightning score --input preds.jsonl``.

Each line is one JSON object with a prediction field (default ``prediction``) and a reference field (default
``completion``); other fields (``kind``, ``source``, ...) can group the results with ``--group_by kind``. Prints a
human table, then, as the LAST line, one JSON object (overall numbers, plus ``groups`` when grouping) so scripts can
``tail -n 1 | jq``.

Every sample is parsed once (``dotlightning.metrics.sample_scores``) and its scores are added to the overall metric
and to its group's metric, so group rows and the overall row come from the same parses and the same formulas as the
metric logged during training.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from dotlightning.metrics import COUNT_KEYS, SCORE_KEYS, DotGraphMetrics, sample_scores
from dotlightning.records import read_jsonl

__all__ = ["score", "read_jsonl", "group_scores", "format_table", "main"]

_MISSING_GROUP = "(none)"
_EXAMPLE = '{"prediction": "digraph {...}", "completion": "digraph {...}"}'


def _field(record: dict, field: str, path, lineno: int) -> str:
    if field not in record:
        raise ValueError(
            f"{path}:{lineno}: field '{field}' missing (fields: {', '.join(sorted(record)) or 'none'}); "
            f"pass the right name with --prediction_field / --reference_field"
        )
    value = record[field]
    if value is None:  # a generation that produced nothing: scored as an invalid prediction, not dropped
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{path}:{lineno}: field '{field}' must be a string, got {type(value).__name__}")
    return value


def _as_dict(metric: DotGraphMetrics) -> dict[str, float]:
    return {k: float(v) for k, v in metric.compute().items()}


def group_scores(scores: Sequence[dict[str, float]], groups: Sequence[object]) -> dict[str, dict[str, float]]:
    """Aggregate per-sample ``sample_scores`` by group label (``None`` -> ``"(none)"``), sorted by label.

    Reusable by evaluation scripts for README tables (by kind, by source, by model...).

    >>> from dotlightning.metrics import sample_scores
    >>> s = [sample_scores("digraph { a -> b }", "digraph { a -> b }"), sample_scores("nope", "digraph { a -> b }")]
    >>> {g: r["parse_rate"] for g, r in group_scores(s, ["fsm", None]).items()}
    {'(none)': 0.0, 'fsm': 1.0}
    """
    if len(scores) != len(groups):
        raise ValueError(f"group_scores: {len(scores)} scores but {len(groups)} group labels")
    by_group: dict[str, list[dict[str, float]]] = {}
    for s, g in zip(scores, groups, strict=True):
        by_group.setdefault(_MISSING_GROUP if g is None else str(g), []).append(s)
    out = {}
    for g in sorted(by_group):
        metric = DotGraphMetrics()
        metric.update(scores=by_group[g])
        out[g] = _as_dict(metric)
    return out


def format_table(rows: dict[str, dict[str, float]], title: str = "") -> str:
    """A fixed-width table: one row per entry, columns ``n`` and the ``SCORE_KEYS``.

    >>> print(format_table({"all": dict(n=2, parse_rate=1, clean_rate=.5, node_f1=1, edge_f1=1, edge_label_f1=1,
    ...                                 exact_match=1)}))
    group   n  parse_rate  clean_rate  node_f1  edge_f1  edge_label_f1  exact_match
    all     2       1.000       0.500    1.000    1.000          1.000        1.000
    """
    width = max([len("group"), *(len(k) for k in rows)])
    head = f"{'group':<{width}} {'n':>3}  " + "  ".join(SCORE_KEYS)
    lines = [title] if title else []
    lines.append(head)
    for name, r in rows.items():
        cells = "  ".join(f"{r[k]:>{len(k)}.3f}" for k in SCORE_KEYS)
        lines.append(f"{name:<{width}} {int(r['n']):>3}  {cells}")
    return "\n".join(lines)


def score(
    *,
    input: str,
    prediction_field: str = "prediction",
    reference_field: str = "completion",
    group_by: str | list[str] | None = None,
    quiet: bool = False,
    repair: bool = False,
) -> dict:
    """Score generated DOT in a JSONL file against references; prints a table and a final JSON line.

    Args:
        input: JSONL file, one object per line with the prediction and reference fields.
        prediction_field: Field holding the model's output (null counts as an empty, invalid output).
        reference_field: Field holding the reference DOT.
        group_by: Field name(s) (e.g. ``kind``, ``source``) to break the results down by.
        quiet: Print only the final JSON line.
        repair: Score each prediction as ``repair_dot`` returns it (bare IDs such as ``build-image`` quoted where
            that makes the graph valid), which is what ``generate`` writes by default; for predictions written
            before the repair existed or with ``--repair false``.

    Returns:
        Overall ``parse_rate, clean_rate, node_f1, edge_f1, edge_label_f1, exact_match, n, reference_invalid,
        graphviz_messages`` and, with ``group_by``, ``groups: {field: {value: same keys}}``.
    """
    records = read_jsonl(input, example=_EXAMPLE)
    preds = [_field(r, prediction_field, input, i) for i, r in enumerate(records, 1)]
    if repair:
        from dotlightning.repair import repair_dot

        preds = [repair_dot(p) for p in preds]
    refs = [_field(r, reference_field, input, i) for i, r in enumerate(records, 1)]
    scores = [sample_scores(p, t) for p, t in zip(preds, refs, strict=True)]

    overall_metric = DotGraphMetrics()
    overall_metric.update(scores=scores)
    result: dict = _as_dict(overall_metric)

    fields = [group_by] if isinstance(group_by, str) else list(group_by or [])
    if fields:
        result["groups"] = {f: group_scores(scores, [r.get(f) for r in records]) for f in fields}

    if not quiet:
        print(format_table({"all": result}, title=f"{input}: {len(records)} samples"))
        for f, rows in result.get("groups", {}).items():
            print()
            print(format_table(rows, title=f"by {f}"))
    print(json.dumps(_jsonable(result)))
    return result


def _jsonable(obj, key: str = ""):
    if isinstance(obj, dict):
        return {k: _jsonable(v, k) for k, v in obj.items()}
    if isinstance(obj, float):
        return int(obj) if key in COUNT_KEYS else round(obj, 6)
    return obj


def main(argv: Iterable[str] | None = None) -> dict:
    """CLI entry: ``python -m dotlightning.score --input F [--group_by kind]``."""
    from jsonargparse import auto_cli

    return auto_cli(score, args=None if argv is None else list(argv))


if __name__ == "__main__":
    main()
