"""dotlightning.metrics.graph_metrics: the formulas, edge cases, and DDP == one process (the score command: cli/test_score.py)."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dotlightning.metrics.graph_metrics import SCORE_KEYS, DotGraphMetrics, sample_scores, set_f1

REF = 'digraph { a -> b [label="go"]; b -> c; c -> d; d -> a [label="back"]; subgraph cluster_x { e } }'


def values(metric: DotGraphMetrics) -> dict[str, float]:
    return {k: float(v) for k, v in metric.compute().items()}


def test_identical_graph_scores_one():
    s = sample_scores(REF, REF)
    assert all(s[k] == 1.0 for k in SCORE_KEYS)


def test_dropping_one_edge_gives_predicted_f1():
    ref_edges = ["a -> b", "b -> c", "c -> d", "d -> a", "a -> c"]
    ref = "digraph { " + "; ".join(ref_edges) + " }"
    pred = "digraph { " + "; ".join(ref_edges[:-1]) + " }"  # a -> c dropped; every node still present
    s = sample_scores(pred, ref)
    k = len(ref_edges)
    assert s["edge_f1"] == pytest.approx(2 * (k - 1) / ((k - 1) + k))  # P = 1, R = (k-1)/k
    assert s["node_f1"] == 1.0 and s["exact_match"] == 0.0 and s["parse_rate"] == 1.0


def test_dropping_a_labelled_edge_changes_label_f1():
    pred = 'digraph { a -> b; b -> c; c -> d; d -> a [label="back"]; e }'  # label "go" lost
    s = sample_scores(pred, REF)
    assert s["edge_label_f1"] == pytest.approx(2 * 1 / (1 + 2))
    assert s["edge_f1"] == 1.0 and s["exact_match"] == 1.0  # structure is still exact


def test_empty_vs_empty_is_one():
    s = sample_scores("digraph {}", "digraph { }")
    assert all(s[k] == 1.0 for k in SCORE_KEYS)
    assert set_f1(frozenset(), frozenset()) == 1.0


def test_unparsed_prediction_scores_zero_everywhere():
    for bad in ["", "digraph { a -- b }", "sorry", "digraph {" * 3000]:
        s = sample_scores(bad, REF)
        assert all(s[k] == 0.0 for k in SCORE_KEYS), bad


def test_normalisation_and_undirected_pairs_match():
    s = sample_scores('graph { "Node_One" -- two }', "graph { Two -- \"node-one\" }")
    assert s["node_f1"] == 1.0 and s["edge_f1"] == 1.0 and s["exact_match"] == 1.0


def test_directedness_mismatch_never_matches_edges():
    s = sample_scores("graph { a -- b }", "digraph { a -> b }")
    assert s["node_f1"] == 1.0 and s["edge_f1"] == 0.0 and s["exact_match"] == 0.0


def test_clean_rate_counts_only_bare_valid_graphs():
    m = DotGraphMetrics()
    m.update(["digraph { a -> b }", "```dot\ndigraph { a -> b }\n```", "digraph { a -- b }"], ["digraph { a -> b }"] * 3)
    out = values(m)
    assert out["clean_rate"] == pytest.approx(1 / 3) and out["parse_rate"] == pytest.approx(2 / 3)


def test_compute_on_no_samples_is_zero_not_nan():
    with pytest.warns(UserWarning):  # torchmetrics warns that compute() came before update()
        out = values(DotGraphMetrics())
    assert all(out[k] == 0.0 for k in SCORE_KEYS) and out["n"] == 0.0


def test_metric_averages_per_sample_and_resets():
    m = DotGraphMetrics()
    m.update([REF, "no"], [REF, REF])
    m.update(["digraph { a -> b }"], ["digraph { a -> b; b -> c }"])
    out = values(m)
    assert out["n"] == 3.0
    assert out["edge_f1"] == pytest.approx((1.0 + 0.0 + 2 / 3) / 3)
    m.reset()
    m.update([REF], [REF])
    assert values(m)["n"] == 1.0


def test_reference_that_does_not_parse_is_counted():
    out = sample_scores("digraph { a }", "digraph { a -- }")
    assert out["reference_invalid"] == 1.0 and out["node_f1"] == 0.0 and out["parse_rate"] == 1.0


def test_invalid_update_arguments_explain_the_fix():
    m = DotGraphMetrics()
    with pytest.raises(ValueError, match="one reference per prediction"):
        m.update(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="lists of strings"):
        m.update("digraph {}", "digraph {}")


# --- DDP: two CPU processes (gloo) give exactly the one-process numbers ------------------------------------------------

DDP_PREDS = [REF, "nope", "digraph { a -> b }", "graph { a -- b }", "```dot\ndigraph { a -> b; b -> c }\n```"]
DDP_REFS = [REF, REF, "digraph { a -> b; b -> c }", "graph { b -- a }", "digraph { a -> b; b -> c }"]


def _ddp_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        m = DotGraphMetrics()
        m.update(DDP_PREDS[rank::world_size], DDP_REFS[rank::world_size])  # uneven shards: 3 and 2 samples
        out = {k: float(v) for k, v in m.compute().items()}
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as fh:
            json.dump(out, fh)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_equal_single_process(tmp_path):
    single = DotGraphMetrics()
    single.update(DDP_PREDS, DDP_REFS)
    expected = values(single)
    # Fresh interpreters as with mp.spawn, but via a forkserver that imports torchmetrics once and forks both ranks
    # from it: importing torchmetrics costs ~5 s here, and spawn would pay it twice, in parallel, on 2 cores.
    multiprocessing.get_context("forkserver").set_forkserver_preload(["dotlightning.metrics.graph_metrics"])
    mp.start_processes(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True,
                       start_method="forkserver")
    for rank in range(2):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert got == expected, (rank, got, expected)
    assert expected["n"] == 5.0 and 0 < expected["edge_f1"] < 1
    assert torch.get_default_dtype() == torch.float32  # nothing here changed global torch state
