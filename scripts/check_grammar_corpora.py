"""Run the constrained-decoding grammar (dotlightning/dot.lark) over real-world DOT and list where it is stricter than
Graphviz: every graph Graphviz accepts but the grammar rejects, with the grammar's reason.

    python scripts/check_grammar_corpora.py [--corpora ../shared/corpora] [--verbose] [--mutations 20]

Corpora (evaluation data, read at run time, never copied into the repo): every *.gv and *.dot file under --corpora
(Graphviz's test graphs and the state-machine-cat fixtures). The oracle is Graphviz itself on the raw file
(``pygraphviz.AGraph().read``), as in scripts/check_corpora.py.

The grammar describes what a model should *write*: one graph, nothing around it. Files are more than that, so before
checking, comments and whitespace before the header (licence blocks, ``#`` lines) and after the closing ``}`` are
removed; those are counted, not listed. Text after the first graph that is not a comment (a second graph: Graphviz
reads only the first) is listed. Graphs the grammar accepts but Graphviz rejects are listed too (those would be
grammar bugs: constrained decoding could then write a graph that does not parse). Exits 1 if there are any.

``--mutations N`` hunts for such bugs harder: N seeded random edits of every graph under 4 kB (a character deleted,
a DOT-ish piece inserted, ``->`` and ``--`` swapped, a span repeated), each judged by both the grammar and
``parse_dot`` (what constrained decoding promises to satisfy); every edit the grammar accepts and parse_dot rejects is
listed. Edits that only the grammar rejects are expected (it is stricter) and only counted.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import pygraphviz

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from dotlightning.model.constrained import grammar_rejects
from dotlightning.metrics.dot import parse_dot

_IGNORABLE = r"(?:\s|//[^\n]*|/\*.*?\*/|#[^\n]*)*"
_LEADING = re.compile(r"\A" + _IGNORABLE, re.S)
_ONLY_IGNORABLE = re.compile(r"\A" + _IGNORABLE + r"\Z", re.S)
_POSITION = re.compile(r"line (\d+), column (\d+)")


def graphviz_accepts(path: Path) -> bool:
    try:
        pygraphviz.AGraph().read(str(path))
    except Exception:
        return False
    return True


def offset_of(text: str, line: int, column: int) -> int:
    """Character offset of a 1-based (line, byte column) in ``text`` (columns count UTF-8 bytes)."""
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    line_bytes = text[start:].encode("utf-8")[: column - 1]
    return start + len(line_bytes.decode("utf-8", "ignore"))


def check(text: str) -> tuple[str | None, str]:
    """(reason the grammar rejects the file's first graph or None, note about what was trimmed)."""
    body = _LEADING.sub("", text, count=1)
    note = "leading comments" if re.search(r"\S", text[: len(text) - len(body)]) else ""
    reason = grammar_rejects(body)
    if reason is None or not reason.startswith("line "):
        return reason, note
    line, column = map(int, _POSITION.match(reason).groups())
    cut = offset_of(body, line, column)
    if grammar_rejects(body[:cut].rstrip()) is not None:
        return reason, note
    rest = body[cut:]
    if _ONLY_IGNORABLE.match(rest):  # only comments or whitespace after the graph
        return None, ", ".join(filter(None, [note, "trailing comments/whitespace"]))
    return f"text after the first graph (Graphviz reads only the first): {rest.strip()[:40]!r}", note


PIECES = ["-", ">", "->", "--", "{", "}", '"', ";", ",", "=", "[", "]", "<", " ", "node", "edge", "graph", "subgraph",
          "a", "1", ".", "\\", "/", "*", "#", "\n", ":", "+", "\x00", "\x0c", "strict", "x=y", "<b>", "/*", "//"]


def mutate(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) + 1)
    kind = rng.randrange(4)
    if kind == 0 and text:
        return text[: min(i, len(text) - 1)] + text[min(i, len(text) - 1) + 1 :]
    if kind == 1:
        return text[:i] + rng.choice(PIECES) + text[i:]
    if kind == 2 and ("->" in text or "--" in text):
        return text.replace("->", "\0").replace("--", "->").replace("\0", "--") if rng.random() < 0.5 else (
            text.replace("->", "--", 1) if "->" in text else text.replace("--", "->", 1))
    j = min(len(text), i + rng.randrange(1, 12))
    return text[:j] + text[i:j] + text[j:]


def mutation_check(bodies: list[tuple[Path, str]], count: int) -> tuple[Counter, list[tuple[Path, str]]]:
    """(tallies, edits the grammar accepts but parse_dot rejects)."""
    tally: Counter[str] = Counter()
    unsound: list[tuple[Path, str]] = []
    rng = random.Random(0)
    for path, body in bodies:
        if len(body) > 4000:
            continue
        for _ in range(count):
            edit = mutate(body, rng)
            grammar_ok = grammar_rejects(edit) is None
            graphviz_ok = parse_dot(edit) is not None
            tally[f"grammar {'accepts' if grammar_ok else 'rejects'}, parse_dot {'accepts' if graphviz_ok else 'rejects'}"] += 1
            if grammar_ok and not graphviz_ok:
                unsound.append((path, edit))
    return tally, unsound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))
    parser.add_argument("--verbose", action="store_true", help="also list trimmed files")
    parser.add_argument("--mutations", type=int, default=0, help="random edits per graph (0: none)")
    args = parser.parse_args()
    root = Path(args.corpora)
    files = sorted(p for p in root.rglob("*") if p.suffix in (".gv", ".dot") and p.is_file())
    if not files:
        raise SystemExit(f"no .gv/.dot files under {root}. Fix: pass --corpora DIR (e.g. ../shared/corpora)")
    counts: Counter[str] = Counter()
    stricter: list[tuple[Path, str]] = []
    bodies: list[tuple[Path, str]] = []
    looser: list[Path] = []
    start = time.perf_counter()
    for path in files:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # a few Graphviz tests are Latin-1; a model's output is always str
            text = raw.decode("latin-1")
        accepted = graphviz_accepts(path)
        reason, note = check(text)
        if accepted and reason is None:
            bodies.append((path, _LEADING.sub("", text, count=1).rstrip()))
        counts["graphviz accepts" if accepted else "graphviz rejects"] += 1
        if note:
            counts[f"trimmed: {note}"] += 1
            if args.verbose:
                print(f"  trimmed {path.relative_to(root)}: {note}")
        if accepted and reason is not None:
            stricter.append((path, reason))
        elif not accepted and reason is None:
            looser.append(path)
        elif accepted:
            counts["both accept"] += 1
        else:
            counts["both reject"] += 1
    seconds = time.perf_counter() - start
    print(f"{len(files)} files under {root} in {seconds:.1f} s: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"\nGraphviz accepts, the grammar rejects ({len(stricter)}):")
    for path, reason in stricter:
        print(f"  {path.relative_to(root)}: {reason}")
    print(f"\nThe grammar accepts, Graphviz rejects ({len(looser)}):")
    for path in looser:
        print(f"  {path.relative_to(root)}")
    unsound: list = []
    if args.mutations:
        start = time.perf_counter()
        tally, unsound = mutation_check(bodies, args.mutations)
        print(f"\n{sum(tally.values())} random edits in {time.perf_counter() - start:.1f} s: "
              + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
        print(f"Edits the grammar accepts and parse_dot rejects ({len(unsound)}):")
        for path, edit in unsound[:50]:
            print(f"  {path.relative_to(root)}: {edit[:300]!r}")
    sys.exit(1 if looser or unsound else 0)


if __name__ == "__main__":
    main()
