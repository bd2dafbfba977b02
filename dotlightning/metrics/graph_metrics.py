"""Did the model write the graph we asked for? Structure metrics over generated DOT, as one torchmetrics ``Metric``.

Per sample (prediction text vs reference DOT), from ``dotlightning.metrics.dot``:

* ``parsed``  - Graphviz accepts the first graph in the output (``parse_dot``).
* ``clean``   - the output is *only* that graph (no fence, no prose; ``extract_dot``) **and** it parses: usable as is.
* ``node_f1`` / ``edge_f1`` / ``edge_label_f1`` - F1 between the predicted and reference sets of normalised node IDs,
  edges (ordered in a digraph, unordered in a graph) and (edge, label) pairs. Both sets empty -> 1.0. A prediction
  that does not parse scores 0 on all three (and on exact match).
* ``exact_match`` - same directedness, node set and edge set.

The metric averages these over samples (macro: every sample weighs the same, however big its graph).

Why one ``Metric`` returning a dict and not a ``MetricCollection``: every number needs the same two Graphviz parses,
and parsing is the only expensive part. A collection with compute groups would still call each member's ``update``
(and parse again) before it discovers the shared state; one metric parses each sample exactly once. The states are
plain sums (``dist_reduce_fx="sum"``), so the DDP result is bit-for-bit the single-process result.

Reference outputs that Graphviz rejects cannot be matched: such a sample scores 0 on the overlap metrics and is
counted in ``reference_invalid`` so it is never silently lost. ``graphviz_messages`` counts the warning/error lines
Graphviz emitted while parsing (captured by ``dotlightning.metrics.dot``, never printed).

In a LightningModule, ``compute()`` returns a dict; log it with ``self.log_dict(metric.compute())`` at epoch end and
then ``metric.reset()`` (``self.log(..., metric)`` only accepts scalar-valued metrics).

>>> m = DotGraphMetrics()
>>> m.update(["digraph { a -> b; b -> c }", "Here you go: digraph { a -> }"],
...          ["digraph { a -> b; b -> c }", "digraph { x -> y }"])
>>> {k: round(float(v), 3) for k, v in m.compute().items() if k in ("parse_rate", "edge_f1", "exact_match", "n")}
{'parse_rate': 0.5, 'edge_f1': 0.5, 'exact_match': 0.5, 'n': 2.0}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torchmetrics import Metric

from dotlightning.metrics.dot import Graph, extract_dot, graphviz_messages, parse_dot

__all__ = ["DotGraphMetrics", "set_f1", "sample_scores", "SCORE_KEYS", "COUNT_KEYS"]

SCORE_KEYS = ("parse_rate", "clean_rate", "node_f1", "edge_f1", "edge_label_f1", "exact_match")
"""The averaged metrics, in table order. ``compute()`` also returns the ``COUNT_KEYS``."""

COUNT_KEYS = ("n", "reference_invalid", "graphviz_messages")
"""The counts ``compute()`` returns besides the ``SCORE_KEYS`` (whole numbers, summed, not averaged)."""

# per-sample score key -> metric state that sums it
_SUM_STATES = dict(zip(SCORE_KEYS, ("parsed", "clean", "node_f1_sum", "edge_f1_sum", "edge_label_f1_sum", "exact_sum"),
                       strict=True))


def set_f1(pred: frozenset | set, ref: frozenset | set) -> float:
    """F1 of two sets: 2|P∩R| / (|P|+|R|); 1.0 when both are empty (nothing to find, nothing invented).

    >>> set_f1({"a", "b"}, {"a", "b", "c"}), set_f1(set(), set()), set_f1({"a"}, set())
    (0.8, 1.0, 0.0)
    """
    if not pred and not ref:
        return 1.0
    return 2.0 * len(pred & ref) / (len(pred) + len(ref))


def sample_scores(prediction: str, reference: str | Graph | None) -> dict[str, float]:
    """All per-sample scores for one output, parsing it once. ``reference`` may be DOT text or an already parsed
    ``Graph`` (to score many predictions against one reference without re-parsing it).

    Besides the ``SCORE_KEYS`` the dict has ``reference_invalid`` (1.0 if the reference does not parse) and
    ``graphviz_messages`` (messages Graphviz emitted for this sample).

    >>> s = sample_scores("```dot\\ngraph { b -- a }\\n```", "graph { a -- b; a -- c }")
    >>> s["parse_rate"], s["clean_rate"], s["node_f1"], s["edge_f1"], s["exact_match"]
    (1.0, 0.0, 0.8, 0.6666666666666666, 0.0)
    """
    before = graphviz_messages()
    ref = reference if isinstance(reference, Graph) or reference is None else parse_dot(reference)
    pred = parse_dot(prediction)
    scores = dict.fromkeys(SCORE_KEYS, 0.0)
    scores["reference_invalid"] = 0.0 if ref is not None else 1.0
    if pred is not None:
        scores["parse_rate"] = 1.0
        scores["clean_rate"] = 1.0 if extract_dot(prediction)[1] else 0.0
        if ref is not None:
            scores["node_f1"] = set_f1(pred.nodes, ref.nodes)
            scores["edge_f1"] = set_f1(pred.edges, ref.edges) if pred.directed == ref.directed else 0.0
            scores["edge_label_f1"] = (
                set_f1(pred.edge_labels, ref.edge_labels) if pred.directed == ref.directed else 0.0
            )
            exact = pred.directed == ref.directed and pred.nodes == ref.nodes and pred.edges == ref.edges
            scores["exact_match"] = 1.0 if exact else 0.0
    scores["graphviz_messages"] = float(graphviz_messages() - before)
    return scores


class DotGraphMetrics(Metric):
    """Parse rate, clean rate, node/edge/edge-label F1 and exact-structure match of generated DOT (see module doc).

    ``update(preds, targets)`` takes lists of strings (model outputs, reference DOT); ``compute()`` returns a dict of
    0-dim float64 tensors with the ``SCORE_KEYS`` plus ``n``, ``reference_invalid`` and ``graphviz_messages``.
    With no samples every rate is 0 (never NaN).

    Edges of a prediction whose directedness differs from the reference's never match (``a -> b`` is not
    ``a -- b``), so edge F1 and edge-label F1 are 0 for it; node F1 still counts.

    >>> m = DotGraphMetrics()
    >>> {k: float(v) for k, v in m.compute().items()}["node_f1"]
    0.0
    >>> m.update(["digraph { A -> b [label=go] }"], ["digraph { a -> b [label=Go]; b -> c }"])
    >>> out = m.compute()
    >>> round(float(out["node_f1"]), 3), round(float(out["edge_f1"]), 3), float(out["edge_label_f1"])
    (0.8, 0.667, 1.0)
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # float64 sums: exact for counts, and no drift when summing many F1 values.
        for name in (*COUNT_KEYS, *_SUM_STATES.values()):
            self.add_state(name, default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(
        self,
        preds: Sequence[str] | None = None,
        targets: Sequence[str | Graph] | None = None,
        *,
        scores: Iterable[dict[str, float]] | None = None,
    ) -> None:
        """Parse and score ``preds`` against ``targets``; or add already computed ``sample_scores`` dicts via
        ``scores=`` (lets ``score.py`` parse once and feed both the overall and the per-group metrics)."""
        if scores is None:
            if preds is None or targets is None:
                raise TypeError("DotGraphMetrics.update needs preds and targets (lists of strings) or scores=")
            if isinstance(preds, str) or isinstance(targets, str):
                raise TypeError("DotGraphMetrics.update takes lists of strings; wrap one sample as [pred], [target]")
            if len(preds) != len(targets):
                raise ValueError(
                    f"DotGraphMetrics.update: {len(preds)} predictions but {len(targets)} targets; pass one "
                    "reference per prediction"
                )
            scores = [sample_scores(p, t) for p, t in zip(preds, targets, strict=True)]
        totals = dict.fromkeys((*COUNT_KEYS, *_SUM_STATES.values()), 0.0)
        for s in scores:
            totals["n"] += 1.0
            totals["reference_invalid"] += s["reference_invalid"]
            totals["graphviz_messages"] += s["graphviz_messages"]
            for key, state in _SUM_STATES.items():
                totals[state] += s[key]
        for state, value in totals.items():
            setattr(self, state, getattr(self, state) + value)

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.n
        denom = torch.clamp(n, min=1.0)  # no samples -> 0/1 = 0, never NaN
        out = {key: getattr(self, state) / denom for key, state in _SUM_STATES.items()}
        out["n"] = n.clone()
        out["reference_invalid"] = self.reference_invalid.clone()
        out["graphviz_messages"] = self.graphviz_messages.clone()
        return out
