"""Check the scorer against real-world DOT: every corpus graph Graphviz accepts must score perfectly against itself,
and every one it rejects must score as unparsed.

    python scripts/check_corpora.py [--corpora ../shared/corpora]

Corpora (evaluation data, read at run time, never copied into the repo): the Graphviz test graphs
(``graphviz/graphs`` and ``graphviz/rtest``, *.gv) and the state-machine-cat fixtures (``state-machine-cat``, *.dot).

The oracle is Graphviz itself on the raw file bytes (``pygraphviz.AGraph().read(path)``, no extraction, no caps). For each
file we check that ``parse_dot`` agrees with it (accepts iff the oracle accepts), that the node and edge counts agree
with the oracle's graph after ID normalisation, and that ``sample_scores(text, text)`` gives parse 1, node/edge/
edge-label F1 1 and exact match 1 (or parse 0 and all zeros when rejected). Prints counts, mismatches, parse timing,
and a final JSON line; exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import pygraphviz

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from dotlightning.metrics.dot import normalize_id, parse_dot
from dotlightning.metrics.graph_metrics import SCORE_KEYS, sample_scores

CORPORA = {  # name -> (subdirectories, glob)
    "graphviz": (["graphviz/graphs", "graphviz/rtest"], "*.gv"),
    "state-machine-cat": (["state-machine-cat"], "*.dot"),
}


def oracle(path: Path):
    """Graphviz on the raw file bytes: (accepted, node count, edge count) after our normalisation."""
    try:
        g = pygraphviz.AGraph()
        g.read(str(path))
    except Exception:
        return False, 0, 0
    nodes = {normalize_id(n) for n in g.nodes()}
    directed = g.is_directed()
    edges = set()
    for t, h in g.edges():
        t, h = normalize_id(t), normalize_id(h)
        edges.add((t, h) if directed or t <= h else (h, t))
    return True, len(nodes), len(edges)


def check_file(path: Path) -> tuple[bool, list[str], float]:
    """(accepted by Graphviz, problems, seconds for one parse_dot)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # a few Graphviz tests are Latin-1 (charset=latin1); a model's output is always str
        text = raw.decode("latin-1")
    ok, n_nodes, n_edges = oracle(path)
    t0 = time.perf_counter()
    g = parse_dot(text)
    dt = time.perf_counter() - t0
    problems = []
    if ok != (g is not None):
        problems.append(f"Graphviz {'accepts' if ok else 'rejects'} it but parse_dot {'rejects' if ok else 'accepts'}")
    elif g is not None and (len(g.nodes), len(g.edges)) != (n_nodes, n_edges):
        problems.append(f"parse_dot has {len(g.nodes)} nodes/{len(g.edges)} edges, Graphviz {n_nodes}/{n_edges}")
    s = sample_scores(text, text)
    want = 1.0 if ok else 0.0
    bad = {k: s[k] for k in SCORE_KEYS if k != "clean_rate" and s[k] != want}
    if bad:
        problems.append(f"self-score should be {want} but got {bad}")
    return ok, problems, dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"))
    args = ap.parse_args(argv)
    root = Path(args.corpora)
    if not root.is_dir():
        print(f"{root}: no such directory; pass --corpora PATH to the shared corpora", file=sys.stderr)
        return 2
    summary: dict = {"mismatches": 0, "corpora": {}}
    times = []
    for name, (subdirs, pattern) in CORPORA.items():
        files = sorted(p for d in subdirs for p in (root / d).rglob(pattern))
        counts = {"files": len(files), "accepted": 0, "rejected": 0, "mismatches": 0}
        for path in files:
            ok, problems, dt = check_file(path)
            counts["accepted" if ok else "rejected"] += 1
            if ok:
                times.append(dt)
            for p in problems:
                print(f"MISMATCH {path.relative_to(root)}: {p}")
            counts["mismatches"] += bool(problems)
        print(f"{name}: {counts['files']} files, Graphviz accepts {counts['accepted']}, rejects "
              f"{counts['rejected']}, mismatches {counts['mismatches']}")
        summary["corpora"][name] = counts
        summary["mismatches"] += counts["mismatches"]
    if times:
        summary["parse_ms_median"] = round(statistics.median(times) * 1e3, 4)
        summary["parse_ms_max"] = round(max(times) * 1e3, 2)
        print(f"parse_dot on accepted files: median {summary['parse_ms_median']} ms, max {summary['parse_ms_max']} ms")
    print(json.dumps(summary))
    return 1 if summary["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
