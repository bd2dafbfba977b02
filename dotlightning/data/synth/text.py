"""Phrasing: turn a graph spec into many differently *structured* descriptions.

Why so many shapes of text: a 270M model tuned on four templates learns the templates, not DOT. Each piece here is
a different sentence structure (prose with kind-specific verbs, bullets, numbered steps, arrow chains, tables,
adjacency lists, questions, terse notes...). Roughly every fifth option of each list is HELD OUT: `pick` only
offers it in val/test, so a train-vs-test gap shows memorised phrasing.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Callable

from .dot_writer import Graph


def is_heldout_option(i: int) -> bool:
    return i % 5 == 4


def pick(rng: random.Random, options: list, split: str, heldout_share: float = 0.5):
    """Choose an option; train never sees held-out ones, val/test take one with probability heldout_share."""
    train = [o for i, o in enumerate(options) if not is_heldout_option(i)]
    held = [o for i, o in enumerate(options) if is_heldout_option(i)]
    if split != "train" and held and rng.random() < heldout_share:
        return rng.choice(held)
    return rng.choice(train)


def join_and(items: list[str], rng: random.Random | None = None) -> str:
    items = list(items)
    if len(items) == 1:
        return items[0]
    conj = " and " if rng is None or rng.random() < 0.8 else " & "
    oxford = "," if rng is not None and rng.random() < 0.3 and len(items) > 2 else ""
    return ", ".join(items[:-1]) + oxford + conj + items[-1]


@dataclass
class Spec:
    """A graph plus what a description of it must say."""
    kind: str
    g: Graph
    nouns: list[str]                       # "state machine", "FSM", ...
    verbs: list[str]                       # "{a} depends on {b}" ({a} = tail, {b} = head)
    label_verbs: list[str] = field(default_factory=list)   # with {l}
    structural: list[str] = field(default_factory=list)    # whole-structure descriptions (no edge list needed)
    extras: list[str] = field(default_factory=list)        # sentences that must appear (clusters, shapes...)
    intros: list[str] = field(default_factory=list)        # kind-specific intro lines
    quote_names: bool = False              # wrap names in quotes/backticks in prose (names with spaces)


def cap(tpl: str, s: str) -> str:
    """Capitalise a sentence only when it starts with template words, never when it starts with a node name."""
    return s[:1].upper() + s[1:] if not tpl.startswith("{") else s


def q(name: str, spec: Spec, rng: random.Random) -> str:
    """How a node name appears in running text: names with spaces need visible quotes to stay unambiguous."""
    if " " in name or spec.quote_names:
        return rng.choice(['"{}"', '"{}"', "'{}'", "`{}`"]).format(name) if " " in name else f"`{name}`"
    return name


# ---------------------------------------------------------------- intros (generic frames, {n} = noun)
GENERIC_INTROS = [
    "Draw a {n}.", "Can you draw a {n}?", "Generate Graphviz DOT for a {n}.", "{N}:", "I need a {n} in DOT.",
    "Write DOT code for a {n}.", "Please produce a {n} as a Graphviz graph.", "Make a {n}.", "Create a {n}.",
    "Could you render this {n} in the DOT language?", "Sketch a {n} using Graphviz.", "dot for a {n} pls",
    "Give me the DOT source of a {n}.", "Build a {n} graph.", "Help me diagram a {n}.",
    "Visualize the following {n}.", "Represent this as a {n} in Graphviz.", "Turn this into a {n}.",
    "Here's a {n} I want drawn.", "Output a {n} (Graphviz).", "Would you write the Graphviz for this {n}?",
    "{N}, please.", "Graphviz {n}.", "Produce DOT for the {n} described below.", "Compose a {n} diagram.",
    "I'd like a {n}.", "Show this {n} as a DOT graph.", "Convert my notes into a {n}.",
    "Write a DOT {n} from this description.", "Need a quick {n}.",
]

BODY_LEADS = ["", "", "", "Edges:", "Connections:", "Here they are:", "Details:", "The links are as follows.",
              "Relationships:", "Structure:", "It goes like this:", "Spec:"]


def intro(rng: random.Random, spec: Spec, split: str) -> str:
    if spec.intros and rng.random() < 0.45:
        return pick(rng, spec.intros, split)
    n = pick(rng, spec.nouns, split)
    t = pick(rng, GENERIC_INTROS, split)
    text = t.replace("{N}", n[:1].upper() + n[1:]).replace("{n}", n)
    return text.replace("diagram diagram", "diagram").replace("chart diagram", "chart")


# ---------------------------------------------------------------- bodies (edge descriptions)
Edge = tuple[str, str, str | None]


def edges_of(spec: Spec) -> list[Edge]:
    return [(a, b, attrs.get("label")) for a, b, attrs in spec.g.edges]


def _arrow(spec: Spec, rng: random.Random) -> str:
    if spec.g.directed:
        return rng.choice(["->", "->", "→", "=>", "-->"])
    return rng.choice(["--", "--", "-", "<->", "—"])


def body_prose(spec, rng, split):
    out = []
    for a, b, l in edges_of(spec):
        tpl = rng.choice(spec.label_verbs if l is not None else spec.verbs)
        s = tpl.format(a=q(a, spec, rng), b=q(b, spec, rng), l=l)
        out.append(cap(tpl, s) + ".")
    return (" " if rng.random() < 0.6 else "\n").join(out)


def heads_by_tail(es) -> dict[str, list[str]]:
    """Edge heads grouped under their tail, in first-seen order (for "a goes to b and c" style bodies)."""
    groups: dict[str, list[str]] = {}
    for a, b, _ in es:
        groups.setdefault(a, []).append(b)
    return groups


def body_grouped(spec, rng, split):
    es = edges_of(spec)
    if any(l is not None for _, _, l in es):
        return body_prose(spec, rng, split)
    groups = heads_by_tail(es)
    tpl = rng.choice(spec.verbs)
    out = []
    for a, bs in groups.items():
        s = tpl.format(a=q(a, spec, rng), b=join_and([q(b, spec, rng) for b in bs], rng), l="")
        out.append(cap(tpl, s) + ".")
    return " ".join(out)


def body_bullets(spec, rng, split):
    arrow = _arrow(spec, rng)
    mark = rng.choice(["-", "*", "•"])
    fmt = rng.choice(["{a} {ar} {b} ({l})", "{a} {ar} {b}: {l}", "{a} {ar} {b} [{l}]", "{a} {ar} {b}, label {l}"])
    lines = []
    for a, b, l in edges_of(spec):
        if l is None:
            lines.append(f"{mark} {q(a, spec, rng)} {arrow} {q(b, spec, rng)}")
        else:
            lines.append(f"{mark} " + fmt.format(a=q(a, spec, rng), ar=arrow, b=q(b, spec, rng), l=l))
    return "\n".join(lines)


def body_numbered(spec, rng, split):
    lines = []
    for i, (a, b, l) in enumerate(edges_of(spec), 1):
        tpl = rng.choice(spec.label_verbs if l is not None else spec.verbs)
        lines.append(f"{i}{rng.choice(['.', ')'])} " + tpl.format(a=q(a, spec, rng), b=q(b, spec, rng), l=l))
    return "\n".join(lines)


def body_chains(spec, rng, split):
    """Arrow chains: maximal paths written as `a -> b -> c`."""
    es = edges_of(spec)
    arrow = _arrow(spec, rng)
    used = [False] * len(es)
    chains = []
    for i, (a, b, l) in enumerate(es):
        if used[i]:
            continue
        used[i] = True
        parts = [q(a, spec, rng)]
        cur, lab = b, l
        while True:
            parts.append(f"{arrow} {q(cur, spec, rng)}" + (f" ({lab})" if lab is not None else ""))
            nxt = next((j for j in range(i + 1, len(es)) if not used[j] and es[j][0] == cur), None)
            if nxt is None:
                break
            used[nxt] = True
            cur, lab = es[nxt][1], es[nxt][2]
        chains.append(" ".join(parts))
    sep = rng.choice(["\n", "; ", ", "])
    return sep.join(chains)


def body_table(spec, rng, split):
    es = edges_of(spec)
    has_l = any(l is not None for _, _, l in es)
    h = rng.choice([("from", "to", "label"), ("source", "target", "label"), ("tail", "head", "text"),
                    ("From", "To", "Label")])
    lines = [f"| {h[0]} | {h[1]} |" + (f" {h[2]} |" if has_l else "")]
    lines.append("|---|---|" + ("---|" if has_l else ""))
    for a, b, l in es:
        lines.append(f"| {a} | {b} |" + (f" {l or ''} |" if has_l else ""))
    return "\n".join(lines)


def body_adjacency(spec, rng, split):
    es = edges_of(spec)
    if any(l is not None for _, _, l in es):
        return body_bullets(spec, rng, split)
    groups = heads_by_tail(es)
    sep = rng.choice([": ", " -> ", " => "])
    return "\n".join(f"{q(a, spec, rng)}{sep}{', '.join(q(b, spec, rng) for b in bs)}" for a, bs in groups.items())


def body_inline_pairs(spec, rng, split):
    es = edges_of(spec)
    if any(l is not None for _, _, l in es):
        return body_numbered(spec, rng, split)
    arrow = _arrow(spec, rng)
    if rng.random() < 0.5:
        items = [f"({q(a, spec, rng)}, {q(b, spec, rng)})" for a, b, _ in es]
        lead = rng.choice(["edges: ", "pairs: ", "", "links = "])
    else:
        items = [f"{q(a, spec, rng)}{arrow}{q(b, spec, rng)}" for a, b, _ in es]
        lead = rng.choice(["edges ", "", "connections: "])
    return lead + ", ".join(items)


def body_csv(spec, rng, split):
    es = edges_of(spec)
    has_l = any(l is not None for _, _, l in es)
    lines = ["source,target" + (",label" if has_l else "")]
    for a, b, l in es:
        lines.append(f"{a},{b}" + (f",{l or ''}" if has_l else ""))
    return "CSV of the edges:\n" + "\n".join(lines)


def body_yaml(spec, rng, split):
    es = edges_of(spec)
    lines = ["edges:"]
    for a, b, l in es:
        lines.append(f"  - from: {a}\n    to: {b}" + (f"\n    label: {l}" if l is not None else ""))
    return "\n".join(lines)


def body_fromto(spec, rng, split):
    tpls_d = ["There is an edge from {a} to {b}.", "Connect {a} to {b}.", "Draw an arrow from {a} to {b}.",
              "Add {a} -> {b}.", "{a} points at {b}."]
    tpls_u = ["There is an edge between {a} and {b}.", "Connect {a} with {b}.", "Link {a} and {b}.",
              "Add {a} -- {b}.", "{a} is joined to {b}."]
    out = []
    for a, b, l in edges_of(spec):
        s = rng.choice(tpls_d if spec.g.directed else tpls_u).format(a=q(a, spec, rng), b=q(b, spec, rng))
        if l is not None:
            s = s[:-1] + rng.choice([f", labelled {l}.", f" with label \"{l}\".", f" ({l})."])
        out.append(s)
    return " ".join(out)


def body_json(spec, rng, split):
    es = edges_of(spec)
    if any(l is not None for _, _, l in es):
        items = [f'["{a}", "{b}", "{l}"]' if l is not None else f'["{a}", "{b}"]' for a, b, l in es]
    else:
        items = [f'["{a}", "{b}"]' for a, b, _ in es]
    return "edges = [" + ", ".join(items) + "]"


def body_question(spec, rng, split):
    pre = rng.choice(["The graph should have these edges: ", "What I have: ", "So: ", "Basically "])
    return pre + body_prose(spec, rng, split)


# held-out structures sit at positions 4, 9, 14 (csv, yaml, json) -> val/test only
BODIES: list[Callable] = [body_prose, body_bullets, body_numbered, body_chains, body_csv,
                          body_grouped, body_table, body_adjacency, body_inline_pairs, body_yaml,
                          body_fromto, body_question, body_prose, body_bullets, body_json]


def body(rng: random.Random, spec: Spec, split: str) -> str:
    if spec.structural and rng.random() < 0.45:
        return pick(rng, spec.structural, split)
    lead = rng.choice(BODY_LEADS)
    text = pick(rng, BODIES, split)(spec, rng, split)
    return (lead + ("\n" if "\n" in text or text.startswith(("-", "|", "1")) else " ") + text) if lead else text


# ---------------------------------------------------------------- options (each one is also applied to the graph)
RANKDIR = {
    "LR": ["Lay it out left to right.", "Use rankdir=LR.", "horizontal layout (LR)", "Make it flow left-to-right.",
           "Orientation: left to right.", "Set rankdir to LR."],
    "TB": ["Lay it out top to bottom.", "Use rankdir=TB.", "Make it flow top-down.", "Orientation: top to bottom."],
    "RL": ["Lay it out right to left.", "Use rankdir=RL."],
    "BT": ["Lay it out bottom to top.", "Use rankdir=BT.", "Make it flow bottom-up."],
}
NAME_TPL = ["Call the graph {x}.", "Name it {x}.", "Graph name: {x}.", "The graph should be named {x}.",
            "Use {x} as the graph name.", "title it {x}", "ID of the graph: {x}."]
NODE_SHAPES = {"box": ["Use boxes for the nodes.", "Draw every node as a box.", "nodes should be rectangles (box)."],
               "ellipse": ["Draw nodes as ellipses.", "Use ellipse shaped nodes."],
               "circle": ["Make all nodes circles.", "Use circle nodes."],
               "box_rounded": ["Use rounded boxes for nodes.", "Nodes: rounded rectangles."],
               "plaintext": ["Draw the nodes as plain text, no outline.", "Use shape=plaintext for nodes."]}
EDGE_COLORS = ["gray", "blue", "red", "darkgreen", "orange"]
GRAPH_NAMES = ["G", "flow", "deps", "states", "network", "org", "pipeline", "system", "diagram", "main_graph",
               "Overview", "model", "arch", "process", "er", "tree", "classes", "graph1", "my_graph", "topology"]


LABEL_MODE = ["Use snake_case node ids and keep the full names as labels.",
              "Give every node a short snake_case id; put the readable name in its label.",
              "IDs: lower_snake_case of each name; label = the name as written.",
              "node ids should be identifiers (underscores instead of spaces), with the original names as labels.",
              "Keep the display names in label attributes and use snake_case IDs."]


def label_mode(rng: random.Random, spec: Spec, split: str) -> list[str]:
    """Names with spaces -> snake_case IDs + label="Name" (only when the prompt asks for it)."""
    g = spec.g
    if not any(" " in n for n in g.nodes) or g.clusters or rng.random() > 0.3:
        return []
    mapping = {n: re.sub(r"[^a-z0-9]+", "_", n.lower()).strip("_") or "n" for n in g.nodes}
    if len(set(mapping.values())) != len(mapping) or any(v[0].isdigit() for v in mapping.values()):
        return []
    g.nodes = {mapping[n]: ({"label": n, **a} if mapping[n] != n else a) for n, a in g.nodes.items()}
    g.edges = [(mapping[a], mapping[b], at) for a, b, at in g.edges]
    return [pick(rng, LABEL_MODE, split)]


def options(rng: random.Random, spec: Spec, split: str, p: float = 0.35) -> list[str]:
    """Maybe add layout/name/style requests; every sentence returned is mirrored into spec.g."""
    out = label_mode(rng, spec, split)
    g = spec.g
    if rng.random() < p:
        d = rng.choice(["LR", "LR", "LR", "TB", "RL", "BT"])
        g.attrs["rankdir"] = d
        out.append(rng.choice(RANKDIR[d]))
    if rng.random() < p:
        g.name = rng.choice(GRAPH_NAMES)
        out.append(rng.choice(NAME_TPL).format(x=g.name))
    if rng.random() < p * 0.6:
        s = rng.choice(list(NODE_SHAPES))
        if s == "box_rounded":
            g.node_defaults.update(shape="box", style="rounded")
        else:
            g.node_defaults["shape"] = s
        out.append(rng.choice(NODE_SHAPES[s]))
    if rng.random() < p * 0.3:
        c = rng.choice(EDGE_COLORS)
        g.edge_defaults["color"] = c
        out.append(rng.choice(["Color the edges {c}.", "Edges in {c}.", "make edges {c}"]).format(c=c))
    return out


def assemble(rng: random.Random, parts: list[str]) -> str:
    """Join prompt parts with a random separator style; drop empties."""
    parts = [p for p in parts if p]
    sep = rng.choice(["\n", " ", "\n\n"])
    # Parts containing lists/tables must keep their line breaks from the surrounding text.
    text = parts[0]
    for p in parts[1:]:
        s = "\n" if ("\n" in p or "\n" in text) and sep == " " else sep
        text += s + p
    return text.strip()


SMCAT_INSTRUCTIONS = [
    "Convert this state-machine-cat (smcat) program to Graphviz DOT:",
    "Render the following smcat state machine as DOT.",
    "smcat -> dot:",
    "Here is a state machine in smcat notation. Write the equivalent Graphviz digraph.",
    "Translate this smcat to DOT",
    "Draw this state-machine-cat chart as a DOT digraph:",
    "Give me DOT for this smcat source.",
    "Turn the smcat below into Graphviz.",
    "What is the DOT graph for this state machine (state-machine-cat syntax)?",
    "Convert to DOT:",
    "state machine (smcat):",
    "Please write Graphviz DOT for the state chart below, written in smcat.",
]


def smcat_prompt(rng: random.Random, smcat_text: str, split: str = "train") -> str:
    """The ONE place smcat prompts are phrased (the fixture converter uses it too, so evaluation is fair)."""
    ins = pick(rng, SMCAT_INSTRUCTIONS, split)
    if rng.random() < 0.5:
        return f"{ins}\n\n{smcat_text.strip()}"
    if rng.random() < 0.5:
        return f"{ins}\n```smcat\n{smcat_text.strip()}\n```"
    return f"{smcat_text.strip()}\n\n{ins}"
