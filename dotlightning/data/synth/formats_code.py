"""Dataset v4, code side: graphs hidden in source code and config files the way people paste them.

Languages and formats: call graphs and imports in Go, Java, TypeScript, Rust and C/C++ (`#include`), SQL DDL with
foreign keys, Makefiles, docker-compose, Terraform, CI workflows (GitHub Actions, GitLab), package manifests
(package.json, Cargo.toml, pyproject.toml / requirements.txt, go.mod), CSV / JSON edge lists, state-machine
transition tables (Markdown, CSV, YAML, JSON) and enum + switch state machines (C, Java, Rust, TypeScript).

Direction conventions (the same everywhere in the dataset; formats' docstring repeats them):
  * dependent -> dependency: imports, includes, manifests, docker-compose depends_on, Makefile target ->
    prerequisite, Terraform resource -> the resource it references, SQL referencing table -> referenced table;
  * caller -> callee for call graphs;
  * CI: upstream job -> downstream job (`test: needs: [build]` gives build -> test);
  * state machines: state -> next state, labelled with the event, exactly as the code/table spells both.
Node IDs are the names exactly as the code writes them ("api.users", "@acme/ui", "src/main.c", "aws_s3_bucket.logs",
"github.com/acme/ledger"); the canonical writer quotes them. Names that are not part of the project (system
headers, the standard library) are left out, and the prompt says so whenever the code mentions any.

Every generator: (rng, split) -> (kind, body, Graph, instructions); names come from vocab's split pools.
"""
from __future__ import annotations

import json
import random

from .dot_writer import Graph
from .vocab import pick_names, pool, split_words

# ----------------------------------------------------------------------------- names


def _camel(phrase: str, upper: bool = False) -> str:
    w = [x.lower() for x in split_words(phrase)]
    s = w[0] + "".join(x[:1].upper() + x[1:] for x in w[1:])
    return s[:1].upper() + s[1:] if upper else s


def _snake(phrase: str) -> str:
    return "_".join(x.lower() for x in split_words(phrase))


def _kebab(phrase: str) -> str:
    return "-".join(x.lower() for x in split_words(phrase))


def _flat(phrase: str) -> str:
    return "".join(x.lower() for x in split_words(phrase))


def words(rng: random.Random, split: str, pool_name: str, n: int) -> list[str]:
    ws = pool(pool_name, split)
    return rng.sample(ws, min(n, len(ws)))


def styled(rng, split, pool_name, n, fn) -> list[str]:
    out: list[str] = []
    for w in words(rng, split, pool_name, n + 3):
        s = fn(w)
        if s and s not in out and not s[0].isdigit():
            out.append(s)
    return out[:n]


ORGS = ["acme", "globex", "initech", "hooli", "umbrella", "contoso", "vandelay", "stark", "wayne", "tyrell",
        "cyberdyne", "soylent", "aperture", "oscorp", "wonka", "monarch", "zenith", "nimbus", "orbital", "quanta"]
PKG_SUFFIX = ["", "", "", "-core", "-kit", "-lib", "-client", "-sdk", "-utils", "-js"]


def dag(rng: random.Random, n: int, max_out: int = 3, density: float = 0.5) -> list[tuple[int, int]]:
    """Edges i -> j with j > i (i depends on / calls j); every node but 0 has an in-edge, no duplicates."""
    es: list[tuple[int, int]] = []
    for j in range(1, n):
        es.append((rng.randrange(0, j), j))
    for i in range(n):
        for j in range(i + 1, n):
            if (i, j) not in es and rng.random() < density / n * 2 and sum(1 for a, _ in es if a == i) < max_out:
                es.append((i, j))
    return sorted(es, key=lambda e: (e[0], e[1]))


def _group(es):
    out: dict[int, list[int]] = {}
    for a, b in es:
        out.setdefault(a, []).append(b)
    return out


# ----------------------------------------------------------------------------- call graphs

LANG_NAMES = {"go": "Go", "java": "Java", "ts": "TypeScript", "rust": "Rust", "c": "C", "cpp": "C++"}


def _call_stmt(lang: str, f: str, rng) -> str:
    r = rng.random()
    if lang == "go":
        return [f"{f}()", f"v := {f}()", f"if err := {f}(); err != nil {{\n\t\treturn err\n\t}}"][int(r * 3)]
    if lang == "rust":
        return [f"{f}()?;", f"let v = {f}()?;", f"{f}()?;"][int(r * 3)]
    if lang == "ts":
        return [f"{f}();", f"const v = await {f}();", f"await {f}();"][int(r * 3)]
    if lang == "java":
        return [f"{f}();", f"var v = {f}();", f"this.{f}();"][int(r * 3)]
    return [f"{f}();", f"int rc = {f}();", f"if ({f}() < 0) return -1;"][int(r * 3)]


def _fn_block(lang: str, f: str, calls: list[str], rng) -> str:
    ind = "\t" if lang == "go" else "    "
    body = [_call_stmt(lang, c, rng) for c in calls] or [{"go": "return nil", "rust": "Ok(())",
                                                           "ts": "return;", "java": "return;",
                                                           "c": "return 0;"}[lang]]
    if calls and rng.random() < 0.3:
        body.insert(rng.randrange(len(body) + 1), {"go": "log.Println(\"step\")", "rust": "println!(\"step\");",
                                                    "ts": "console.log(\"step\");", "java": "log.info(\"step\");",
                                                    "c": "counter++;"}[lang])
    if calls and lang in ("go", "rust", "c"):
        body.append({"go": "return nil", "rust": "Ok(())", "c": "return 0;"}[lang])
    inner = "\n".join(ind + b for b in body)
    if lang == "go":
        return f"func {f}() error {{\n{inner}\n}}"
    if lang == "rust":
        return f"fn {f}() -> Result<()> {{\n{inner}\n}}"
    if lang == "ts":
        return f"{'export ' if rng.random() < 0.4 else ''}async function {f}(): Promise<void> {{\n{inner}\n}}"
    if lang == "java":
        inner = "\n".join("    " + ln for ln in inner.split("\n"))
        return f"    {'private ' if rng.random() < 0.5 else ''}void {f}() {{\n{inner}\n    }}"
    return f"int {f}(void) {{\n{inner}\n}}"


CALL_INSTR = ["Draw the call graph of this {lang} code.", "call graph please", "Which function calls which? DOT.",
              "Graphviz call graph (caller -> callee):", "Make a DOT digraph of the calls.",
              "Who calls whom here? Graphviz please.", "Call graph as DOT:", "map the function calls",
              "Turn this into a call graph.", "callgraph in dot"]


def f_call_graph(rng, split):
    lang = rng.choice(["go", "java", "ts", "rust", "c"])
    n = rng.randint(4, 8)
    fn = _snake if lang in ("rust", "c") else _camel
    names = styled(rng, split, "function", n, fn)
    n = len(names)
    es = dag(rng, n)
    g = Graph()
    by = _group(es)
    order = list(range(n))
    if rng.random() < 0.5:
        order = order[:1] + rng.sample(order[1:], n - 1)
    blocks = []
    for i in order:
        calls = [names[j] for j in by.get(i, [])]
        rng.shuffle(calls)
        for c in calls:
            g.edge(names[i], c)
        if not calls:
            g.node(names[i])
        blocks.append(_fn_block(lang, names[i], calls, rng))
    code = "\n\n".join(blocks)
    if lang == "java":
        cls = styled(rng, split, "cls", 1, lambda w: _camel(w, True))[0]
        code = f"public class {cls} {{\n{code}\n}}"
    # canonical order: edges as they appear in the code
    return "call_graph", code, g, [CALL_INSTR], LANG_NAMES[lang]


# ----------------------------------------------------------------------------- imports / includes

IMPORT_INSTR = ["Draw the dependency graph of these {lang} files.", "Import graph (importer -> imported) as DOT:",
                "dependency graph of this", "Which module depends on which? Graphviz please.",
                "graphviz please", "Make a DOT digraph of the imports.", "as DOT",
                "Visualize the module dependencies.", "Turn the imports into a digraph.", "deps graph in dot"]


def f_imports(rng, split):
    lang = rng.choice(["go", "java", "ts", "rust", "c", "cpp"])
    n = rng.randint(3, 7)
    g = Graph()
    notes = []
    if lang == "go":
        org = rng.choice(ORGS)
        root = rng.choice([f"github.com/{org}/{_flat(words(rng, split, 'service', 1)[0])}",
                           f"{org}.io/{_flat(words(rng, split, 'service', 1)[0])}"])
        pk = styled(rng, split, "module", n, _flat)
        ids = [f"{root}/{p}" for p in pk]
    elif lang == "java":
        ids = styled(rng, split, "cls", n, lambda w: _camel(w, True))
    elif lang == "ts":
        fn = rng.choice([_kebab, _camel])
        ids = styled(rng, split, "module", n, fn)
    elif lang == "rust":
        ids = styled(rng, split, "module", n, _snake)
    else:
        ext = (".c", ".h") if lang == "c" else rng.choice([(".cpp", ".hpp"), (".cc", ".h")])
        d = rng.choice(["", "", "src/", "lib/"])
        ids = [f"{d}{m}{ext[1]}" for m in styled(rng, split, "module", n, _snake)]
        ids[0] = ids[0][: -len(ext[1])] + ext[0]  # the translation unit at the top includes the headers
    n = len(ids)
    es = dag(rng, n)
    by = _group(es)
    blocks = []
    std_used = False
    for i in range(n):
        deps = [ids[j] for j in by.get(i, [])]
        me = ids[i]
        if lang == "go":
            pkg = me.rsplit("/", 1)[1]
            std = rng.sample(["fmt", "context", "errors", "net/http", "time", "strings"], rng.randint(0, 2))
            std_used |= bool(std)
            imps = [f'\t"{s}"' for s in std] + [f'\t"{d}"' for d in deps]
            imp = ("import (\n" + "\n".join(imps) + "\n)\n\n") if imps else ""
            blocks.append(f"// {me}/{pkg}.go\npackage {pkg}\n\n{imp}func init() {{}}")
        elif lang == "java":
            org = "com.acme.app"
            std = rng.sample(["java.util.List", "java.util.Map", "java.time.Instant", "java.io.IOException"],
                             rng.randint(0, 2))
            std_used |= bool(std)
            imps = [f"import {s};" for s in std] + [f"import {org}.{d};" for d in deps]
            fields = "".join(f"    private final {d} {d[:1].lower() + d[1:]};\n" for d in deps)
            blocks.append(f"// {me}.java\npackage {org};\n\n" + ("\n".join(imps) + "\n\n" if imps else "")
                          + f"public class {me} {{\n{fields}}}")
        elif lang == "ts":
            imps = []
            for d in deps:
                sym = _camel(d, True)
                imps.append(rng.choice([f'import {{ {sym} }} from "./{d}";', f'import * as {_camel(d)} from "./{d}";']))
            blocks.append(f"// src/{me}.ts\n" + "\n".join(imps) + ("\n\n" if imps else "")
                          + f"export const {_camel(me)}Ready = true;")
        elif lang == "rust":
            std = rng.random() < 0.4
            std_used |= std
            imps = (["use std::collections::HashMap;"] if std else []) + [
                f"use crate::{d}::{_camel(d, True)};" for d in deps]
            blocks.append(f"// src/{me}.rs\n" + "\n".join(imps) + ("\n\n" if imps else "")
                          + f"pub struct {_camel(me, True)};")
        else:
            std = rng.sample(["<stdio.h>", "<stdlib.h>", "<string.h>", "<stdint.h>"] if lang == "c" else
                             ["<vector>", "<string>", "<memory>", "<iostream>"], rng.randint(0, 2))
            std_used |= bool(std)
            inc = [f"#include {s}" for s in std] + [f'#include "{d}"' for d in deps]
            cm = rng.choice(["// {}", "/* {} */", "/* file: {} */"]).format(me)
            stem = me.rsplit("/", 1)[-1].split(".")[0]
            header = me.endswith((".h", ".hpp"))
            pre = ["#pragma once"] if header and rng.random() < 0.5 else []
            decl = (f"int {stem}_init(void);" if lang == "c" else f"class {_camel(stem, True)};") if header else (
                "int main(void) { return 0; }" if lang == "c" else "int main() { return 0; }")
            blocks.append("\n".join([cm] + pre + inc + ([""] if inc else []) + [decl]))
        for d in deps:
            g.edge(me, d)
        if not deps:
            g.node(me)
    if std_used:
        notes.append(rng.choice({"go": ["Leave out the standard library.", "(stdlib imports excluded)"],
                                 "java": ["Ignore java.* imports.", "Only the app's own classes."],
                                 "rust": ["Skip std.", "Only crate-internal modules."],
                                 "c": ["Skip system headers.", "Only the project's own headers."],
                                 "cpp": ["Skip system headers.", "Only the project's own headers."]}[lang]))
    return "dependency", "\n\n".join(blocks), g, [IMPORT_INSTR] + ([notes] if notes else []), LANG_NAMES[lang]


# ----------------------------------------------------------------------------- SQL

SQL_INSTR = ["Draw the schema as an ER graph (table -> referenced table).", "Graph the foreign keys as DOT.",
             "DOT diagram of these tables and their references.", "graphviz please", "Which table references "
             "which? Make a digraph.", "ER diagram in dot", "Turn this DDL into a Graphviz graph.",
             "foreign key graph", "Visualize this schema.", "diagram the FK relationships"]


def f_sql(rng, split):
    n = rng.randint(3, 6)
    tables = styled(rng, split, "entity", n, _snake)
    if rng.random() < 0.3:
        schema = rng.choice(styled(rng, split, "tier", 2, _snake) or ["app"])
        tables = [f"{schema}.{t}" for t in tables]
    n = len(tables)
    es = [(b, a) for a, b in dag(rng, n, max_out=2)]  # table j references an earlier table i
    by: dict[int, list[int]] = {}
    for a, b in es:
        by.setdefault(a, []).append(b)
    self_ref = rng.randrange(n) if rng.random() < 0.25 else None
    label = rng.random() < 0.3
    g = Graph()
    stmts, later = [], []
    for i, t in enumerate(tables):
        short = t.split(".")[-1]
        cols = [rng.choice(["id SERIAL PRIMARY KEY", "id INTEGER PRIMARY KEY", "id BIGINT PRIMARY KEY"]),
                f"{rng.choice(['name', 'title', 'code', 'status'])} {rng.choice(['TEXT', 'VARCHAR(80)'])} NOT NULL"]
        cons = []
        refs = sorted(by.get(i, []))
        if self_ref == i:
            refs.append(i)
        for j in refs:
            ref = tables[j]
            col = "parent_id" if j == i else f"{ref.split('.')[-1]}_id"
            style = rng.random()
            if style < 0.45:
                cols.append(f"{col} INTEGER REFERENCES {ref}(id)")
            elif style < 0.8 or j == i:
                cols.append(f"{col} INTEGER NOT NULL")
                cons.append(f"FOREIGN KEY ({col}) REFERENCES {ref}(id)")
            else:
                cols.append(f"{col} INTEGER")
                later.append((t, col, ref))
                continue
            g.edge(t, ref, **({"label": col} if label else {}))
        if rng.random() < 0.25:
            cols.append(rng.choice(["created_at TIMESTAMP DEFAULT now()", "amount NUMERIC(10,2)", "notes TEXT"]))
        lines = ",\n  ".join(cols + ["CONSTRAINT fk_" + short + f"_{k} " + c if rng.random() < 0.3 else c
                                     for k, c in enumerate(cons)])
        stmts.append(f"CREATE TABLE {t} (\n  {lines}\n);")
        if not refs:
            g.node(t)
    for t, col, ref in later:
        stmts.append(f"ALTER TABLE {t} ADD CONSTRAINT fk_{col} FOREIGN KEY ({col}) REFERENCES {ref}(id);")
        g.edge(t, ref, **({"label": col} if label else {}))
    # nodes first declared by later edges keep the DDL order
    notes = [["Label each edge with the foreign key column.", "Put the FK column name on the edges."]] if label else []
    return "sql_schema", "\n\n".join(stmts), g, [SQL_INSTR] + notes, "SQL"


# ----------------------------------------------------------------------------- build files

BUILD_INSTR = ["Draw the dependency graph of this {lang}.", "dependency graph of this", "graphviz please",
               "as DOT (dependent -> dependency)", "Which target needs which? DOT please.", "Graph it.",
               "Make a digraph from this {lang}.", "Visualize the dependencies.", "dot graph of the build",
               "Turn this {lang} into Graphviz."]


def f_build(rng, split):
    which = rng.choice(["make_c", "make_tasks", "compose", "compose", "terraform", "terraform"])
    g = Graph()
    if which == "make_c":
        mods = styled(rng, split, "module", rng.randint(2, 4), _snake)
        app = styled(rng, split, "service", 1, _kebab)[0]
        hdr = rng.sample(mods, rng.randint(1, len(mods)))
        lines = ["CC = gcc", "CFLAGS = -O2 -Wall", ""]
        objs = [f"{m}.o" for m in mods]
        lines += [f"{app}: {' '.join(objs)}", "\t$(CC) $(CFLAGS) -o $@ $^", ""]
        for o in objs:
            g.edge(app, o)
        for m in mods:
            pre = [f"{m}.c"] + [f"{h}.h" for h in hdr if h == m or rng.random() < 0.3]
            lines += [f"{m}.o: {' '.join(pre)}", "\t$(CC) $(CFLAGS) -c $< -o $@", ""]
            for p in pre:
                g.edge(f"{m}.o", p)
        if rng.random() < 0.5:
            lines += [".PHONY: clean", "clean:", f"\trm -f *.o {app}"]
            g.node("clean")
            note = [["The clean target has no prerequisites; keep it as a lone node."]]
        else:
            note = []
        return "build", "\n".join(lines).rstrip(), g, [BUILD_INSTR] + note, "Makefile"
    if which == "make_tasks":
        n = rng.randint(4, 7)
        ts = styled(rng, split, "stage", n, _kebab)
        es = dag(rng, len(ts), max_out=2)
        by = _group([(b, a) for a, b in es])  # later tasks need earlier ones
        lines = [".PHONY: " + " ".join(ts), ""]
        for i, t in enumerate(ts):
            pre = [ts[j] for j in sorted(by.get(i, []))]
            lines += [f"{t}:{' ' if pre else ''}{' '.join(pre)}", f"\t./scripts/{t}.sh", ""]
            for p in pre:
                g.edge(t, p)
            if not pre:
                g.node(t)
        return "build", "\n".join(lines).rstrip(), g, [BUILD_INSTR], "Makefile"
    if which == "compose":
        n = rng.randint(3, 7)
        svcs = styled(rng, split, rng.choice(["p_component", "service"]), n, _kebab)
        es = dag(rng, len(svcs), max_out=3)
        by = _group(es)
        lines = ["services:"]
        for i, s in enumerate(svcs):
            lines.append(f"  {s}:")
            lines.append(rng.choice([f"    image: {s}:latest", f"    build: ./{s}", f"    image: registry.local/{s}:1.4"]))
            if rng.random() < 0.4:
                lines.append(f"    ports:\n      - \"{rng.randint(3000, 9000)}:{rng.choice([80, 8080, 5432])}\"")
            deps = [svcs[j] for j in by.get(i, [])]
            if deps:
                if rng.random() < 0.7:
                    lines.append("    depends_on:" + ("".join(f"\n      - {d}" for d in deps)
                                                     if rng.random() < 0.7 else f" [{', '.join(deps)}]"))
                else:
                    lines.append("    depends_on:" + "".join(
                        f"\n      {d}:\n        condition: service_{rng.choice(['healthy', 'started'])}"
                        for d in deps))
            for d in deps:
                g.edge(s, d)
            if not deps:
                g.node(s)
        return "build", "\n".join(lines), g, [BUILD_INSTR], "docker-compose file"
    # terraform
    types = [("aws_vpc", "cidr_block = \"10.0.0.0/16\""), ("aws_subnet", "cidr_block = \"10.0.1.0/24\""),
             ("aws_security_group", "description = \"managed\""), ("aws_instance", "instance_type = \"t3.micro\""),
             ("aws_lb", "load_balancer_type = \"application\""), ("aws_db_instance", "engine = \"postgres\""),
             ("aws_s3_bucket", "force_destroy = true"), ("aws_iam_role", "path = \"/\""),
             ("aws_lambda_function", "runtime = \"python3.12\""), ("aws_sqs_queue", "delay_seconds = 0")]
    n = rng.randint(3, 6)
    picked = rng.sample(types, n)
    names = styled(rng, split, rng.choice(["p_component", "module"]), n, _snake)
    n = len(names)
    addrs = [f"{t}.{nm}" for (t, _), nm in zip(picked, names)]
    es = dag(rng, n, max_out=2)
    by = _group([(b, a) for a, b in es])  # later resources reference earlier ones
    blocks = []
    for i, ((t, attr), nm) in enumerate(zip(picked, names)):
        refs = [addrs[j] for j in sorted(by.get(i, []))]
        body = [f"  {attr}"]
        explicit = []
        for r in refs:
            if rng.random() < 0.75:
                body.append(f"  {r.split('.')[0].replace('aws_', '')}_id = {r}.{rng.choice(['id', 'arn'])}")
            else:
                explicit.append(r)
        if explicit:
            body.append(f"  depends_on = [{', '.join(explicit)}]")
        blocks.append(f'resource "{t}" "{nm}" {{\n' + "\n".join(body) + "\n}")
        for r in refs:
            g.edge(addrs[i], r)
        if not refs:
            g.node(addrs[i])
    return "build", "\n\n".join(blocks), g, [BUILD_INSTR + ["Resource graph (resource -> what it references):"]], \
        "Terraform config"


# ----------------------------------------------------------------------------- CI

CI_INSTR = ["Draw the job graph of this pipeline.", "graphviz please", "Which job runs after which? DOT.",
            "Pipeline DAG as DOT (job -> jobs that need it):", "as DOT", "Visualize this CI workflow.",
            "Make a digraph of the jobs.", "job dependency graph", "ci graph in dot please",
            "Turn this workflow into Graphviz."]


def f_ci(rng, split):
    n = rng.randint(3, 8)
    jobs = styled(rng, split, "stage", n, rng.choice([_kebab, _snake]))
    n = len(jobs)
    es = dag(rng, n, max_out=3)
    needs: dict[int, list[int]] = {}
    for a, b in es:
        needs.setdefault(b, []).append(a)
    g = Graph()
    gh = rng.random() < 0.55
    if gh:
        lines = [f"name: {rng.choice(['CI', 'ci', 'build', 'release', 'pipeline'])}", "on: [push, pull_request]", "",
                 "jobs:"]
    else:
        depth: dict[int, int] = {}
        for i in range(n):  # GitLab stage = longest chain of needs above the job
            depth[i] = max((depth[k] + 1 for k in needs.get(i, [])), default=0)
        stage_names = rng.choice([["prepare", "build", "test", "package", "deploy", "verify", "release", "notify"],
                                  [f"stage-{d + 1}" for d in range(n)]])
        used = sorted(set(depth.values()))
        lines = ["stages:"] + [f"  - {stage_names[d]}" for d in used] + [""]
    for i, j in enumerate(jobs):
        up = [jobs[k] for k in sorted(needs.get(i, []))]
        if gh:
            lines.append(f"  {j}:")
            lines.append("    runs-on: ubuntu-latest")
            if up:
                lines.append("    needs: " + (up[0] if len(up) == 1 and rng.random() < 0.5 else
                                              "[" + ", ".join(up) + "]"))
            lines.append(f"    steps:\n      - run: make {j}")
        else:
            lines.append(f"{j}:")
            lines.append(f"  stage: {stage_names[depth[i]]}")
            lines.append(f"  script: ./ci/{j}.sh")
            if up:
                lines.append("  needs: [" + ", ".join(f'"{u}"' if rng.random() < 0.5 else u for u in up) + "]")
            lines.append("")
        for u in up:
            g.edge(u, j)
        if not up and not any(i in v for v in needs.values()):
            g.node(j)
    return "ci", "\n".join(lines).rstrip(), g, [CI_INSTR], "GitHub Actions workflow" if gh else ".gitlab-ci.yml"


# ----------------------------------------------------------------------------- manifests

MANIFEST_INSTR = ["Draw the package dependency graph.", "dependency graph of this", "graphviz please",
                  "as DOT (package -> dependency)", "Which package depends on which? DOT please.",
                  "Visualize these dependencies.", "deps as a digraph", "Make a Graphviz graph of the packages.",
                  "Graph the dependencies in these manifests.", "dot please"]


def _pkg_names(rng, split, n, scoped: bool, sep: str = "-") -> list[str]:
    out = []
    for w in words(rng, split, "module", n + 3):
        base = _kebab(w) + rng.choice(PKG_SUFFIX)
        if sep == "_":
            base = base.replace("-", "_")
        if scoped and rng.random() < 0.6:
            base = f"@{rng.choice(ORGS)}/{base}"
        if base not in out and not base[0].isdigit():
            out.append(base)
    return out[:n]


def _ver(rng) -> str:
    return f"{rng.randint(0, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"


def f_manifest(rng, split):
    which = rng.choice(["npm", "npm", "cargo", "py", "gomod"])
    g = Graph()
    k = rng.randint(1, 3)  # manifests in the repo
    if which == "gomod":
        org = rng.choice(ORGS)
        mods = [f"github.com/{org}/{_flat(w)}" for w in words(rng, split, "module", k + 5)]
        own, ext = mods[:k], mods[k:]
        blocks = []
        for i, m in enumerate(own):
            deps = rng.sample(own[i + 1:] + ext, rng.randint(1, min(4, len(own[i + 1:] + ext))))
            req = "\n".join(f"\t{d} v{_ver(rng)}" for d in deps)
            blocks.append(f"// {m.rsplit('/', 1)[1]}/go.mod\nmodule {m}\n\ngo 1.22\n\nrequire (\n{req}\n)")
            for d in deps:
                g.edge(m, d)
        return "manifest", "\n\n".join(blocks), g, [MANIFEST_INSTR], "go.mod"
    sep = "_" if which == "py" and rng.random() < 0.5 else "-"
    names = _pkg_names(rng, split, k + 5, scoped=which == "npm", sep=sep)
    own, ext = names[:k], names[k:]
    blocks = []
    for i, p in enumerate(own):
        pool_ = own[i + 1:] + ext
        deps = rng.sample(pool_, rng.randint(1, min(4, len(pool_))))
        if which == "npm":
            ds = ",\n".join(f'    "{d}": "{"workspace:*" if d in own else "^" + _ver(rng)}"' for d in deps)
            blocks.append(f'// packages/{p.split("/")[-1]}/package.json\n{{\n  "name": "{p}",\n  "version": '
                          f'"{_ver(rng)}",\n  "dependencies": {{\n{ds}\n  }}\n}}')
        elif which == "cargo":
            ds = "\n".join(f'{d} = {{ path = "../{d}" }}' if d in own else f'{d} = "{_ver(rng)}"' for d in deps)
            blocks.append(f'# {p}/Cargo.toml\n[package]\nname = "{p}"\nversion = "{_ver(rng)}"\nedition = "2021"'
                          f"\n\n[dependencies]\n{ds}")
        else:
            if rng.random() < 0.5:
                ds = ",\n".join(f'  "{d}{rng.choice([">=", "~=", "=="])}{_ver(rng)}"' for d in deps)
                blocks.append(f'# {p}/pyproject.toml\n[project]\nname = "{p}"\nversion = "{_ver(rng)}"\n'
                              f"dependencies = [\n{ds}\n]")
            else:
                ds = "\n".join(f"{d}{rng.choice(['>=', '==', '~='])}{_ver(rng)}" for d in deps)
                blocks.append(f"# requirements.txt of {p}\n{ds}")
        for d in deps:
            g.edge(p, d)
    lang = {"npm": "package.json files", "cargo": "Cargo.toml", "py": "Python project"}[which]
    return "manifest", "\n\n".join(blocks), g, [MANIFEST_INSTR], lang


# ----------------------------------------------------------------------------- edge lists

EDGE_INSTR = ["Draw this edge list as a graph.", "graphviz please", "as DOT", "Turn this {lang} into a DOT graph.",
              "Make a Graphviz graph from these edges.", "plot this graph in dot", "edges -> DOT please",
              "Convert to Graphviz.", "Render these connections as DOT.", "dot graph of this data"]


def _host_names(rng, split, n, short: bool = False) -> list[str]:
    style = rng.choice(["snake", "kebab", "dotted", "numbered", "person"])
    if short:
        style = rng.choice(["snake", "person", "numbered"])
    if style == "person":
        return styled(rng, split, "p_person", n, lambda w: w[:1].upper() + w[1:])
    if style == "numbered":
        base = _kebab(words(rng, split, "p_device", 1)[0])
        if short:
            base = "".join(w[0] for w in base.split("-")) + rng.choice(["", "sw", "node", "rtr"])
        return [f"{base}-{i + 1:02d}" for i in range(n)]
    if style == "dotted":
        zone = _flat(words(rng, split, "tier", 1)[0])
        return [f"{h}.{zone}" for h in styled(rng, split, "host", n, _kebab)]
    return [x for x in styled(rng, split, "host", n + 40 if short else n, _snake if style == "snake" else _kebab)
            if not short or len(x) <= 10][:n]


def f_edge_list(rng, split):
    n = rng.randint(4, 9)
    names = _host_names(rng, split, n)
    n = len(names)
    directed = rng.random() < 0.6
    m = rng.randint(n - 1, min(n + 4, 14))
    pairs: list[tuple[str, str]] = []
    for j in range(1, n):
        pairs.append((names[rng.randrange(j)], names[j]))
    while len(pairs) < m:
        a, b = rng.choice(names), rng.choice(names)
        if a == b and rng.random() < 0.8:
            continue
        if (a, b) not in pairs and (directed or (b, a) not in pairs):
            pairs.append((a, b))
    rng.shuffle(pairs)
    weighted = rng.random() < 0.35
    ws = [str(rng.randint(1, 20)) for _ in pairs]
    g = Graph(directed=directed)
    for (a, b), w in zip(pairs, ws):
        g.edge(a, b, **({"label": w} if weighted else {}))
    fmt = rng.choice(["csv", "csv", "json_list", "json_graph", "json_adj", "tsv"])
    if fmt == "json_adj" and weighted:
        fmt = "json_list"
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        head = rng.choice([("source", "target"), ("from", "to"), ("src", "dst")] if directed
                          else [("node_a", "node_b"), ("a", "b"), ("left", "right")])
        rows = [sep.join(head + (("weight",) if weighted else ()))]
        rows += [sep.join((a, b) + ((w,) if weighted else ())) for (a, b), w in zip(pairs, ws)]
        text, lang = "\n".join(rows), "CSV" if fmt == "csv" else "TSV"
    elif fmt == "json_list":
        items = [{"from": a, "to": b, **({"weight": int(w)} if weighted else {})} for (a, b), w in zip(pairs, ws)]
        text, lang = json.dumps(items, indent=rng.choice([None, None, 2])), "JSON"
    elif fmt == "json_graph":
        obj = {"directed": directed, "nodes": names,
               "edges": [[a, b] + ([int(w)] if weighted else []) for (a, b), w in zip(pairs, ws)]}
        text, lang = json.dumps(obj, indent=rng.choice([None, None, 2])), "JSON"
        for nm in names:
            g.node(nm)
    else:
        adj: dict[str, list[str]] = {}
        g = Graph(directed=directed)
        for a, b in pairs:
            adj.setdefault(a, []).append(b)
        for a, bs in adj.items():
            for b in bs:
                g.edge(a, b)
        text, lang = json.dumps(adj, indent=rng.choice([None, None, 2])), "JSON adjacency map"
    notes = []
    if not directed and fmt != "json_graph":
        notes.append(["The links are undirected.", "Undirected graph.", "(undirected)", "Edges have no direction."])
    elif directed and fmt != "json_graph" and rng.random() < 0.4:
        notes.append(["Edges are directed.", "Directed graph.", "(directed, first column -> second)"])
    if weighted:
        notes.append(["Use the weights as edge labels.", "Label edges with their weight."])
    return "edge_list", text, g, [EDGE_INSTR] + notes, lang


# ----------------------------------------------------------------------------- state machines

TABLE_INSTR = ["Draw this state machine.", "State diagram as DOT, edges labelled with the event:", "graphviz please",
               "as DOT", "Turn this transition table into a DOT graph.", "FSM from this table please",
               "Make a Graphviz state diagram.", "state -> next state, labelled by event, in DOT",
               "Visualize these transitions.", "dot for this fsm"]


def _fsm(rng, split, n_lo=3, n_hi=5):
    n = rng.randint(n_lo, n_hi)
    states = words(rng, split, "state", n)
    events = words(rng, split, "event", rng.randint(2, min(6, n + 1)))
    trans: list[tuple[int, str, int]] = []
    for i in range(len(states)):
        j = (i + 1) % len(states) if rng.random() < 0.7 else rng.randrange(len(states))
        trans.append((i, events[i % len(events)], j))
    for _ in range(rng.randint(0, 3)):
        a = rng.randrange(len(states))
        e = rng.choice(events)
        if all((x, y) != (a, e) for x, y, _ in trans):
            trans.append((a, e, rng.randrange(len(states)) if rng.random() < 0.8 else a))
    if rng.random() < 0.3:  # a self-loop
        a = rng.randrange(len(states))
        e = rng.choice(events)
        if all((x, y) != (a, e) for x, y, _ in trans):
            trans.append((a, e, a))
    trans.sort(key=lambda t: t[0])
    return states, events, trans


def f_transition_table(rng, split):
    st, ev, trans = _fsm(rng, split)
    sfn = rng.choice([_snake, _snake, _kebab, lambda w: _camel(w, True), lambda w: w.upper().replace(" ", "_")])
    efn = rng.choice([_snake, _snake, _camel, lambda w: w.upper().replace(" ", "_")])
    S = [sfn(s) for s in st]
    E = {e: efn(e) for e in ev}
    rows = [(S[a], E[e], S[b]) for a, e, b in trans]
    g = Graph()
    for a, e, b in rows:
        g.edge(a, b, label=e)
    fmt = rng.choice(["md", "md", "csv", "yaml", "json", "json_list"])
    if fmt == "md":
        h = rng.choice([("From", "Event", "To"), ("State", "On", "Next state"), ("Current", "Trigger", "Next")])
        text = f"| {h[0]} | {h[1]} | {h[2]} |\n|---|---|---|\n" + "\n".join(f"| {a} | {e} | {b} |" for a, e, b in rows)
        lang = "Markdown table"
    elif fmt == "csv":
        text = rng.choice(["from,event,to", "state,event,next", "src,trigger,dst"]) + "\n" + "\n".join(
            f"{a},{e},{b}" for a, e, b in rows)
        lang = "CSV"
    elif fmt == "yaml":
        lines = ["states:"]
        cur = None
        for a, e, b in rows:
            if a != cur:
                lines.append(f"  {a}:\n    on:")
                cur = a
            lines.append(f"      {e}: {b}")
        text, lang = "\n".join(lines), "YAML"
    elif fmt == "json":
        obj: dict[str, dict[str, str]] = {}
        for a, e, b in rows:
            obj.setdefault(a, {})[e] = b
        text, lang = json.dumps({"states": obj} if rng.random() < 0.5 else obj, indent=2), "JSON"
    else:
        text = json.dumps([{"from": a, "event": e, "to": b} for a, e, b in rows], indent=rng.choice([None, None, 2]))
        lang = "JSON"
    return "transition_table", text, g, [TABLE_INSTR], lang


ENUM_INSTR = ["Draw the state machine this code implements.", "State diagram of this {lang} code (label edges "
              "with the event):", "graphviz please", "What FSM is this? DOT please.", "as DOT",
              "Turn the switch into a state diagram.", "fsm graph in dot", "Visualize the states and transitions.",
              "state machine from code", "DOT state diagram please"]


def f_enum_switch(rng, split):
    lang = rng.choice(["c", "java", "rust", "ts"])
    st, ev, trans = _fsm(rng, split)
    if lang in ("c", "java"):
        S = [s.upper().replace(" ", "_") for s in st]
        E = {e: e.upper().replace(" ", "_") for e in ev}
    else:
        S = [_camel(s, True) for s in st]
        E = {e: _camel(e, True) for e in ev}
    by: dict[int, list[tuple[str, int]]] = {}
    for a, e, b in trans:
        by.setdefault(a, []).append((E[e], b))
    g = Graph()
    for a, e, b in trans:
        g.edge(S[a], S[b], label=E[e])
    ind = "    "
    if lang == "c":
        cases = []
        for a, outs in by.items():
            body = "\n".join(f"{ind * 2}if (ev == {e}) return {S[b]};" for e, b in outs)
            cases.append(f"{ind}case {S[a]}:\n{body}\n{ind * 2}break;")
        code = (f"typedef enum {{ {', '.join(S)} }} state_t;\ntypedef enum {{ {', '.join(E.values())} }} event_t;\n\n"
                f"state_t next_state(state_t s, event_t ev) {{\n{ind}switch (s) {{\n" + "\n".join(cases)
                + f"\n{ind}default:\n{ind * 2}break;\n{ind}}}\n{ind}return s;\n}}")
    elif lang == "java":
        cases = []
        for a, outs in by.items():
            body = "\n".join(f"{ind * 3}if (ev == Event.{e}) return State.{S[b]};" for e, b in outs)
            cases.append(f"{ind * 2}case {S[a]}:\n{body}\n{ind * 3}break;")
        code = (f"enum State {{ {', '.join(S)} }}\nenum Event {{ {', '.join(E.values())} }}\n\nclass Machine {{\n"
                f"{ind}State next(State s, Event ev) {{\n{ind * 2}switch (s) {{\n" + "\n".join(cases)
                + f"\n{ind * 2}}}\n{ind * 2}return s;\n{ind}}}\n}}")
    elif lang == "rust":
        arms = [f"{ind * 3}(State::{S[a]}, Event::{e}) => State::{S[b]}," for a, e, b in
                [(a, E[e], b) for a, e, b in trans]]
        code = (f"#[derive(Clone, Copy)]\nenum State {{ {', '.join(S)} }}\nenum Event {{ {', '.join(E.values())} }}\n\n"
                f"impl State {{\n{ind}fn next(self, ev: Event) -> State {{\n{ind * 2}match (self, ev) {{\n"
                + "\n".join(arms) + f"\n{ind * 3}(s, _) => s,\n{ind * 2}}}\n{ind}}}\n}}")
    else:
        cases = []
        for a, outs in by.items():
            body = "\n".join(f"{ind * 3}if (ev === Event.{e}) return State.{S[b]};" for e, b in outs)
            cases.append(f"{ind * 2}case State.{S[a]}:\n{body}\n{ind * 3}break;")
        code = (f"enum State {{ {', '.join(S)} }}\nenum Event {{ {', '.join(E.values())} }}\n\n"
                f"function next(s: State, ev: Event): State {{\n{ind}switch (s) {{\n" + "\n".join(cases)
                + f"\n{ind}}}\n{ind}return s;\n}}")
    notes = [["Unhandled events keep the state; no edge for those."]] if rng.random() < 0.2 else []
    return "state_machine", code, g, [ENUM_INSTR] + notes, LANG_NAMES[lang]


CODE_FORMATS = {"call_graph": (f_call_graph, 1.0), "imports": (f_imports, 1.6), "sql": (f_sql, 1.0),
                "build": (f_build, 1.3), "ci": (f_ci, 0.9), "manifest": (f_manifest, 1.0),
                "edge_list": (f_edge_list, 1.1), "transition_table": (f_transition_table, 0.9),
                "enum_switch": (f_enum_switch, 1.1)}
