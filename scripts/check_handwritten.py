#!/usr/bin/env python
"""Check a hand-written eval file (JSONL): required fields present, every completion parses with Graphviz.

Usage: python scripts/check_handwritten.py results/handwritten/prompts-v2.jsonl [more.jsonl ...]
Exit status 1 if any line fails; each failure is reported as file:line: reason.
"""
import argparse
import collections
import sys
from pathlib import Path

import pygraphviz

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from dotlightning.data.records import iter_jsonl  # noqa: E402

REQUIRED = ("id", "prompt", "completion")


def check_file(path):
    errors, by_source, by_kind, ids = [], collections.Counter(), collections.Counter(), set()
    n = 0
    for lineno, rec in iter_jsonl(path):
        n += 1
        where = f"{path}:{lineno}"
        if isinstance(rec, Exception):
            errors.append(f"{where}: invalid JSON ({rec})")
            continue
        missing = [k for k in REQUIRED if not isinstance(rec.get(k), str) or not rec[k].strip()]
        if missing:
            errors.append(f"{where}: missing/empty field(s) {', '.join(missing)}")
            continue
        if rec["id"] in ids:
            errors.append(f"{where}: duplicate id {rec['id']}")
        ids.add(rec["id"])
        by_source[rec.get("source", "-")] += 1
        by_kind[rec.get("kind", "-")] += 1
        try:
            g = pygraphviz.AGraph(string=rec["completion"])
        except Exception as e:  # pygraphviz raises DotError/ValueError on bad DOT
            errors.append(f"{where}: Graphviz rejects completion of {rec['id']}: {str(e).strip()}")
            continue
        if g.number_of_nodes() == 0:
            errors.append(f"{where}: completion of {rec['id']} has no nodes")
    return n, by_source, by_kind, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("path", nargs="+", help="JSONL file(s) with id/prompt/completion")
    args = ap.parse_args()
    all_errors = []
    for path in args.path:
        n, by_source, by_kind, errors = check_file(path)
        print(f"== {path}: {n} items, {n - len(errors)} ok, {len(errors)} failing")
        print("  by source: " + ", ".join(f"{k}={v}" for k, v in sorted(by_source.items())))
        print("  by kind:   " + ", ".join(f"{k}={v}" for k, v in sorted(by_kind.items())))
        all_errors += errors
    for e in all_errors:
        print("FAIL " + e, file=sys.stderr)
    return 1 if all_errors else 0


if __name__ == "__main__":
    sys.exit(main())
