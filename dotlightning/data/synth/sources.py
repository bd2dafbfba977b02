"""The four sources: nl (descriptions), docs (README/docstring prose), code (Python + JavaScript), smcat.

Each generator: (rng, split) -> (kind, prompt, Graph). The Graph is the truth; the prompt is written from it.
Except smcat: (rng, split, renderer) -> (kind, prompt, DOT), the program being the truth and the DOT what the real
state-machine-cat renders for it (smcat, smcat_render).
"""
from __future__ import annotations

import random

from .dot_writer import Graph
from .kinds import KIND_BUILDERS, _labels, _n, shape_edges
from .text import Spec, assemble, cap, body, intro, join_and, options, pick, smcat_prompt
from .smcat import program as smcat_program
from .vocab import pick_names, pool, style_name
from dotlightning.metrics.dot import parse_dot


def _lower_ok(spec: Spec) -> bool:
    return all(n == n.lower() and a.get("label", "") == a.get("label", "").lower()
               for n, a in spec.g.nodes.items()) and all(
        (a.get("label") or "") == (a.get("label") or "").lower() for _, _, a in spec.g.edges)


# ----------------------------------------------------------------------------- nl
CLOSERS = ["", "", "", "", "Thanks!", "Only output the DOT.", "Keep it simple.", "No extra styling.",
           "Just the graph, no explanation.", "thx"]


def gen_nl(rng: random.Random, split: str, kind: str) -> tuple[str, str, Graph]:
    spec = KIND_BUILDERS[kind](rng, split)
    head, desc = intro(rng, spec, split), body(rng, spec, split)
    opts = options(rng, spec, split)  # after the body: label mode renames node IDs the body already named
    parts = [head, desc] + spec.extras + opts + [rng.choice(CLOSERS)]
    if rng.random() < 0.2 and len(parts) > 3:
        # Requests sometimes come before the edge list.
        mid = parts[2:-1]
        parts = [parts[0]] + mid + [parts[1], parts[-1]]
    text = assemble(rng, parts)
    if rng.random() < 0.15 and _lower_ok(spec):
        text = text.lower().rstrip(".")  # sloppy lower-case request (only when no name changes case)
    return kind, text, spec.g


# ----------------------------------------------------------------------------- docs
DOC_INSTR = ["Draw a diagram from this README section:", "Turn this documentation into a Graphviz graph.",
             "Here's an excerpt from our docs. Give me the DOT.", "Graph the relationships described in this doc:",
             "docs -> dot:", "Make a DOT diagram of what this docstring describes.",
             "Visualize the design notes below as a graph.", "From these docs, generate Graphviz DOT.",
             "Read the following and produce a DOT graph.", "Can you diagram this wiki page?",
             "Based on this design doc, write the DOT graph.", "Convert this markdown into a graph:"]
DOC_HEADINGS = {"state_machine": ["Lifecycle", "States", "Order states", "Connection states", "Status model"],
                "flowchart": ["How it works", "Algorithm", "Decision flow", "Logic"],
                "network": ["Topology", "Network layout", "Connectivity", "Peers"],
                "dependency": ["Dependencies", "Module layout", "Internal packages", "Build graph"],
                "tree": ["Team", "Structure", "Hierarchy", "Organisation", "Taxonomy"],
                "class_hierarchy": ["Class hierarchy", "Types", "Inheritance", "Models"],
                "pipeline": ["Data flow", "Pipeline", "Processing stages", "ETL"],
                "architecture": ["Architecture", "System overview", "Components", "Deployment"],
                "process": ["Process", "Runbook", "Release process", "Onboarding steps", "Procedure"],
                "entity_relation": ["Data model", "Schema", "Entities", "Domain"],
                "basic": ["Graph", "Overview"]}


def _doc_name(name: str, rng: random.Random, mark: str) -> str:
    return f"{mark}{name}{mark}" if mark else (f'"{name}"' if " " in name else name)


def gen_docs(rng: random.Random, split: str, kind: str) -> tuple[str, str, Graph]:
    spec = KIND_BUILDERS[kind](rng, split)
    mark = rng.choice(["`", "`", "**", ""])
    es = [(a, b, at.get("label")) for a, b, at in spec.g.edges]
    fmt = pick(rng, ["readme", "docstring", "bullets", "jsdoc", "rst", "wiki"], split, 0.5)
    sents = []
    for a, b, l in es:
        tpl = rng.choice(spec.label_verbs if l is not None else spec.verbs)
        s = tpl.format(a=_doc_name(a, rng, mark), b=_doc_name(b, rng, mark), l=l)
        sents.append(cap(tpl, s) + ".")
    head = rng.choice(DOC_HEADINGS.get(kind, ["Overview"]))
    extras = spec.extras
    opts = options(rng, spec, split, p=0.15)
    if fmt == "readme":
        txt = f"## {head}\n\n" + " ".join(sents) + ("\n\n" + "\n".join(extras) if extras else "")
    elif fmt == "bullets":
        txt = f"### {head}\n\n" + "\n".join(f"- {s}" for s in sents) + ("\n\n" + "\n".join(extras) if extras else "")
    elif fmt == "docstring":
        indent = "    "
        txt = (f'"""{head}.\n\n' + "\n".join(indent + s for s in sents)
               + ("\n\n" + "\n".join(indent + e for e in extras) if extras else "") + '\n"""')
    elif fmt == "jsdoc":
        txt = (f"/**\n * {head}\n *\n" + "\n".join(f" * {s}" for s in sents)
               + ("".join(f"\n * {e}" for e in extras)) + "\n */")
    elif fmt == "rst":
        txt = f"{head}\n{'=' * len(head)}\n\n" + "\n".join(sents) + ("\n\n" + " ".join(extras) if extras else "")
    else:
        txt = f"= {head} =\n" + " ".join(sents) + (" " + " ".join(extras) if extras else "")
    ins = pick(rng, DOC_INSTR, split)
    parts = [ins, txt] + opts if rng.random() < 0.7 else [txt, ins] + opts
    return kind, "\n\n".join(parts), spec.g


# ----------------------------------------------------------------------------- code
CODE_INSTR = {
    "call_graph": ["Draw the call graph of this {lang} code.", "Which function calls which? Make a DOT digraph.",
                   "Give me a Graphviz call graph for:", "call graph please ({lang})",
                   "Generate a digraph with an edge caller -> callee for this code.",
                   "Visualize the function calls below.", "Can you map out the calls in this snippet as DOT?"],
    "imports": ["Draw the import graph of these {lang} modules.", "Module dependency graph from the imports below:",
                "Which file imports which? DOT please.", "Make a dependency digraph (importer -> imported).",
                "Graph the imports:", "Visualize how these {lang} files depend on each other."],
    "table": ["Draw the state machine defined by this transition table.",
              "Turn this {lang} transition table into a DOT state diagram (edges labelled with events).",
              "What does this FSM look like? Write DOT.", "state machine from code:",
              "Render these transitions as Graphviz.", "Draw the states and transitions in this {lang} snippet."],
    "control": ["Draw the control flow of this function as a flowchart with yes/no edges.",
                "Flowchart for this {lang} function (conditions -> yes/no):",
                "Turn this if/else logic into a DOT flowchart.", "Make a decision diagram of this code.",
                "control flow graph please", "Diagram the branches in this {lang} function."],
    "classes": ["Draw the class hierarchy (subclass -> base class).", "Inheritance diagram for this {lang} code:",
                "Which class extends which? DOT please.", "Make a UML-ish inheritance graph from:",
                "class hierarchy of the snippet below", "Visualize the inheritance in this {lang} code."],
    "chain": ["Draw the data pipeline this code implements.", "Which stage feeds which? Graphviz please.",
              "pipeline from code ({lang}):", "Make a dataflow digraph for this snippet.",
              "Diagram the processing steps below."],
}


def _fn(name: str, js: bool) -> str:
    w = [x for x in name.replace("-", " ").replace("_", " ").split() if x]
    return (w[0].lower() + "".join(x.title() for x in w[1:])) if js else "_".join(x.lower() for x in w)


def code_call_graph(rng, split, js):
    n = _n(rng, 2, 10)
    fns = [_fn(x, js) for x in pool("function", split)]
    names = list(dict.fromkeys(rng.sample(fns, min(n, len(fns)))))
    es = shape_edges(rng, names, rng.choice(["tree", "random", "chain"]), True)
    g = Graph()
    callees: dict[str, list[str]] = {x: [] for x in names}
    for a, b in es:
        callees[a].append(b)
        g.edge(a, b)
    order = names[:]
    if rng.random() < 0.5:
        order.reverse()
    out = []
    for f in order:
        calls = callees[f]
        if js:
            body = "\n".join(f"  {c}();" if rng.random() < 0.7 else f"  const r{i} = {c}(x);" for i, c in enumerate(calls))
            if rng.random() < 0.5:
                out.append(f"function {f}(x) {{\n{body or '  return x;'}\n}}")
            else:
                out.append(f"const {f} = (x) => {{\n{body or '  return x;'}\n}};")
        else:
            body = "\n".join(f"    {c}()" if rng.random() < 0.7 else f"    r{i} = {c}(x)" for i, c in enumerate(calls))
            out.append(f"def {f}(x):\n{body or '    return x'}")
    for x in names:
        if not any(x in e for e in g.edge_pairs()):
            g.node(x)
    return "call_graph", "\n\n".join(out), g


def code_imports(rng, split, js):
    n = _n(rng, 2, 9)
    mods = [_fn(x, False) for x in pool("module", split)]
    names = list(dict.fromkeys(rng.sample(mods, min(n, len(mods)))))
    es = shape_edges(rng, names, rng.choice(["tree", "random"]), True)
    g = Graph()
    imps: dict[str, list[str]] = {x: [] for x in names}
    for a, b in es:
        imps[a].append(b)
        g.edge(a, b)
    files = []
    for m in names:
        if not imps[m] and rng.random() < 0.5:
            continue
        if js:
            lines = [rng.choice([f"import {{ {_fn(d, True)}Api }} from './{d}.js';", f"import * as {_fn(d, True)} from './{d}';",
                                 f"const {_fn(d, True)} = require('./{d}');"]) for d in imps[m]]
            files.append(f"// {m}.js\n" + ("\n".join(lines) or "export const version = 1;"))
        else:
            lines = [rng.choice([f"import {d}", f"from {d} import *", f"from . import {d}", f"import {d} as _{d}"])
                     for d in imps[m]]
            files.append(f"# {m}.py\n" + ("\n".join(lines) or "VERSION = 1"))
    # modules without a file of their own still appear as import targets; leaf files are listed too
    shown = {f.split("\n", 1)[0][2:].rsplit(".", 1)[0].strip() for f in files}
    for x in names:
        if x not in {m for e in g.edge_pairs() for m in e} and x in shown:
            g.node(x)
    return "dependency", "\n\n".join(files), g


def code_table(rng, split, js):
    n = _n(rng, 2, 8)
    st = pick_names(rng, "state", split, n, style=rng.choice(["snake", "upper_snake", "lower_words"]))
    es = shape_edges(rng, st, rng.choice(["chain", "cycle", "random"]), True)
    evs = _labels(rng, split, len(es))
    g = Graph()
    form = rng.choice(["tuple", "nested", "list"])
    seen = set()
    rows = []
    for (a, b), ev in zip(es, evs):
        if (a, ev) in seen:
            continue
        seen.add((a, ev))
        g.edge(a, b, label=ev)
        rows.append((a, ev, b))
    if js:
        if form == "nested":
            by: dict[str, list] = {}
            for a, ev, b in rows:
                by.setdefault(a, []).append((ev, b))
            inner = ",\n".join(f"  {a!r}: {{ " + ", ".join(f"{ev!r}: {b!r}" for ev, b in v) + " }" for a, v in by.items())
            src = f"const transitions = {{\n{inner}\n}};"
        else:
            src = "const TRANSITIONS = [\n" + ",\n".join(f"  {{ from: {a!r}, event: {ev!r}, to: {b!r} }}" for a, ev, b in rows) + "\n];"
        src = src.replace('"', "'")
    else:
        if form == "tuple":
            src = "TRANSITIONS = {\n" + "\n".join(f"    ({a!r}, {ev!r}): {b!r}," for a, ev, b in rows) + "\n}"
        elif form == "nested":
            by = {}
            for a, ev, b in rows:
                by.setdefault(a, []).append((ev, b))
            src = "transitions = {\n" + "\n".join(f"    {a!r}: {{" + ", ".join(f"{ev!r}: {b!r}" for ev, b in v) + "}," for a, v in by.items()) + "\n}"
        else:
            src = "transitions = [\n" + "\n".join(f"    ({a!r}, {b!r}, {ev!r})," for a, ev, b in rows) + "\n]  # (source, target, event)"
    return "state_machine", src, g


def code_control(rng, split, js):
    k = rng.randint(1, 4)
    conds = [_fn(x, js) for x in pick_names(rng, "decision", split, k, style="snake")]
    acts = [_fn(x, js) for x in pick_names(rng, "action", split, k + 1, style="snake")]
    fname = _fn(rng.choice(pool("function", split)), js)
    g = Graph()
    shapes = rng.random() < 0.5
    for c in conds:
        if shapes:
            g.node(c, shape="diamond")
    g.edge(fname, conds[0])
    for i, c in enumerate(conds):
        g.edge(c, acts[i], label="yes")
        g.edge(c, conds[i + 1] if i + 1 < len(conds) else acts[-1], label="no")
    if js:
        lines = [f"function {fname}(x) {{"]
        for i, c in enumerate(conds):
            lines.append(f"  {'if' if i == 0 else '} else if'} ({c}(x)) {{")
            lines.append(f"    {acts[i]}(x);")
        lines += ["  } else {", f"    {acts[-1]}(x);", "  }", "}"]
    else:
        lines = [f"def {fname}(x):"]
        for i, c in enumerate(conds):
            lines.append(f"    {'if' if i == 0 else 'elif'} {c}(x):")
            lines.append(f"        {acts[i]}(x)")
        lines += ["    else:", f"        {acts[-1]}(x)"]
    note = (" Entry node is the function name; conditions are diamonds." if shapes else
            " Start from a node named after the function.")
    note += rng.choice([" Label branches yes/no.", " Edges out of a condition: yes / no.",
                        " (yes and no labels on the branches)", " Use yes/no edge labels."])
    return "flowchart", "\n".join(lines), g, note


def code_classes(rng, split, js):
    n = _n(rng, 2, 9)
    names = pick_names(rng, "cls", split, n, style="camel")
    g = Graph()
    es = shape_edges(rng, names, "tree", True)
    parent = {b: a for a, b in es}
    out = []
    for c in names:
        p = parent.get(c)
        if p:
            g.edge(c, p)
        if js:
            out.append(f"class {c}{' extends ' + p if p else ''} {{\n  constructor() {{ {'super(); ' if p else ''}}}\n}}")
        else:
            out.append(f"class {c}{'(' + p + ')' if p else ''}:\n    pass")
    return "class_hierarchy", "\n\n".join(out), g


def code_chain(rng, split, js):
    n = _n(rng, 2, 8)
    names = [_fn(x, js) for x in pick_names(rng, "stage", split, n, style="snake")]
    g = Graph()
    for a, b in zip(names, names[1:]):
        g.edge(a, b)
    if len(names) == 1:
        g.node(names[0])
    if js:
        src = f"{names[0]}(input)\n" + "\n".join(f"  .then({x})" for x in names[1:]) + ";"
    else:
        if rng.random() < 0.5:
            src = "STEPS = [" + ", ".join(names) + "]\n\ndef run(data):\n    for step in STEPS:\n        data = step(data)\n    return data"
        else:
            src = "def run(data):\n" + "\n".join(f"    data = {x}(data)" for x in names) + "\n    return data"
    return "pipeline", src, g


CODE_GENS = {"call_graph": code_call_graph, "imports": code_imports, "table": code_table, "control": code_control,
             "classes": code_classes, "chain": code_chain}


def gen_code(rng: random.Random, split: str, which: str) -> tuple[str, str, Graph]:
    js = rng.random() < 0.45
    lang = "JavaScript" if js else "Python"
    res = CODE_GENS[which](rng, split, js)
    kind, src, g = res[:3]
    note = res[3] if len(res) > 3 else ""
    ins = pick(rng, CODE_INSTR[which], split).format(lang=lang) + note
    fence = "```" + rng.choice([lang.lower(), "js" if js else "py", ""]) if rng.random() < 0.6 else ""
    code = f"{fence}\n{src}\n```" if fence else src
    parts = [ins, code] if rng.random() < 0.75 else [code, ins]
    return kind, "\n\n".join(parts), g


# ----------------------------------------------------------------------------- smcat
# The evaluation fixtures are phrased "smcat -> dot:\n\n<source>": that exact form gets a fixed share of the records,
# the rest go through smcat_prompt (the shared instruction pool, as for every other prompt).
FIXTURE_PHRASING_SHARE = 0.35


def gen_smcat(rng: random.Random, split: str, renderer) -> tuple[str, str, str]:
    """A random smcat program (smcat) and, as completion, EXACTLY what state-machine-cat renders for it
    (renderer: smcat_render.SmcatRenderer, cache-first). Programs smcat's parser rejects, or whose DOT Graphviz
    cannot read, are redrawn. Returns (kind, prompt, dot)."""
    while True:
        text = smcat_program(rng, split)
        out = renderer.render(text)
        dot = (out.get("dot") or "").strip()
        if dot and parse_dot(dot) is not None:
            break
    if rng.random() < FIXTURE_PHRASING_SHARE:
        prompt = f"smcat -> dot:\n\n{text.strip()}"
    else:
        prompt = smcat_prompt(rng, text, split)
    return "state_machine", prompt, dot
