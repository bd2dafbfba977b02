"""Score a JSONL file of generated DOT against references: ``python -m dotlightning score --input preds.jsonl``.

Each line is one JSON object with a prediction field (default ``prediction``) and a reference field (default
``completion``); other fields (``kind``, ``source``, ...) can group the results with ``--group_by kind``. Prints a
human table, then, as the LAST line, one JSON object (overall numbers, plus ``groups`` when grouping) so scripts can
``tail -n 1 | jq``.

Every sample is parsed once (``dotlightning.metrics.graph_metrics.sample_scores``) and its scores are added to the overall metric
and to its group's metric, so group rows and the overall row come from the same parses and the same formulas as the
metric logged during training.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from dotlightning.metrics.graph_metrics import COUNT_KEYS, DotGraphMetrics, sample_scores
from dotlightning.metrics.tables import as_dict, format_table, group_scores
from dotlightning.data.records import read_jsonl

__all__ = ["score", "main"]

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
        from dotlightning.metrics.repair import repair_dot

        preds = [repair_dot(p) for p in preds]
    refs = [_field(r, reference_field, input, i) for i, r in enumerate(records, 1)]
    scores = [sample_scores(p, t) for p, t in zip(preds, refs, strict=True)]

    overall_metric = DotGraphMetrics()
    overall_metric.update(scores=scores)
    result: dict = as_dict(overall_metric)

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
    """CLI entry: ``python -m dotlightning.cli.score --input F [--group_by kind]``."""
    from jsonargparse import auto_cli

    return auto_cli(score, args=None if argv is None else list(argv))


if __name__ == "__main__":
    main()
