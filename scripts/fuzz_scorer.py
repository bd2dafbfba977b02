"""Fuzz the scorer (extract_dot, parse_dot, sample_scores, DotGraphMetrics) with hypothesis for a fixed time.

    python scripts/fuzz_scorer.py --minutes 10

Inputs mix arbitrary Unicode (NUL, surrogates, control characters), DOT-shaped token soup (keywords, braces,
quotes, HTML '<', comments, '#' lines, edge operators, deep nesting) and mutated valid graphs. Properties, per input:

* nothing raises; results have the documented types and ranges;
* ``extract_dot``: the graph is a substring that starts with a graph keyword and ends with '}'; clean => it is the
  whole stripped text;
* ``sample_scores(x, x)``: all 1 if ``parse_dot(x)`` accepts it, all 0 otherwise;
* every call finishes within ``--call-seconds`` (default 2 s);
* Graphviz writes nothing to fd 2 (its messages are captured and counted).

A crash (segfault, stack overflow) or hang inside Graphviz's C code cannot be caught in-process, so the fuzzing runs
in a worker subprocess and this supervisor watches it: if the worker dies or its heartbeat stalls, the input it was
on (saved before every call) is reported and the run fails. Prints a summary and a final JSON line; exit 1 on any
failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------------------------------------
# Worker


def worker(minutes: float, state_dir: Path, call_seconds: float) -> None:
    sys.path.insert(0, str(ROOT))
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from dotlightning.metrics.dot import Graph, extract_dot, graphviz_messages, parse_dot
    from dotlightning.metrics.graph_metrics import SCORE_KEYS, DotGraphMetrics, sample_scores

    current = state_dir / "current.txt"
    stats = {"examples": 0, "accepted": 0, "extracted": 0, "slowest_s": 0.0, "failures": []}
    metric = DotGraphMetrics()
    ref = "digraph { a -> b [label=x]; b -> c; subgraph cluster_1 { d } }"

    tokens = st.sampled_from(
        ["digraph", "graph", "strict", "subgraph", "node", "edge", "{", "}", "{", "}", "[", "]", ";", ",", "=",
         "->", "--", "-", '"', '\\"', "\\", "<", ">", "<b>", "</b>", "//", "/*", "*/", "#", "\n", " ", "\t",
         "a", "B_c", "x-y", "1", "-2.5", ".5", "label", "label=", '"l b"', "cluster_x", ":", "n:e", "\x00",
         "\udcff", "é", "\u202e", "```dot\n", "\n```", "Here is the graph:", "{" * 50, "}" * 50]
    )
    soup = st.lists(tokens, max_size=80).map("".join)
    valid = st.builds(
        lambda directed, edges, labels: ("digraph" if directed else "graph") + " G {\n" + "\n".join(
            f'  "{t}" {"->" if directed else "--"} "{h}"' + (f' [label="{lab}"]' if lab else "") + ";"
            for (t, h), lab in zip(edges, labels + [""] * len(edges))
        ) + "\n}",
        st.booleans(),
        st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=12),
        st.lists(st.text(max_size=8), max_size=12),
    )

    def mutate(args):
        text, cut, insert = args
        i = cut % (len(text) + 1)
        return text[:i] + insert + text[i:]

    mutated = st.tuples(valid, st.integers(0, 10_000), st.sampled_from(["{", "}", '"', "<", "->", "\x00", "", "/*"]))
    nested = st.builds(
        lambda k, kw: "digraph {" + (f" {kw} {{" * k) + " a -> b " + "}" * k + "}",
        st.integers(0, 5000),
        st.sampled_from(["subgraph", "", "subgraph s"]),
    )
    inputs = st.one_of(st.text(max_size=400), st.text(alphabet=st.characters(), max_size=200), soup, valid,
                       mutated.map(mutate), nested, st.binary(max_size=300).map(lambda b: b.decode("latin-1")))

    def timed(fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        dt = time.perf_counter() - t0
        stats["slowest_s"] = max(stats["slowest_s"], dt)
        assert dt < call_seconds, f"{fn.__name__} took {dt:.2f}s (cap {call_seconds}s)"
        return out

    @settings(max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(inputs)
    def check(text: str) -> None:
        current.write_text(repr(text), encoding="utf-8")  # for the supervisor, if we crash or hang next
        stats["examples"] += 1
        dot, clean = timed(extract_dot, text)
        assert dot is None or isinstance(dot, str) and isinstance(clean, bool)
        if dot is not None:
            stats["extracted"] += 1
            assert dot in text and dot.endswith("}") and dot[:1].lower() in "sdg", repr(text)[:500]
            assert not clean or dot == text.strip(), repr(text)[:500]
        else:
            assert clean is False
        g = timed(parse_dot, text)
        assert g is None or isinstance(g, Graph)
        stats["accepted"] += g is not None
        s = timed(sample_scores, text, text)
        want = 1.0 if g is not None else 0.0
        assert all(s[k] == want for k in SCORE_KEYS if k != "clean_rate"), (repr(text)[:500], s, want)
        s2 = timed(sample_scores, text, ref)
        assert all(0.0 <= s2[k] <= 1.0 for k in SCORE_KEYS), s2
        metric.update(scores=[s2])

    deadline = time.monotonic() + minutes * 60
    while time.monotonic() < deadline:
        try:
            check()
        except Exception as err:  # a property failed: hypothesis has shrunk it; record and keep fuzzing
            stats["failures"].append(f"{type(err).__name__}: {err}"[:2000])
            if len(stats["failures"]) >= 20:
                break
        (state_dir / "stats.json").write_text(json.dumps(stats))
    out = {k: float(v) for k, v in metric.compute().items()}
    stats["metric_n"] = out["n"]
    stats["graphviz_messages"] = graphviz_messages()
    (state_dir / "stats.json").write_text(json.dumps(stats))


# ----------------------------------------------------------------------------------------------------------------------
# Supervisor


def supervise(minutes: float, call_seconds: float, stall_seconds: float) -> int:
    with tempfile.TemporaryDirectory(prefix="fuzz_scorer_") as tmp:
        state = Path(tmp)
        stderr_path = state / "stderr.txt"
        with stderr_path.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, __file__, "--worker", "--minutes", str(minutes), "--state", tmp,
                 "--call-seconds", str(call_seconds)],
                stderr=err,
            )
            started = time.monotonic()
            problem = None
            current = state / "current.txt"
            while proc.poll() is None:
                time.sleep(1.0)
                beat = current.stat().st_mtime if current.exists() else None
                stalled = time.time() - beat if beat else time.monotonic() - started
                if stalled > stall_seconds:
                    problem = f"hang: no progress for {stalled:.0f}s"
                    proc.kill()
                    proc.wait()
                    break
            if problem is None and proc.returncode != 0:
                problem = f"worker died with exit code {proc.returncode}"
        stats = json.loads((state / "stats.json").read_text()) if (state / "stats.json").exists() else {}
        stderr_text = stderr_path.read_text(errors="replace")
        summary = {
            "minutes": round((time.monotonic() - started) / 60, 2),
            "examples": stats.get("examples", 0),
            "accepted_by_graphviz": stats.get("accepted", 0),
            "extracted": stats.get("extracted", 0),
            "slowest_call_s": round(stats.get("slowest_s", 0.0), 4),
            "graphviz_messages_captured": stats.get("graphviz_messages"),
            "stderr_bytes": len(stderr_text),
            "failures": len(stats.get("failures", [])) + (problem is not None),
        }
        for f in stats.get("failures", []):
            print("FAILURE:", f)
        if problem:
            last = current.read_text() if current.exists() else "?"
            print(f"FAILURE: {problem}; last input: {last[:2000]}")
        if stderr_text.strip():
            print("worker stderr (should be empty):", stderr_text[-2000:])
        print(f"{summary['examples']} examples in {summary['minutes']} min, {summary['failures']} failures, "
              f"slowest call {summary['slowest_call_s']} s, Graphviz messages captured "
              f"{summary['graphviz_messages_captured']}, stderr bytes {summary['stderr_bytes']}")
        print(json.dumps(summary))
        return 1 if summary["failures"] or summary["stderr_bytes"] else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to fuzz (default 10)")
    ap.add_argument("--call-seconds", type=float, default=2.0, help="time cap for one scorer call")
    ap.add_argument("--stall-seconds", type=float, default=60.0, help="no progress this long = hang")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--state", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.minutes, Path(args.state), args.call_seconds)
        return 0
    return supervise(args.minutes, args.call_seconds, args.stall_seconds)


if __name__ == "__main__":
    sys.exit(main())
