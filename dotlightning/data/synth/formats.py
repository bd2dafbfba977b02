"""Dataset v4: breadth - code in more languages and config formats, state machines as tables and enum + switch code,
documentation excerpts with unrelated surrounding text, and long grouped / undirected descriptions.

Why: a model tuned on v3 scored edge F1 ~0.2 on code pasted the way people paste it (Go, Java, SQL, Makefiles, CI
files...) and ~0.4 overall on prompts written as users write them. v4 records come from their own rng stream
(build.FORMAT_SHARE of the nl/code/docs records is replaced, and train grows by build.EXTRA_TRAIN),
so the main stream - and every smcat record, whose renders are cached - is exactly what v2/v3 generated.

Sources and kinds (small on purpose, results are reported per kind and source):
  code: call_graph (Go/Java/TS/Rust/C), dependency (imports/#include in Go/Java/TS/Rust/C/C++), sql_schema,
        build (Makefile, docker-compose, Terraform), ci (GitHub Actions, GitLab), manifest (package.json,
        Cargo.toml, pyproject/requirements, go.mod), edge_list (CSV/TSV/JSON), transition_table (Markdown/CSV/YAML/
        JSON), state_machine (enum + switch in C/Java/Rust/TS)      -> formats_code
  docs: README sections, runbooks, architecture notes (ADR style) around a v3 prose description, with install /
        license / contact sections that are not part of the graph; kinds are the prose kinds
  nl:   clustered (12-25 nodes in stated groups -> subgraph cluster_x { label="..."; }), network (long undirected
        `graph { a -- b }` descriptions)

Conventions (also in formats_code's docstring; every v4 generator follows them):
  * dependent -> dependency: imports, includes, package manifests, docker-compose depends_on, Makefile
    target -> prerequisite, Terraform resource -> referenced resource, SQL referencing table -> referenced table
    (a self-referencing FK is a self-loop);
  * caller -> callee;
  * CI: upstream job -> downstream job (`needs: [build]` on test gives build -> test);
  * state -> next state, labelled with the event;
  * node IDs are the names exactly as written ("api.users", "@acme/ui", "src/main.c"), quoted by the canonical
    writer (dot_writer) where DOT needs it; in prose, such names are written in backticks;
  * names come from vocab's split-partitioned pools (val/test never share a node ID with train), and
    instruction lists go through text.pick (about a fifth of the phrasings are val/test only).
"""
from __future__ import annotations

import random

from . import prose as P
from .dot_writer import Cluster, Graph
from .formats_code import CODE_FORMATS, _host_names, _kebab, _snake, styled, words
from .text import pick
from .vocab import split_words

# ----------------------------------------------------------------------------- code records


def _fence(rng, lang: str, text: str) -> str:
    tag = {"Go": "go", "Java": "java", "TypeScript": "ts", "Rust": "rust", "C": "c", "C++": "cpp", "SQL": "sql",
           "Makefile": "make", "docker-compose file": "yaml", "Terraform config": "hcl", ".gitlab-ci.yml": "yaml",
           "GitHub Actions workflow": "yaml", "go.mod": "", "YAML": "yaml", "JSON": "json", "CSV": "csv"}.get(lang, "")
    r = rng.random()
    if r < 0.45:
        return f"```{tag if rng.random() < 0.8 else ''}\n{text}\n```"
    return text


def code_record(rng: random.Random, split: str, key: str) -> tuple[str, str, Graph]:
    kind, text, g, instr, lang = CODE_FORMATS[key][0](rng, split)
    main = pick(rng, instr[0], split).replace("{lang}", lang)
    notes = [rng.choice(n) for n in instr[1:]]
    if not notes and rng.random() < 0.12:
        main = ""  # pasted with no instruction at all: the format implies the graph
    body = _fence(rng, lang, text)
    head = ""
    for x in [main] + notes:
        if x:
            head += ("" if not head else " " if head[-1] in ".:?!)" else ". ") + x
    if not head:
        return kind, body, g
    if rng.random() < 0.55:
        return kind, head + ("\n\n" if rng.random() < 0.8 else "\n") + body, g
    return kind, body + ("\n\n" if rng.random() < 0.8 else "\n") + head, g


# ----------------------------------------------------------------------------- long grouped descriptions

CLUSTER_ASKS = ["Draw each group as a labelled cluster.", "Put every group in its own subgraph cluster with its name "
                "as the label.", "Group the nodes into clusters as described.", "Use one cluster per group.",
                "clusters for the groups please", "Box each group (cluster) and label it.",
                "Keep the grouping: a cluster per group, labelled.", "Draw the groups as clusters."]
LONG_ASKS = ["Draw this as a DOT graph.", "graphviz please", "Give me the DOT.", "as DOT", "Diagram this.",
             "Write the Graphviz for it.", "Can you turn this into DOT?", "dot please", "Make a digraph of this.",
             "Render it in Graphviz."]
EDGE_SAY = ["{a} calls {b}", "{a} -> {b}", "{a} talks to {b}", "{a} sends to {b}", "{a} depends on {b}",
            "{a} feeds {b}", "{a} uses {b}", "{a} connects to {b}"]
UND_SAY = ["{a} -- {b}", "{a} is linked to {b}", "{a} and {b} are connected", "a link between {a} and {b}",
           "{a} peers with {b}", "{a} is cabled to {b}"]


PREFIXES = ["api", "web", "db", "ops", "core", "auth", "ml", "io", "ui", "net", "app", "svc", "pay", "etl"]


def _group_names(rng, split, n_groups, sizes, dotted=False):
    """(group titles, per-group node IDs), the IDs in one style: snake, kebab or dotted `prefix.name`."""
    titles = words(rng, split, rng.choice(["tier", "cluster_word", "p_team"]), n_groups)
    style = "dotted" if dotted else rng.choice(["snake", "snake", "snake", "kebab"])
    if dotted:
        titles = rng.sample(PREFIXES, n_groups)
    ws = [w for w in words(rng, split, rng.choice(["module", "module", "service", "function", "stage"]), 200)
          if len(split_words(w)) <= (2 if style == "kebab" else 1) and len(w) <= 12]  # short: 12+ nodes in 512 tokens
    base = list(dict.fromkeys(_kebab(w) if style == "kebab" else _snake(w) for w in ws))[:sum(sizes)]
    if len(base) < sum(sizes) or len(titles) < n_groups:
        return None
    out, k = [], 0
    for t, s in zip(titles, sizes):
        ids = base[k:k + s]
        k += s
        if style == "dotted":  # `core.lexer`: the prefix names the group
            ids = [f"{_prefix(t)}.{i}" for i in ids]
        out.append(ids)
    flat = [i for ids in out for i in ids]
    if len(set(flat)) != len(flat) or (style == "dotted" and len({_prefix(t) for t in titles}) < len(titles)):
        return None
    return titles, out, style


def _prefix(title: str) -> str:
    return _snake(title).split("_")[0]


def _say(n: str, style: str) -> str:
    return n


PREFIX_ASKS = ["Cluster the nodes by the prefix before the dot, one cluster per prefix, labelled with it.",
               "One labelled cluster per name prefix (the part before the dot).",
               "Group by prefix: a cluster for each prefix, with the prefix as its label.",
               "Put nodes that share a prefix (before the '.') in one cluster labelled with that prefix.",
               "Keep the IDs exactly as written and cluster them by prefix (label = prefix)."]


def long_clustered(rng, split, directed=True):
    dotted = directed and rng.random() < 0.25  # `api.users` IDs cost ~3x: fewer nodes, short prefixes
    n_groups = rng.randint(2, 3) if dotted else rng.randint(3, 5)
    total = rng.randint(8, 11) if dotted else rng.randint(12, 14) if rng.random() < 0.8 else rng.randint(15, 18)
    sizes = [1] * n_groups
    for _ in range(total - n_groups):
        sizes[rng.randrange(n_groups)] += 1
    if not directed:
        titles = words(rng, split, rng.choice(["tier", "cluster_word"]), n_groups)
        names = _host_names(rng, split, total, short=True)
        if len(names) < total or len(titles) < n_groups:
            return None
        groups, k = [], 0
        for s in sizes:
            groups.append(names[k:k + s])
            k += s
        style = "kebab" if any(c in "".join(names) for c in "-.") else "snake"
    else:
        got = _group_names(rng, split, n_groups, sizes, dotted)
        if not got:
            return None
        titles, groups, style = got
    flat = [i for ids in groups for i in ids]
    g = Graph(directed=directed)
    for t, ids in zip(titles, groups):
        label = _prefix(t) if style == "dotted" else P._title(t)
        g.clusters.append(Cluster(_snake(label), label, list(ids)))
        for i in ids:
            g.node(i)
    # edges: a spanning chain across nodes plus a few extras; first-seen order is the text order
    pairs = []
    order = flat[:]
    rng.shuffle(order)
    for j in range(1, len(order)):
        pairs.append((order[rng.randrange(j)], order[j]))
    for _ in range(rng.randint(0, 1)):
        a, b = rng.sample(flat, 2)
        if (a, b) not in pairs and (b, a) not in pairs:
            pairs.append((a, b))
    if directed and rng.random() < 0.3:
        a = rng.choice(flat)
        pairs.append((a, a))
    by: dict[str, list[str]] = {}
    for a, b in pairs:
        by.setdefault(a, []).append(b)
    # Compact on purpose: 12-16 nodes in clusters must stay under 512 tokens (prompt + completion).
    intro = pick(rng, ["Groups:", "The groups:", "Nodes by group:", "{k} groups:", "Grouping:",
                       "It is split into {k} parts:"], split).format(k=len(titles))
    gl = [f"{P._title(t)}: {', '.join(_say(i, style) for i in ids)}" for t, ids in zip(titles, groups)]
    form = rng.random()
    if form < 0.4:
        gtext = intro + "\n" + "\n".join("- " + x for x in gl)
    elif form < 0.7:
        gtext = intro + " " + "; ".join(gl) + "."
    else:
        gtext = " ".join(f"{P._title(t)} has {P.listing([_say(i, style) for i in ids], rng)}."
                         for t, ids in zip(titles, groups))
    arrow = "->" if directed else "--"
    eform = rng.choice(["adj", "arrows", "say"])
    elines = []
    for a, bs in by.items():
        A, Bs = _say(a, style), [_say(b, style) for b in bs]
        if eform == "adj":
            elines.append(f"{A}: {', '.join(Bs)}")
        elif eform == "arrows":
            elines.append(f"{A} {arrow} {', '.join(Bs)}")
        elif directed:
            loop = [b for b in Bs if b == A]
            rest = [b for b in Bs if b != A]
            if loop:
                elines.append(f"{A} also calls itself")
            if rest:
                elines.append(rng.choice(EDGE_SAY).format(a=A, b=P.listing(rest, rng)))
        else:
            elines.append(rng.choice(UND_SAY).format(a=A, b=P.listing(Bs, rng)))
    g.edges = []
    for a, bs in by.items():  # edges in the order the text states them
        if eform == "say" and a in bs:
            g.edge(a, a)
        for b in bs:
            if eform != "say" or b != a:
                g.edge(a, b)
    if eform == "adj":
        lead = rng.choice(["Adjacency:", "Links (node: neighbours):" if not directed else "Edges (node: targets):"])
    else:
        lead = rng.choice(["Links:", "Edges:", "Connections:", ""])
    sep = "\n" if eform != "say" or style == "dotted" or rng.random() < 0.5 else "; "
    etext = (lead + "\n" if lead else "") + sep.join(elines) + ("." if sep == "; " else "")
    asks = [pick(rng, PREFIX_ASKS if style == "dotted" else CLUSTER_ASKS, split)]
    if not directed:
        asks.append(rng.choice(["Undirected.", "It's an undirected network.", "No arrows: undirected.",
                                "Use an undirected graph."]))
    ask = " ".join(asks)
    if rng.random() < 0.3:
        ask = pick(rng, LONG_ASKS, split) + " " + ask
    parts = [etext] if style == "dotted" else [gtext, etext]  # the prefixes already say the groups
    text = (ask + "\n\n" + "\n\n".join(parts)) if rng.random() < 0.5 else ("\n\n".join(parts) + "\n\n" + ask)
    return ("clustered" if directed else "network"), text, g


# ----------------------------------------------------------------------------- documentation excerpts

PROJECT_TAGS = ["A small service for {x}.", "Internal tooling around {x}.", "Everything you need for {x}.",
                "The {x} platform.", "Handles {x} for the whole company."]
INSTALL = ["pip install -e .", "npm ci && npm run build", "make setup", "cargo build --release", "go build ./...",
           "docker compose up -d", "poetry install", "./gradlew build"]
LICENSE = ["## License\n\nMIT", "## License\n\nApache-2.0. See LICENSE.", "## Contributing\n\nOpen a PR against main; "
           "one approval needed.", "## Support\n\nAsk in #help-platform.", "## Status\n\nBeta: APIs may change."]
DOC_ASKS = ["Draw the graph described in the {h} section.", "Diagram what the {h} section says, as DOT.",
            "From this README, graph the {h} part.", "graphviz of the {h} section please",
            "Turn the {h} section into a DOT graph; ignore the rest.", "Only the {h} part matters: draw it.",
            "Make a Graphviz diagram of the {h} described here.", "dot for the {h} section",
            "Read this and give me the DOT for the {h}.", "Can you visualize the {h} part of these docs?"]
DOC_BUILDERS = {"readme": [P.p_architecture, P.p_dependency, P.p_classes, P.p_state_machine, P.p_dataflow],
                "runbook": [P.p_process, P.p_flowchart],
                "adr": [P.p_architecture, P.p_dataflow, P.p_network, P.p_org]}
DOC_BUILDERS["wiki"] = DOC_BUILDERS["readme"] + DOC_BUILDERS["adr"] + [P.p_process]
HEADS = {"architecture": "Architecture", "dependency": "Module layout", "class_hierarchy": "Data model",
         "state_machine": "Lifecycle", "pipeline": "Data flow", "process": "Procedure", "flowchart": "Decision steps",
         "network": "Topology", "tree": "Ownership"}


def doc_record(rng: random.Random, split: str) -> tuple[str, str, Graph]:
    fmt = pick(rng, ["readme", "runbook", "adr", "readme", "wiki"], split)  # wiki pages: val/test only
    kind, text, g = rng.choice(DOC_BUILDERS[fmt])(rng, split)
    text = text.strip()
    head = HEADS.get(kind, "Overview")
    topic = " ".join(words(rng, split, "p_data", 1) or ["reports"])
    project = _kebab(words(rng, split, "service", 1)[0])
    if fmt == "readme":
        doc = (f"# {project}\n\n{rng.choice(PROJECT_TAGS).format(x=topic)}\n\n## Install\n\n```\n"
               f"{rng.choice(INSTALL)}\n```\n\n## {head}\n\n{text}\n\n{rng.choice(LICENSE)}")
    elif fmt == "runbook":
        head = rng.choice(["Procedure", "Steps", "Response"])
        sev = rng.choice(["SEV2", "SEV3", "P1", "P2"])
        doc = (f"# Runbook: {topic} {rng.choice(['delayed', 'failing', 'stale', 'missing'])}\n\n"
               f"Severity: {sev}. Owner: {rng.choice(['platform on-call', 'data team', 'SRE rotation'])}.\n"
               f"Dashboards are linked in the team wiki; page only during business hours unless it is {sev}.\n\n"
               f"## {head}\n\n{text}\n\n## After the incident\n\nWrite a short postmortem and link it in the "
               f"channel.")
    elif fmt == "wiki":
        team = " ".join(words(rng, split, "p_team", 1) or ["platform team"])
        doc = (f"h1. {P._title(topic)} overview\n\nThis page is maintained by {team}. Last reviewed in "
               f"{rng.choice(['March', 'June', 'September', 'December'])}.\n\nh2. {head}\n\n{text}\n\nh2. Links\n\n"
               f"* Dashboard\n* On-call rota\n* Postmortems")
    else:
        n = rng.randint(3, 60)
        head = rng.choice(["Context", "Design", "Proposal"])
        doc = (f"# ADR-{n:03d}: {rng.choice(['Split', 'Rework', 'Move', 'Simplify'])} {topic}\n\nStatus: "
               f"{rng.choice(['accepted', 'proposed', 'superseded'])}\n\n## {head}\n\n{text}\n\n## Consequences\n\n"
               f"{rng.choice(['Deploys get slower but safer.', 'One more thing to monitor.', 'We drop the legacy cron.'])}")
    ask = pick(rng, DOC_ASKS, split).replace("{h}", head)
    if rng.random() < 0.6:
        return kind, ask + "\n\n" + doc, g
    return kind, doc + "\n\n" + ask, g


# ----------------------------------------------------------------------------- the source

V4_SOURCES = {"code": 0.6, "docs": 0.2, "nl": 0.2}
NL_FORMATS = {"clustered": 0.6, "network": 0.4}


def choose(rng: random.Random) -> tuple[str, str]:
    """(source, format) of the next v4 record; a record rejected by the build is redrawn with the same choice, so
    the length bound does not thin out the long formats."""
    src = rng.choices(list(V4_SOURCES), weights=list(V4_SOURCES.values()))[0]
    table = {"code": {k: w for k, (_, w) in CODE_FORMATS.items()}, "nl": NL_FORMATS, "docs": {"doc": 1.0}}[src]
    return src, rng.choices(list(table), weights=list(table.values()))[0]


def gen_format(rng: random.Random, split: str, choice: tuple[str, str] | None = None) -> tuple[str, str, str, Graph]:
    """One v4 record: (kind, source, prompt, graph)."""
    src, fmt = choice or choose(rng)
    if src == "code":
        kind, prompt, g = code_record(rng, split, fmt)
    elif src == "docs":
        kind, prompt, g = doc_record(rng, split)
    else:
        while True:
            got = long_clustered(rng, split, directed=fmt == "clustered")
            if got:
                break
        kind, prompt, g = got
    return kind, src, prompt.strip(), g
