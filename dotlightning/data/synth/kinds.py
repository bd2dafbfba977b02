"""Graph builders for each kind (the "nl" and "docs" sources describe what these build).

A builder returns a `Spec`: the graph (the truth the completion is written from) plus the vocabulary a description
of that kind uses (verbs, nouns, whole-structure sentences). Names come from split-partitioned pools.
"""
from __future__ import annotations

import random

from .dot_writer import Cluster, Graph
from .text import Spec, join_and
from .vocab import pick_names, pool, style_name

ID_STYLES = ["snake", "snake", "camel", "lower_words", "spaced", "title_spaced", "numbered", "upper_snake",
             "kebab_quoted"]


def _n(rng: random.Random, lo: int, hi: int) -> int:
    # Why skewed: most hand-written graphs are small, but the model must also see ~20 nodes.
    if rng.random() < 0.12:
        return rng.randint((lo + hi) // 2, hi)
    return min(hi, lo + int(rng.expovariate(1 / max(1.0, (hi - lo) / 3))))


def shape_edges(rng: random.Random, names: list[str], shape: str, directed: bool) -> list[tuple[str, str]]:
    n = len(names)
    if shape == "chain":
        return [(names[i], names[i + 1]) for i in range(n - 1)]
    if shape == "cycle":
        return [(names[i], names[(i + 1) % n]) for i in range(n)]
    if shape == "star":
        return [(names[0], x) for x in names[1:]]
    if shape == "complete":
        return [(names[i], names[j]) for i in range(n) for j in range(i + 1, n)]
    if shape == "tree":
        return [(names[rng.randrange(0, i)], names[i]) for i in range(1, n)]
    if shape == "bipartite":
        k = max(1, n // 2)
        return [(a, b) for a in names[:k] for b in names[k:]]
    # random connected-ish graph: a spanning tree plus a few extra edges
    es = [(names[rng.randrange(0, i)], names[i]) for i in range(1, n)]
    for _ in range(rng.randint(0, max(1, n // 2))):
        a, b = rng.sample(names, 2)
        if directed and rng.random() < 0.7 and names.index(a) > names.index(b):
            a, b = b, a
        if (a, b) not in es and (directed or (b, a) not in es):
            es.append((a, b))
    return es


def structural_text(rng: random.Random, names: list[str], shape: str, directed: bool, rel: str = "") -> list[str]:
    """Whole-structure descriptions that imply every edge without listing them."""
    L = join_and(names, rng)
    rest = join_and(names[1:], rng)
    if shape == "chain":
        return [f"A chain: {L}, in that order.", f"{' -> '.join(names)}", f"They form a simple path {L}.",
                f"Each one leads to the next: {L}.", f"in order {', '.join(names)} (a straight line)"]
    if shape == "cycle":
        return [f"A cycle through {L}, and back from {names[-1]} to {names[0]}.",
                f"{' -> '.join(names + [names[0]])}", f"A ring: {L}, closing the loop at {names[0]}."]
    if shape == "star":
        return [f"A star around {names[0]}: it connects to {rest}.",
                f"{names[0]} is the hub; the spokes are {rest}.",
                f"{names[0]} {'points to' if directed else 'links to'} each of {rest}."]
    if shape == "complete" and not directed:
        return [f"Fully connected: {L}.", f"Every pair of {L} is connected.", f"A complete graph on {L}.",
                f"all of {', '.join(names)} connected to each other"]
    return []


def _labels(rng: random.Random, split: str, k: int, pool_name: str = "event") -> list[str]:
    words = pool(pool_name, split)
    style = rng.choice(["snake", "spaced", "lower_words", "camel", "upper_snake"])
    return [style_name(rng.choice(words), style) for _ in range(k)]


# ----------------------------------------------------------------------------- kinds
def build_state_machine(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 2, 10)
    names = pick_names(rng, "state", split, n, styles=ID_STYLES)
    g = Graph(directed=True)
    es = shape_edges(rng, names, rng.choice(["chain", "cycle", "random", "random"]), True)
    if rng.random() < 0.4:
        s = rng.choice(names)
        es.append((s, s))  # self-loop: an event that keeps the machine where it is
    labelled = rng.random() < 0.85
    events = _labels(rng, split, len(es))
    guards = pool("guard", split)
    for (a, b), ev in zip(es, events):
        if labelled:
            lab = ev + (f" [{rng.choice(guards)}]" if rng.random() < 0.15 else "")
            g.edge(a, b, label=lab)
        else:
            g.edge(a, b)
    return Spec(
        kind="state_machine", g=g,
        nouns=["state machine", "state diagram", "finite state machine", "FSM", "state chart",
               "state transition diagram", "statemachine", "automaton", "lifecycle diagram", "workflow of states"],
        verbs=["{a} goes to {b}", "{a} can move to {b}", "{a} leads to {b}", "{a} transitions to {b}",
               "from {a} you can reach {b}", "{a} switches to {b}", "{a} -> {b}", "{a} becomes {b}"],
        label_verbs=["{a} goes to {b} on {l}", "on {l}, {a} moves to {b}", "{a} --{l}--> {b}",
                     "from {a}, {l} leads to {b}", "{l} takes {a} to {b}", "when {l} happens in {a}, switch to {b}",
                     "{a} transitions to {b} when {l}", "{a} -> {b} on {l}", "if {l} occurs while {a}, go to {b}",
                     "{a} + {l} = {b}", "in {a}, the event {l} moves us to {b}", "{a} → {b} ({l})"],
        intros=["Draw a state machine with these transitions.", "Model this lifecycle as states and transitions.",
                "Can you turn these state transitions into a DOT digraph?", "states and events below, make a dot graph",
                "FSM spec follows; give me Graphviz.", "I'm documenting a state machine. Transitions:",
                "Write a digraph where nodes are states and edges are transitions labelled with events.",
                "Make an automaton diagram.", "Please draw the state transition graph.",
                "Here is how the states change. Draw it."],
    )


def build_flowchart(rng: random.Random, split: str) -> Spec:
    style = rng.choice(ID_STYLES)
    n_act = _n(rng, 2, 7)
    n_dec = rng.randint(1, 3)
    acts = pick_names(rng, "action", split, n_act, style=style)
    decs = pick_names(rng, "decision", split, n_dec, style=style)
    if style in ("spaced", "title_spaced") and rng.random() < 0.5:
        decs = [d + "?" for d in decs]
    g = Graph(directed=True)
    shapes = rng.random() < 0.4
    has_ends = rng.random() < 0.7
    start, end = (("start", "end") if rng.random() < 0.6 else ("Start", "End")) if has_ends else (None, None)
    if shapes:
        for d in decs:
            g.node(d, shape="diamond")
        if has_ends:
            g.node(start, shape="oval")
            g.node(end, shape="oval")
    seq: list[str] = []
    sentences: list[str] = []
    ai = 0
    prev = start
    if prev:
        sentences.append(rng.choice([f"Begin at {start}.", f"It starts at {start}.", f"{start} first."]))
    for di, d in enumerate(decs):
        pre = acts[ai:ai + 1]
        ai += len(pre)
        for a in pre:
            if prev:
                g.edge(prev, a)
                sentences.append(rng.choice([f"{prev} goes to {a}.", f"After {prev}, {a}.", f"{prev}, then {a}."]))
            else:
                sentences.append(rng.choice([f"First {a}.", f"The first step is {a}.", f"It begins with {a}."]))
            prev = a
        if prev:
            g.edge(prev, d)
            sentences.append(rng.choice([f"After {prev}, check {d}.", f"{prev} leads to the decision {d}.",
                                         f"{prev} leads to the question {d}.", f"{prev}, then ask: {d}"]))
        prev_before = prev
        yes = acts[ai] if ai < len(acts) else None
        if yes is None:
            yes = end or acts[0]
        else:
            ai += 1
        loop = rng.random() < 0.35 and prev_before is not None and prev_before != d
        no_target = prev_before if loop else (acts[ai] if ai < len(acts) else (end or acts[0]))
        g.edge(d, yes, label="yes")
        g.edge(d, no_target, label="no")
        sentences.append(rng.choice([
            f"If {d} is yes, go to {yes}; if no, {'loop back to' if loop else 'go to'} {no_target}.",
            f"{d}: yes -> {yes}, no -> {no_target}.",
            f"When {d}, continue with {yes}, otherwise {no_target}.",
            f"On yes from {d} we do {yes}; on no, {no_target}.",
        ]))
        prev = yes
        seq.append(d)
    # remaining actions chain after the last "yes"
    while ai < len(acts):
        a = acts[ai]
        ai += 1
        if prev and prev != end:
            g.edge(prev, a)
            sentences.append(rng.choice([f"{prev} then {a}.", f"After {prev} comes {a}.", f"{prev} -> {a}."]))
        prev = a
    if end and prev != end:
        g.edge(prev, end)
        sentences.append(rng.choice([f"Finally {prev} goes to {end}.", f"{prev} ends at {end}.", f"Then {end}."]))
    extras = []
    if shapes:
        extras.append(rng.choice(["Decisions are diamonds" + (f", {start} and {end} ovals." if has_ends else "."),
                                  f"Draw {join_and(decs)} as diamond shapes" + (f" and {start}/{end} as ovals." if has_ends else ".")]))
    return Spec(kind="flowchart", g=g,
                nouns=["flowchart", "flow chart", "decision flowchart", "process flowchart", "flow diagram",
                       "algorithm flowchart", "control flow graph", "decision diagram"],
                verbs=["{a} goes to {b}", "{a} then {b}", "after {a} comes {b}", "{a} -> {b}"],
                label_verbs=["{a} goes to {b} if {l}", "{a} -> {b} when the answer is {l}", "{a} ({l}) -> {b}",
                             "on {l}, {a} continues to {b}", "answer {l} at {a} leads to {b}"],
                structural=[" ".join(sentences), "\n".join(sentences)],
                extras=extras,
                intros=["Draw a flowchart for this algorithm.", "Can you make a flowchart out of these steps?",
                        "flowchart with decisions (yes/no branches):", "I need a decision flow drawn in Graphviz.",
                        "Turn this procedure into a flowchart.", "Write DOT for this decision process."])


def build_network(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 2, 20)
    names = pick_names(rng, "host", split, n, styles=ID_STYLES)
    shape = rng.choice(["random", "random", "cycle", "star", "complete", "tree", "chain"])
    if shape == "complete":
        names = names[:6]
    es = shape_edges(rng, names, shape, False)
    g = Graph(directed=False)
    labelled = rng.random() < 0.25
    unit = rng.choice(["ms", "km", "Gbps", ""])
    for a, b in es:
        if labelled:
            g.edge(a, b, label=f"{rng.randint(1, 99)}{(' ' if unit == 'km' else '') + unit}")
        else:
            g.edge(a, b)
    st = structural_text(rng, names, shape, False) if not labelled else []
    return Spec(kind="network", g=g,
                nouns=["undirected graph", "network", "network topology", "undirected network", "mesh",
                       "connection graph", "social network", "road map graph", "peer network", "undirected diagram"],
                verbs=["{a} is connected to {b}", "{a} links to {b}", "{a} -- {b}", "{a} and {b} are connected",
                       "{a} peers with {b}", "there's a link between {a} and {b}", "{a} is adjacent to {b}",
                       "{a} knows {b}", "{a} connects with {b}"],
                label_verbs=["{a} -- {b} with weight {l}", "{a} and {b} are connected ({l})",
                             "link {a}-{b}: {l}", "{a} to {b} costs {l}", "between {a} and {b}: {l}"],
                structural=st,
                intros=["Draw an undirected graph.", "Undirected, no arrows:", "Make a network diagram (undirected).",
                        "Can you draw who is connected to whom? It's undirected.",
                        "Graphviz undirected graph please.", "Links are two-way; draw the network.",
                        "Create a topology graph; connections have no direction."])


def build_dependency(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 2, 18)
    names = pick_names(rng, "module", split, n, styles=["snake", "lower_words", "kebab_quoted", "camel", "snake"])
    es = shape_edges(rng, names, rng.choice(["tree", "random", "random", "chain", "star"]), True)
    g = Graph(directed=True)
    for a, b in es:
        g.edge(a, b)
    return Spec(kind="dependency", g=g,
                nouns=["dependency graph", "package dependency graph", "module dependency diagram",
                       "build dependency graph", "DAG of dependencies", "import graph", "dependency tree"],
                verbs=["{a} depends on {b}", "{a} requires {b}", "{a} imports {b}", "{a} needs {b}",
                       "{a} uses {b}", "{a} -> {b}", "{a} has a dependency on {b}", "{a} pulls in {b}",
                       "{a} relies on {b}"],
                intros=["Draw the dependency graph (arrow from dependent to dependency).",
                        "Which module depends on which:", "Make a DAG of these package dependencies.",
                        "deps, graphviz please", "Visualize our build dependencies.",
                        "Show the imports between these modules as a digraph."])


def build_tree(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 3, 20)
    org = rng.random() < 0.5
    names = pick_names(rng, "role" if org else "taxon", split, n, styles=ID_STYLES)
    g = Graph(directed=True)
    es = shape_edges(rng, names, "tree", True)
    for a, b in es:
        g.edge(a, b)
    kids: dict[str, list[str]] = {}
    for a, b in es:
        kids.setdefault(a, []).append(b)
    if org:
        st = [" ".join(f"{join_and(bs)} report{'s' if len(bs) == 1 else ''} to {a}." for a, bs in kids.items()),
              "\n".join(f"{a} manages {join_and(bs)}" for a, bs in kids.items()),
              " ".join(f"Under {a}: {', '.join(bs)}." for a, bs in kids.items())]
        verbs = ["{b} reports to {a}", "{a} manages {b}", "{a} is the boss of {b}", "{b} works under {a}",
                 "{a} supervises {b}", "{b}'s manager is {a}", "{a} -> {b}"]
        nouns = ["org chart", "organization chart", "reporting hierarchy", "team structure", "management tree"]
    else:
        st = [" ".join(f"{a} has children {join_and(bs)}." for a, bs in kids.items()),
              "\n".join(f"{a}: {', '.join(bs)}" for a, bs in kids.items()),
              " ".join(f"{join_and(bs)} {'is a' if len(bs) == 1 else 'are'} child{'ren' if len(bs) > 1 else ''} of {a}."
                       for a, bs in kids.items())]
        verbs = ["{a} has child {b}", "{b} is a child of {a}", "{b} falls under {a}", "{a} contains {b}",
                 "{a} is the parent of {b}", "{b} belongs to {a}", "{a} -> {b}", "{a} branches into {b}"]
        nouns = ["tree", "hierarchy", "taxonomy", "tree diagram", "category tree", "parent-child tree"]
    return Spec(kind="tree", g=g, nouns=nouns, verbs=verbs, structural=st,
                intros=["Draw this hierarchy as a tree (edges from parent to child).", "Tree please, parent -> child:",
                        "Who reports to whom:" if org else "Categories and subcategories:",
                        "Can you make a tree diagram out of this?", "Render the hierarchy top-down."])


def build_class_hierarchy(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 2, 12)
    names = pick_names(rng, "cls", split, n, styles=["camel", "camel", "camel", "snake", "upper_snake"])
    g = Graph(directed=True)
    # parent first in names; edges child -> parent (UML: arrow points at the base class)
    for a, b in shape_edges(rng, names, rng.choice(["tree", "tree", "star", "chain"]), True):
        g.edge(b, a)
    if rng.random() < 0.3:
        g.edge_defaults["arrowhead"] = "empty"
        extra = [rng.choice(["Use hollow (empty) arrowheads.", "arrowhead=empty on all edges.",
                             "UML-style empty arrow heads please."])]
    else:
        extra = []
    return Spec(kind="class_hierarchy", g=g,
                nouns=["class hierarchy", "inheritance diagram", "class diagram", "UML inheritance graph",
                       "type hierarchy", "inheritance tree"],
                verbs=["{a} inherits from {b}", "{a} extends {b}", "{a} is a subclass of {b}",
                       "{b} is the base class of {a}", "{a} is a kind of {b}", "{a} derives from {b}",
                       "{a} : {b}", "{b} is the parent class of {a}", "{a} subclasses {b}"],
                extras=extra,
                intros=["Draw the inheritance hierarchy; arrows go from subclass to superclass.",
                        "class diagram (inheritance only):", "Show which class extends which.",
                        "Make an inheritance graph, child -> parent."])


def build_pipeline(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 2, 12)
    names = pick_names(rng, "stage", split, n, styles=ID_STYLES)
    shape = rng.choice(["chain", "chain", "random", "tree"])
    es = shape_edges(rng, names, shape, True)
    if shape == "tree" and len(names) > 3 and rng.random() < 0.5:
        leaves = [x for x in names if x not in {a for a, _ in es}]
        sink = names[-1]
        es = [(a, b) for a, b in es if b != sink] + [(x, sink) for x in leaves if x != sink][:3]
    g = Graph(directed=True)
    for a, b in es:
        g.edge(a, b)
    return Spec(kind="pipeline", g=g,
                nouns=["data pipeline", "pipeline", "ETL pipeline", "processing pipeline", "workflow DAG",
                       "CI pipeline", "dataflow graph", "stage diagram"],
                verbs=["{a} feeds {b}", "{a} -> {b}", "output of {a} goes to {b}", "{a} passes data to {b}",
                       "{b} consumes the output of {a}", "after {a} comes {b}", "{a} flows into {b}",
                       "{a} sends results to {b}", "{b} reads from {a}"],
                structural=structural_text(rng, names, shape, True) if shape == "chain" else [],
                intros=["Draw this data pipeline left to right.".replace(" left to right", ""),
                        "Pipeline stages and how data flows between them:", "ETL flow, make a DOT digraph.",
                        "Can you diagram our processing steps?", "stages:", "Graph the dataflow."])


def build_architecture(rng: random.Random, split: str) -> Spec:
    k = rng.randint(2, 3)
    tiers = pick_names(rng, "tier", split, k, style="snake")
    style = rng.choice(ID_STYLES)
    g = Graph(directed=True)
    members: dict[str, list[str]] = {}
    allsvc = pick_names(rng, "service", split, k * 4, style=style)
    i = 0
    for t in tiers:
        m = rng.randint(1, 3)
        members[t] = allsvc[i:i + m]
        i += m
    outside = allsvc[i:i + rng.randint(0, 2)]
    svcs = [s for t in tiers for s in members[t]] + outside
    labelled = rng.random() < 0.3
    for t in tiers:
        g.clusters.append(Cluster(t, t if not labelled else t.replace("_", " ").title(), list(members[t])))
        for s in members[t]:
            g.node(s)
    # edges: mostly from earlier tiers to later ones
    es = []
    for j in range(1, len(svcs)):
        es.append((svcs[rng.randrange(0, j)], svcs[j]))
    for _ in range(rng.randint(0, 2)):
        a, b = rng.sample(svcs, 2)
        if (a, b) not in es:
            es.append((a, b))
    for a, b in es:
        g.edge(a, b)
    cl_sent = []
    for c in g.clusters:
        names = join_and(c.nodes, rng)
        lab = f' labelled "{c.label}"' if labelled else ""
        cl_sent.append(rng.choice([
            f"Put {names} in a cluster named {c.name}{lab}.", f"cluster {c.name}{lab}: {', '.join(c.nodes)}.",
            f"The {c.name} group{lab} contains {names}.", f"{names} belong to the {c.name} cluster{lab}.",
            f"Subgraph cluster_{c.name}{lab} holds {names}."]))
    if outside:
        cl_sent.append(f"{join_and(outside)} stay{'s' if len(outside) == 1 else ''} outside any cluster.")
    return Spec(kind="architecture", g=g,
                nouns=["architecture diagram", "system architecture", "clustered service diagram",
                       "component diagram with clusters", "deployment diagram", "microservice map"],
                verbs=["{a} calls {b}", "{a} talks to {b}", "{a} sends requests to {b}", "{a} -> {b}",
                       "{a} writes to {b}", "{a} reads from {b}", "{a} publishes to {b}", "{a} forwards to {b}",
                       "{a} queries {b}"],
                extras=[(" " if rng.random() < 0.5 else "\n").join(cl_sent)],
                intros=["Draw our system architecture, grouping services into clusters.",
                        "Architecture with subgraph clusters:", "Can you produce a clustered Graphviz diagram?",
                        "Components, grouped by layer:", "Make a service map with clusters for each tier."])


def build_process(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 3, 12)
    names = pick_names(rng, "action", split, n, styles=ID_STYLES)
    g = Graph(directed=True)
    shape = rng.choice(["chain", "chain", "chain", "branch"])
    es = shape_edges(rng, names, "chain", True)
    if shape == "branch" and n >= 4:
        # a parallel branch that rejoins: a -> b -> d and a -> c -> d
        a, b, c, d = names[0], names[1], names[2], names[3]
        es = [(a, b), (a, c), (b, d), (c, d)] + [(names[i], names[i + 1]) for i in range(3, n - 1)]
    for a, b in es:
        g.edge(a, b)
    st = []
    if shape == "chain":
        st = [f"First {names[0]}, then " + ", then ".join(names[1:-1] + [f"finally {names[-1]}"]) + ".",
              "Steps: " + "; ".join(f"({i}) {x}" for i, x in enumerate(names, 1)),
              "\n".join(f"Step {i}: {x}" for i, x in enumerate(names, 1)),
              " → ".join(names)] + structural_text(rng, names, "chain", True)
    return Spec(kind="process", g=g,
                nouns=["process flow", "sequence of steps", "workflow", "procedure diagram", "step-by-step flow",
                       "business process", "activity diagram", "sequence flow"],
                verbs=["{a} then {b}", "after {a}, {b}", "{a} is followed by {b}", "{a} -> {b}",
                       "once {a} is done, {b}", "{b} happens after {a}", "{a} precedes {b}", "{a}, next {b}"],
                structural=st,
                intros=["Draw the steps of this process in order.", "Process, one step after another:",
                        "Turn this checklist into a flow diagram.", "how we do it, as a digraph",
                        "Diagram the workflow below."])


def build_entity_relation(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 2, 9)
    names = pick_names(rng, "entity", split, n, styles=["camel", "camel", "snake", "title_spaced", "upper_snake"])
    rels = pool("relation", split)
    g = Graph(directed=True)
    if rng.random() < 0.4:
        g.node_defaults["shape"] = "box"
        extra = [rng.choice(["Entities are boxes.", "Draw entities as rectangles (box)."])]
    else:
        extra = []
    for a, b in shape_edges(rng, names, rng.choice(["tree", "random"]), True):
        g.edge(a, b, label=rng.choice(rels))
    return Spec(kind="entity_relation", g=g,
                nouns=["entity relationship diagram", "ER diagram", "data model", "entity graph",
                       "schema diagram", "domain model"],
                verbs=["{a} relates to {b}"],
                label_verbs=["{a} {l} {b}", "each {a} {l} {b}", "{a} -[{l}]-> {b}", "{a} {l} one or more {b}",
                             "relation {l} from {a} to {b}", "{a} --{l}--> {b}", "a {a} {l} a {b}"],
                extras=extra,
                intros=["Draw an ER diagram; label each edge with the relationship.",
                        "Entities and relationships (edge labels = relation names):", "domain model below, to DOT",
                        "Make a graph of how these entities relate."])


def build_basic(rng: random.Random, split: str) -> Spec:
    n = _n(rng, 2, 20)
    directed = rng.random() < 0.65
    fam = rng.choice(["upper", "upper", "lower", "n", "num", "other"])
    letters = pool("letter", split)
    if split == "train":
        cand = {"upper": [c for c in letters if len(c) == 1 and c.isalpha()],
                "lower": [c.lower() for c in letters if len(c) == 1 and c.isalpha()],
                "n": [c for c in letters if c.startswith("n")],
                "num": [c for c in letters if c.isdigit()],
                "other": [c for c in letters if len(c) > 1 and not c[1:].isdigit()] or letters}[fam]
    else:
        cand = letters
    names = sorted(rng.sample(cand, min(n, len(cand))), key=lambda s: (len(s), s)) if rng.random() < 0.6 \
        else rng.sample(cand, min(n, len(cand)))
    shape = rng.choice(["chain", "cycle", "star", "complete", "tree", "random", "random", "bipartite"])
    if shape == "complete" and directed:
        shape = "random"
    if shape in ("complete", "bipartite"):
        names = names[:6]
    g = Graph(directed=directed)
    for a, b in shape_edges(rng, names, shape, directed):
        g.edge(a, b)
    if rng.random() < 0.1:
        iso = [x for x in cand if x not in names][:1]
        for x in iso:
            g.node(x)
    isolated = [x for x in g.nodes if x not in {m for e in g.edges for m in e[:2]}]
    st = structural_text(rng, names, shape, directed)
    if shape == "bipartite":
        k = max(1, len(names) // 2)
        st = [f"Connect each of {join_and(names[:k])} to each of {join_and(names[k:])}."]
    return Spec(kind="basic", g=g,
                nouns=(["directed graph", "digraph", "graph with arrows", "simple directed graph"] if directed
                       else ["undirected graph", "simple graph", "graph without arrows", "undirected network"]),
                verbs=(["{a} -> {b}", "{a} points to {b}", "an edge from {a} to {b}", "{a} connects to {b}",
                        "{a} goes to {b}", "arrow {a} to {b}"] if directed else
                       ["{a} -- {b}", "{a} is connected to {b}", "an edge between {a} and {b}", "{a} links {b}",
                        "{a} and {b} share an edge", "{a} - {b}"]),
                structural=st,
                extras=[f"Also include the isolated node{'s' if len(isolated) > 1 else ''} {join_and(isolated)}."]
                if isolated else [],
                intros=(["Draw a directed graph.", "digraph:", "Make a graph with arrows.", "Simple DOT digraph:",
                         "Can you write a directed graph for me?"] if directed else
                        ["Draw an undirected graph.", "graph (undirected):", "No arrows, just lines:",
                         "Write an undirected DOT graph.", "Can you make an undirected graph?"]))


KIND_BUILDERS = {
    "state_machine": build_state_machine,
    "flowchart": build_flowchart,
    "network": build_network,
    "dependency": build_dependency,
    "tree": build_tree,
    "class_hierarchy": build_class_hierarchy,
    "pipeline": build_pipeline,
    "architecture": build_architecture,
    "process": build_process,
    "entity_relation": build_entity_relation,
    "basic": build_basic,
}
