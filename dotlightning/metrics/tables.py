"""The tables scores are printed in: per-group aggregation of per-sample scores (``score``, ``report``), the fixed-width
``score`` table, and the base-vs-tuned rows of ``BaseVsTuned``. Columns follow ``SCORE_KEYS``, defined once in
``graph_metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence

from dotlightning.metrics.graph_metrics import SCORE_KEYS, DotGraphMetrics, sample_scores  # noqa: F401 (doctest)

__all__ = ["as_dict", "group_scores", "format_table", "format_rows"]

_MISSING_GROUP = "(none)"


def as_dict(metric: DotGraphMetrics) -> dict[str, float]:
    return {k: float(v) for k, v in metric.compute().items()}


def group_scores(scores: Sequence[dict[str, float]], groups: Sequence[object]) -> dict[str, dict[str, float]]:
    """Aggregate per-sample ``sample_scores`` by group label (``None`` -> ``"(none)"``), sorted by label.

    Reusable by evaluation scripts for README tables (by kind, by source, by model...).

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
        out[g] = as_dict(metric)
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


def format_rows(rows: dict[str, dict[str, float]], title: str = "") -> str:
    """Rows of scores (``base``, ``tuned``) under the ``SCORE_KEYS``, three decimals: ``BaseVsTuned``'s table.

    >>> print(format_rows({"tuned": dict.fromkeys(SCORE_KEYS, 0.5)}))  # doctest: +NORMALIZE_WHITESPACE
            parse_rate    clean_rate       node_f1       edge_f1 edge_label_f1   exact_match
    tuned        0.500         0.500         0.500         0.500         0.500         0.500
    """
    header = f"{'':8s}" + "".join(f"{name:>14s}" for name in SCORE_KEYS)
    lines = [title, header] if title else [header]
    for label, scores in rows.items():
        lines.append(f"{label:8s}" + "".join(f"{float(scores.get(name, float('nan'))):14.3f}" for name in SCORE_KEYS))
    return "\n".join(lines)
