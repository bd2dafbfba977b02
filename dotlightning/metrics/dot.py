"""DOT text -> the graph it means, with Graphviz itself as the judge of validity.

Pipeline: ``extract_dot`` finds the graph inside a model's output, ``parse_dot`` hands it to Graphviz's own C parser
(in-process, through pygraphviz, whose wheel bundles Graphviz) and reads back a ``Graph`` of normalised node IDs, edges
and edge labels. Everything the metrics compare is a set in ``Graph``.

Why Graphviz and not pydot / a grammar of our own: pydot accepts ``digraph { a -- b }`` and misses nodes that only
appear in edges; a hand-written grammar drifts from what ``dot`` really accepts. Why in-process and not a ``dot``
subprocess: ~0.1 ms per parse instead of ~10 ms per fork/exec.

Graphviz's C parser has three hazards that this module guards against *before* calling it:

* deep ``{`` / subgraph nesting can overflow the C stack (a segfault kills the training job) -> nesting is capped;
* NUL bytes truncate the C string and silently change what is parsed -> rejected;
* huge inputs take long -> length is capped (``MAX_DOT_CHARS``).

Graphviz reports warnings and syntax errors through ``agerr``, which by default writes to file descriptor 2 (not via
Python ``warnings``), so a bad batch of predictions would flood the training log. We install a user error function
with ``agseterrf`` (through ctypes, on the very libcgraph that pygraphviz loaded) that counts the messages instead;
see ``graphviz_messages()``.

>>> extract_dot('Sure! ```dot\\ndigraph G { a -> b }\\n``` Hope it helps.')
('digraph G { a -> b }', False)
>>> g = parse_dot('digraph { "Start Here" -> b_c; "B-c" -> d [label="Go"]; subgraph cluster_x { e } }')
>>> sorted(g.nodes)
['b c', 'd', 'e', 'start here']
>>> sorted(g.edges)
[('b c', 'd'), ('start here', 'b c')]
>>> sorted(g.edge_labels)
[(('b c', 'd'), 'go')]
>>> parse_dot('digraph { a -- b }') is None   # Graphviz rejects '--' in a digraph
True
"""

from __future__ import annotations

import ctypes
import glob
import os
import re
import threading
from dataclasses import dataclass

import pygraphviz
from pygraphviz import graphviz as _gv

__all__ = [
    "Graph",
    "extract_dot",
    "parse_dot",
    "normalize_id",
    "render",
    "graphviz_messages",
    "MAX_DOT_CHARS",
    "MAX_NESTING",
]

MAX_DOT_CHARS = 1_000_000
"""Longest graph text handed to Graphviz. The largest graph in the Graphviz test suite is ~780 kB; model outputs are
far shorter. Longer text is treated as invalid (a runaway generation, not a graph)."""

MAX_NESTING = 100
"""Deepest ``{`` / ``[`` / HTML ``<`` nesting handed to Graphviz. Real graphs nest a handful of clusters; thousands of
nested subgraphs can overflow the C stack of Graphviz's parser, so we refuse before calling it."""

# ----------------------------------------------------------------------------------------------------------------------
# Extraction: one rule. The first `[strict] (di)graph [ID] {` (DOT keywords are case-insensitive) through its matching
# `}`. Brace matching skips "quoted strings" (with backslash escapes), <HTML <nested> labels>, // and /* */ comments
# and `#` preprocessor lines, exactly the places where DOT allows a brace that is not structure.

_ID = r'(?:"(?:[^"\\]|\\.)*"|[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*|-?(?:\.\d+|\d+(?:\.\d*)?))'
_HEADER = re.compile(rf"(?<![\w.\x80-\U0010ffff])(?:strict\s+)?(?:di)?graph(?:\s*{_ID}|\s+<[^<>]*>)?\s*\{{", re.I | re.S)


_SPECIAL = re.compile(r'["<{}\[\]/#]')  # the only characters that can change brace depth or start a skip


def _match_brace(text: str, open_pos: int) -> tuple[int, int]:
    """Index just past the `}` matching the `{` at ``open_pos`` (or -1 if unterminated), and the deepest nesting seen.

    Nesting counts `{`, `[` and HTML `<` together: all three recurse in Graphviz's parsers. The scan jumps from one
    special character to the next with a regex, so ordinary text costs no Python-level work."""
    depth, brackets, max_depth, i, n = 0, 0, 0, open_pos, len(text)
    search = _SPECIAL.search
    while True:
        m = search(text, i)
        if m is None:
            return -1, max_depth
        i = m.start()
        c = text[i]
        if c == '"':  # quoted string; backslash escapes the next character
            i += 1
            while True:
                q = text.find('"', i)
                if q < 0:
                    return -1, max_depth
                k = q - 1  # an odd number of backslashes before the quote escapes it
                while k >= i and text[k] == "\\":
                    k -= 1
                if (q - 1 - k) % 2 == 0:
                    i = q
                    break
                i = q + 1
        elif c == "<":  # HTML string: balanced <...>, may contain braces and quotes that mean nothing to DOT
            html_depth = 0
            a, b = text.find("<", i), text.find(">", i)  # next '<' and '>', each refreshed only once consumed
            while True:
                if b < 0:
                    return -1, max_depth
                if 0 <= a < b:
                    html_depth += 1
                    max_depth = max(max_depth, depth + brackets + html_depth)
                    a = text.find("<", a + 1)
                else:
                    html_depth -= 1
                    i = b + 1
                    if html_depth == 0:
                        break
                    b = text.find(">", i)
            continue
        elif c == "/":
            if text.startswith("//", i):
                j = text.find("\n", i)
                i = n if j < 0 else j
                continue
            if text.startswith("/*", i):
                j = text.find("*/", i + 2)
                if j < 0:
                    return -1, max_depth
                i = j + 2
                continue
        elif c == "#":
            if i == 0 or text[i - 1] in "\r\n":  # cpp-style line, a comment to Graphviz
                j = text.find("\n", i)
                i = n if j < 0 else j
                continue
        elif c == "{":
            depth += 1
            if depth + brackets > max_depth:
                max_depth = depth + brackets
        elif c == "[":
            brackets += 1
            if depth + brackets > max_depth:
                max_depth = depth + brackets
        elif c == "]":  # only counts toward nesting; a stray ']' is Graphviz's to reject, not a graph boundary
            brackets = max(0, brackets - 1)
        else:  # }
            depth -= 1
            if depth == 0:
                return i + 1, max_depth
        i += 1


def _find_graph(text: str) -> tuple[int, int, int]:
    """(start, end, max_depth) of the first complete graph, or (-1, -1, depth) if there is none."""
    m = _HEADER.search(text)
    if m is None:
        return -1, -1, 0
    end, max_depth = _match_brace(text, m.end() - 1)
    if end < 0:
        return -1, -1, max_depth
    return m.start(), end, max_depth


def extract_dot(text: str) -> tuple[str | None, bool]:
    """The first ``[strict] (di)graph [ID] { ... }`` in ``text`` and whether the output was *clean*.

    Returns ``(dot, clean)``: ``dot`` runs from the header through the matching ``}`` (``None`` if there is no
    complete graph); ``clean`` is True only when ``text.strip()`` is exactly that graph: no Markdown fence, no prose,
    no second graph. Extraction says nothing about validity; ``parse_dot`` decides that.

    >>> extract_dot('strict graph "x{" { a -- b [label="}"] }')
    ('strict graph "x{" { a -- b [label="}"] }', True)
    >>> extract_dot('digraph { a [label=<<b>}</b>>] } and then digraph { c }')
    ('digraph { a [label=<<b>}</b>>] }', False)
    >>> extract_dot('digraph { a -> b')
    (None, False)
    """
    if not isinstance(text, str):
        return None, False
    start, end, _ = _find_graph(text)
    if start < 0:
        return None, False
    dot = text[start:end]
    return dot, dot == text.strip()


# ----------------------------------------------------------------------------------------------------------------------
# Normalisation: models (and people) write the same node as `Start`, "start", start_state, "start-state".


_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_id(name: str) -> str:
    """Case-fold, strip surrounding quotes, and turn every run of whitespace, ``-`` and ``_`` into one space.

    >>> normalize_id('"Idle_State"'), normalize_id("idle - state"), normalize_id("  IDLE\\tstate ")
    ('idle state', 'idle state', 'idle state')
    """
    s = name.strip()
    if len(s) >= 2 and s[0] == s[-1] == '"':
        s = s[1:-1]
    return _SEPARATORS.sub(" ", s.casefold()).strip()


@dataclass(frozen=True)
class Graph:
    """What the metrics compare, all as sets of normalised strings.

    ``edges``: ``(tail, head)`` in a digraph; in an undirected graph the pair is sorted, so ``a -- b`` equals
    ``b -- a``. ``edge_labels``: ``(edge, normalised label)`` for edges with a non-empty ``label`` (including one set
    by ``edge [label=...]`` defaults, as Graphviz resolves it)."""

    directed: bool
    nodes: frozenset[str]
    edges: frozenset[tuple[str, str]]
    edge_labels: frozenset[tuple[tuple[str, str], str]]


# ----------------------------------------------------------------------------------------------------------------------
# Graphviz error capture. agerr() formats the message and, if a user function is installed, passes it there instead
# of writing to stderr. We find the libcgraph that pygraphviz already loaded (dlopen of the same path returns the same
# handle, so the setting applies to pygraphviz's parser too).

_lock = threading.Lock()  # cgraph's parser keeps global state: one parse at a time per process
_messages = {"count": 0, "last": ""}
_ERRF = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p)


def _on_graphviz_message(msg: bytes | None) -> int:
    # Called from C for every warning/error line; must never raise.
    _messages["count"] += 1
    if msg:
        _messages["last"] = msg.decode("utf-8", "replace")[:500]
    return 0


_errf_callback = _ERRF(_on_graphviz_message)  # keep a reference: C holds the pointer for the process lifetime


def _install_error_hook() -> bool:
    libdir = os.path.join(os.path.dirname(os.path.dirname(pygraphviz.__file__)), "pygraphviz.libs")
    candidates = sorted(glob.glob(os.path.join(libdir, "libcgraph*.so*"))) or ["libcgraph.so"]
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
            lib.agseterrf.argtypes = [_ERRF]
            lib.agseterrf(_errf_callback)
            return True
        except (OSError, AttributeError):
            continue
    return False


_ERROR_HOOK_INSTALLED = _install_error_hook()


def graphviz_messages() -> int:
    """How many warning/error messages Graphviz has emitted in this process (captured, never printed)."""
    return _messages["count"]


# ----------------------------------------------------------------------------------------------------------------------
# The parse. pygraphviz's AGraph(string=...) goes through a named temporary file and wraps every node and edge in a
# Python object; we feed cgraph's agread from a reusable in-memory file (memfd) and walk the graph with the raw SWIG
# calls, which is several times faster.


class _MemFile:
    """An in-memory file with a real descriptor, which pygraphviz's SWIG layer turns into a FILE* via fdopen(dup())."""

    mode = "rb"

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._fd = os.memfd_create("dotlightning-parse") if hasattr(os, "memfd_create") else None
        if self._fd is None:
            import tempfile

            self._tmp = tempfile.TemporaryFile()
            self._fd = self._tmp.fileno()

    def load(self, data: bytes) -> None:
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.lseek(self._fd, 0, os.SEEK_SET)

    def fileno(self) -> int:
        return self._fd


_memfile: _MemFile | None = None


def _read_graph(dot: str) -> Graph | None:
    global _memfile
    if _memfile is None or _memfile.pid != os.getpid():  # a forked child (DataLoader worker) must not share the fd
        _memfile = _MemFile()
    _memfile.load(dot.encode("utf-8", "surrogatepass"))
    gv = _gv._graphviz  # the raw SWIG functions: no per-call Python wrapper
    try:
        g = gv.agread(_memfile, None)
    except ValueError:  # agread returned NULL: a syntax error (already counted by the error hook)
        return None
    if g is None:
        return None
    try:
        directed = bool(gv.agisdirected(g))
        agnameof, agget, agnxtout, aghead = gv.agnameof, gv.agget, gv.agnxtout, gv.aghead
        norm: dict[bytes, str] = {}  # raw name -> normalised, so each node is normalised once

        def name_of(obj) -> str:
            raw = agnameof(obj)
            out = norm.get(raw)
            if out is None:
                out = norm[raw] = normalize_id(raw.decode("utf-8", "replace"))
            return out

        nodes: set[str] = set()
        edges: set[tuple[str, str]] = set()
        labels: set[tuple[tuple[str, str], str]] = set()
        n = gv.agfstnode(g)
        while n is not None:
            t = name_of(n)
            nodes.add(t)
            e = gv.agfstout(g, n)
            while e is not None:
                h = name_of(aghead(e))
                edge = (t, h) if directed or t <= h else (h, t)
                edges.add(edge)
                label = agget(e, b"label")
                if label:
                    text = normalize_id(label.decode("utf-8", "replace") if isinstance(label, bytes) else str(label))
                    if text:
                        labels.add((edge, text))
                e = agnxtout(g, e)
            n = gv.agnxtnode(g, n)
        return Graph(directed, frozenset(nodes), frozenset(edges), frozenset(labels))
    finally:
        gv.agclose(g)


def _safe_to_parse(text: str) -> tuple[str | None, str]:
    """The single graph in ``text`` that is safe to hand to Graphviz, or (None, reason)."""
    if not isinstance(text, str):
        return None, "not a string"
    if len(text) > MAX_DOT_CHARS:
        return None, "too long"
    if "\x00" in text:
        return None, "NUL byte"
    start, end, depth = _find_graph(text)
    if depth > MAX_NESTING:
        return None, "nested too deep"
    if start < 0:
        return None, "no complete graph"
    return text[start:end], ""


def parse_dot(text: str) -> Graph | None:
    """Parse the graph in ``text`` with Graphviz; ``None`` when Graphviz rejects it or it is unsafe. Never raises.

    The graph parsed is the one ``extract_dot`` finds (so leading comments, a Markdown fence or prose around it do
    not matter here; ``extract_dot(text)[1]`` tells you whether the output was clean). Unsafe inputs (NUL bytes,
    longer than ``MAX_DOT_CHARS``, nesting deeper than ``MAX_NESTING``) are rejected without calling Graphviz.

    >>> g = parse_dot("graph { b -- a; a -- b; c }")
    >>> g.directed, sorted(g.nodes), sorted(g.edges)
    (False, ['a', 'b', 'c'], [('a', 'b')])
    >>> parse_dot("digraph { a -> b }\\x00") is None, parse_dot("{" * 100_000) is None, parse_dot("") is None
    (True, True, True)
    """
    try:
        dot, _reason = _safe_to_parse(text)
        if dot is None:
            return None
        with _lock:
            return _read_graph(dot)
    except Exception:  # pragma: no cover - defensive: a scorer must never take down training
        return None


def render(dot: str, fmt: str = "svg") -> bytes | None:
    """Lay out and render ``dot`` in-process (Graphviz ``dot`` layout); ``None`` if it does not parse or render.

    >>> render("digraph { a -> b }")[:5] in (b"<?xml", b"<svg ")
    True
    """
    try:
        safe, _ = _safe_to_parse(dot)
        if safe is None:
            return None
        with _lock:
            if _read_graph(safe) is None:
                return None
            return pygraphviz.AGraph(string=safe).draw(format=fmt, prog="dot")
    except Exception:
        return None
