"""The one canonical DOT writer every dataset generator uses (graph model -> text).

Why one writer: the model should learn DOT, not the quirks of ten hand-formatted templates. Every completion
in data/*.jsonl therefore has the same shape:

    digraph name {
      rankdir=LR;                      <- graph attributes first (only when the prompt asks for them)
      a [label="Alpha"];               <- nodes are declared only when they carry attributes or have no edges
      subgraph cluster_x {
        label="X";
        b;
      }
      a -> b [label="go"];             <- edges last, in the order the prompt implies
    }

IDs are quoted only when DOT needs it; attribute values are always quoted (uniform and always valid).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_BARE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMERAL = re.compile(r"^-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)$")
_KEYWORDS = {"node", "edge", "graph", "digraph", "subgraph", "strict"}


def quote_id(name: str) -> str:
    """Return `name` as a DOT ID, quoted only when a bare ID would be invalid (or a keyword)."""
    if (_BARE_ID.match(name) or _NUMERAL.match(name)) and name.lower() not in _KEYWORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_value(value: str) -> str:
    """Attribute values are always double-quoted so the style never depends on the value."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def attr_list(attrs: dict[str, str]) -> str:
    if not attrs:
        return ""
    return " [" + ", ".join(f"{k}={quote_value(v)}" for k, v in attrs.items()) + "]"


@dataclass
class Cluster:
    name: str                     # without the "cluster_" prefix
    label: str | None = None
    nodes: list[str] = field(default_factory=list)


@dataclass
class Graph:
    """A small graph model: enough for every kind we generate, nothing more."""
    directed: bool = True
    name: str = "G"
    attrs: dict[str, str] = field(default_factory=dict)          # graph attributes, e.g. rankdir
    node_defaults: dict[str, str] = field(default_factory=dict)  # `node [shape="box"];`
    edge_defaults: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)   # id -> attributes, insertion ordered
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)

    def node(self, nid: str, **attrs: str) -> str:
        self.nodes.setdefault(nid, {}).update(attrs)
        return nid

    def edge(self, a: str, b: str, **attrs: str) -> None:
        self.node(a)
        self.node(b)
        self.edges.append((a, b, dict(attrs)))

    def edge_pairs(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b, _ in self.edges]

    def to_dot(self) -> str:
        arrow = "->" if self.directed else "--"
        head = "digraph" if self.directed else "graph"
        lines = [f"{head} {quote_id(self.name)} {{"]
        for k, v in self.attrs.items():
            lines.append(f"  {k}={quote_value(v)};")
        if self.node_defaults:
            lines.append(f"  node{attr_list(self.node_defaults)};")
        if self.edge_defaults:
            lines.append(f"  edge{attr_list(self.edge_defaults)};")
        in_edges = {n for a, b, _ in self.edges for n in (a, b)}
        clustered = {n for c in self.clusters for n in c.nodes}
        # Why: a node needs its own statement only if it has attributes or would otherwise not exist at all.
        for nid, attrs in self.nodes.items():
            if nid in clustered:
                continue
            if attrs or nid not in in_edges:
                lines.append(f"  {quote_id(nid)}{attr_list(attrs)};")
        for c in self.clusters:
            # Why sanitise: cluster IDs are never compared by graders, so keep them bare (cluster_fin_wait).
            lines.append(f"  subgraph {quote_id('cluster_' + re.sub(r'[^A-Za-z0-9_]', '_', c.name))} {{")
            if c.label is not None:
                lines.append(f"    label={quote_value(c.label)};")
            for nid in c.nodes:
                lines.append(f"    {quote_id(nid)}{attr_list(self.nodes.get(nid, {}))};")
            lines.append("  }")
        for a, b, attrs in self.edges:
            lines.append(f"  {quote_id(a)} {arrow} {quote_id(b)}{attr_list(attrs)};")
        lines.append("}")
        return "\n".join(lines)
