"""Random state-machine-cat (smcat) programs, written from the smcat language docs (the package README, 14.0.8).

``program(rng, split)`` -> smcat source text. The DOT completion is NOT written here: the build renders the source
with the real state-machine-cat (smcat_render.py, cached), so the completion is exactly what smcat emits.

Covered, in random mixes: plain states; ``initial`` / ``final`` (top level and inside composites, named like
``running.initial``); shallow and deep history (``x.history``, ``x.history.deep``, ``x deep history``, ``type=``);
choice ``^name`` (optionally with a description: ``^paid?: is it paid?``); ``]name`` fork / join / junction (derived
from in/out counts) and explicit ``type=fork|join|forkjoin|junction``; ``terminate`` (explicit type + label);
composite states nested 1-3 levels (``a { ... };``), parallel states (name contains ``parallel``, e.g.
``x.parallel { r1 {...}, r2 {...}; }``, or ``type=parallel``) with regions; entry / exit / do activities and plain
state descriptions (``a: some text``); ``[label=...]``, ``color``, ``active``, ``class``, ``type=regular``
overrides; quoted names with spaces; notes (``#`` lines before states and transitions); transitions with
event, ``[condition]``, ``/ action`` (single- or multi-line), ``->`` and ``=>``, ``[type=internal|external]``,
``color`` / ``width`` / ``class``, self transitions, transitions into / out of composites and between nested
states (written inside the composite's body or at top level); explicit declaration of every state, of only those
that need it, or none; multi-line layouts and one-liners. Sizes from 1 regular state to about 8.

State names come from the split-partitioned pool (vocab), so val/test states never occur in train.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from .lengths import estimate_tokens
from .vocab import pick_names, pool

STYLES = ["snake", "lower_words", "camel", "spaced", "snake", "title_spaced", "spaced", "kebab_quoted"]
COLORS = ["red", "blue", "green", "orange", "purple", "grey", "#008800", "#cc0000", "#3366ff", "darkgreen",
          "brown", "magenta"]
CLASSES = ["important", "warn", "dismissed", "x", "hot path", "legacy", "ui", "error"]
NOTES = ["keep this simple", "todo: check timeouts", "see the spec", "happy path", "error handling below",
         "composite state", "states", "transitions", "added later", "the core loop", "do not remove",
         "pseudo states", "review with the team", "nested machine", "entry point"]
TERM_LABELS = ["Terminated", "Killed", "Crashed", "Emergency stop", "Fatal", "Aborted"]
CHOICE_NAMES = ["choice", "decide", "check", "which", "route", "branch"]
FORK_NAMES = ["fork", "split", "sync"]
JOIN_NAMES = ["join", "merge", "sync"]
SIMPLE = re.compile(r"[A-Za-z0-9_.]+")


@dataclass
class St:
    name: str
    kind: str = "regular"            # regular, initial, final, history, deephistory, choice, fork, junction, terminate
    attrs: list[str] = field(default_factory=list)
    acts: list[str] = field(default_factory=list)   # activity lines: "entry/ ...", "exit/ ...", "do/ ...", or text
    notes: list[str] = field(default_factory=list)
    children: list["St"] = field(default_factory=list)
    trans: list[str] = field(default_factory=list)  # transitions written inside this composite's body
    parallel: bool = False

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


class Gen:
    def __init__(self, rng: random.Random, split: str):
        self.rng, self.split = rng, split
        r = rng
        self.quote_all = r.random() < 0.08
        self.arrow = r.choice(["=>", "->", "=>", "mixed"])
        self.oneliner = r.random() < 0.15
        self.align = r.random() < 0.2
        self.indent = r.choice(["  ", "  ", "    ", "\t"])
        self.events = list(pool("event", split))
        r.shuffle(self.events)
        self.guards = pool("guard", split)
        self.actions = pool("action", split)
        self.used: set[str] = set()

    # ------------------------------------------------------------------ names
    def q(self, name: str) -> str:
        if self.quote_all or not SIMPLE.fullmatch(name.lstrip("^]").rstrip("?")) or " " in name:
            return f'"{name}"'
        return name

    def sub(self, base: str, suffix: str) -> str:
        """A name derived from a state's (composite's) name: running.history / "tape player initial"."""
        return f"{base} {suffix.replace('.', ' ')}" if " " in base else f"{base}.{suffix}"

    # ------------------------------------------------------------------ labels
    def event(self) -> str:
        return self.events.pop() if self.events else self.rng.choice(pool("event", self.split))

    def label(self) -> str:
        r = self.rng
        parts = []
        if r.random() < 0.78:
            parts.append(self.event())
        if r.random() < 0.25:
            parts.append(f"[{r.choice(self.guards)}]")
        if r.random() < 0.2 or not parts:
            if not parts and r.random() < 0.5:
                return ""
            sep = rng_sep = r.choice(["/ ", "/", " / "])
            act = r.choice(self.actions)
            if parts and r.random() < 0.3:   # multi-line label, as in the docs
                parts.append(rng_sep.rstrip() + "\n" + " " * r.randint(4, 11) + act)
                return " ".join(parts[:-1]) + parts[-1]
            parts.append(f"{sep}{act}" if sep != " / " else f"/ {act}")
        return " ".join(parts)

    def arrow_(self) -> str:
        return self.rng.choice(["=>", "->"]) if self.arrow == "mixed" else self.arrow

    def transition(self, a: str, b: str, extra: str = "", note: bool = True) -> str:
        r = self.rng
        self.used |= {a, b}
        attrs = []
        if extra:
            attrs.append(extra)
        if r.random() < 0.06:
            attrs.append(f'color="{r.choice(COLORS)}"')
        if r.random() < 0.04:
            attrs.append(f"width={r.choice(['2', '3.5', '1.5', '4'])}")
        if r.random() < 0.04:
            attrs.append(f'class="{r.choice(CLASSES)}"')
        head = f"{self.q(a)} {self.arrow_()} {self.q(b)}"
        if attrs:
            head += f" [{' '.join(attrs)}]"
        lab = self.label()
        text = head + (f": {lab};" if lab else ";")
        if note and not self.oneliner and r.random() < 0.04:
            text = f"# {r.choice(NOTES)}\n" + text
        return text

    # ------------------------------------------------------------------ states
    def decorate(self, s: St) -> None:
        r = self.rng
        if r.random() < 0.1:
            s.attrs.append(f'label="{self.display(s.name)}"')
        if r.random() < 0.08:
            s.attrs.append(f'color="{r.choice(COLORS)}"')
        if r.random() < 0.06:
            s.attrs.append("active")
        if r.random() < 0.05:
            s.attrs.append(f'class="{r.choice(CLASSES)}"')
        if r.random() < 0.03:
            s.attrs.append("type=regular")
        r.shuffle(s.attrs)
        x = r.random()
        if x < 0.16:
            kinds = r.sample(["entry/", "exit/", "do/"], r.choice([1, 1, 2, 2, 3]))
            order = {"entry/": 0, "do/": 1, "exit/": 2}
            s.acts = [f"{k} {r.choice(self.actions)}" for k in sorted(kinds, key=order.get)]
            if r.random() < 0.1:
                s.acts.append("...")
        elif x < 0.21:
            s.acts = [r.choice(self.actions)]
        if r.random() < 0.05 and not self.oneliner:
            s.notes = [r.choice(NOTES)] + ([r.choice(NOTES)] if r.random() < 0.3 else [])

    def display(self, name: str) -> str:
        r = self.rng
        words = re.split(r"[\s_.\-]+|(?<=[a-z])(?=[A-Z])", name)
        words = [w for w in words if w]
        x = r.random()
        if x < 0.5:
            return " ".join(w.capitalize() for w in words)
        if x < 0.75:
            return " ".join(words).upper()
        return " ".join(words) + r.choice([" (1)", "...", "!", " state", " mode"])

    def decl(self, s: St, depth: int) -> str:
        ind = "" if self.oneliner else self.indent * depth
        head = self.q(s.name)
        if s.attrs:
            head += f" [{' '.join(s.attrs)}]"
        if s.acts:
            if self.rng.random() < 0.6:
                head += ": " + s.acts[0] + "".join(f"\n{ind}{self.indent}{a}" for a in s.acts[1:])
            else:
                head += ":\n" + "\n".join(f"{ind}{self.indent}{a}" for a in s.acts)
        if s.children:
            head += " " + self.body(s, depth + 1)
        if self.oneliner:
            return re.sub(r"\s*\n\s*", " ", head)
        return "".join(f"{ind}# {n}\n" for n in s.notes) + ind + head

    def block(self, states: list[St], trans: list[str], depth: int) -> str:
        """A machine (top level or inside braces): declarations, then transitions."""
        ind = "" if self.oneliner else self.indent * depth
        out = []
        if states:
            decls = [self.decl(s, depth) for s in states]
            if self.oneliner:
                out.append(", ".join(decls) + ";")
            else:
                joiner = ",\n" if self.rng.random() < 0.85 or any("\n" in d for d in decls) else ", "
                text = joiner.join(d if joiner == ",\n" or i == 0 else d.lstrip() for i, d in enumerate(decls))
                out.append(text + ";")
        if trans:
            if not self.oneliner and states and self.rng.random() < 0.7:
                out.append("")
            if self.oneliner:
                out += [re.sub(r"\s*\n\s*", " ", t) for t in trans]
            else:
                out += ["\n".join(ind + ln for ln in t.split("\n")) for t in trans]
        return "\n".join(out) if not self.oneliner else " ".join(out)

    def body(self, s: St, depth: int) -> str:
        inner = self.block(s.children, s.trans, depth)
        if self.oneliner:
            return "{ " + inner + " }"
        return "{\n" + inner + "\n" + self.indent * (depth - 1) + "}"


# Rough size of smcat's DOT in lengths.estimate_tokens units, from the program's structure: smcat's DOT is
# verbose (an HTML-table label per state), so programs that would clearly not fit are redrawn before rendering.
COST = {"header": 130, "regular": 95, "composite": 150, "pseudo": 45, "note": 70, "act": 20, "transition": 40,
        "depth": 10}
BUDGET = 1080


def program(rng: random.Random, split: str, budget: int = BUDGET) -> str:
    """One random smcat program (it may still be rejected by smcat's parser; the caller regenerates then)."""
    while True:
        text, cost = _program(rng, split)
        if cost <= budget * (1.12 if "parallel" in text else 1.0):  # the cost overrates nested clusters' indentation
            return text


def _cost(g: "Gen", top: list[St], text: str) -> float:
    c = COST["header"] + estimate_tokens(text) + COST["transition"] * text.count("->") + COST["transition"] * \
        text.count("=>") + COST["note"] * text.count("#")
    def add(s: St, depth: int) -> float:
        own = COST["composite"] if s.children else COST["regular"] if s.kind == "regular" else COST["pseudo"]
        own += COST["act"] * len(s.acts) + COST["depth"] * depth  # deeper states are indented further
        return own + sum(add(k, depth + 1) for k in s.children)
    return c + sum(add(t, 0) for t in top)


def _program(rng: random.Random, split: str) -> tuple[str, float]:
    g = Gen(rng, split)
    r = rng
    # flat machines scale with size; hierarchical ones stay small (each cluster costs about what a state does)
    layout = r.choices(["flat", "composite", "parallel"], [0.3, 0.5, 0.2])[0]
    size = r.choices(["tiny", "small", "medium"], [0.3, 0.4, 0.3])[0]
    n_reg = {"tiny": r.randint(1, 2), "small": r.randint(2, 3), "medium": r.randint(4, 5)}[size]
    if layout == "composite":
        n_reg = r.choice([2, 2, 2, 3, 3, 4])
    elif layout == "parallel":
        n_reg = 1
    names = pick_names(r, "state", split, n_reg + 4, styles=STYLES)
    n_reg = min(n_reg, max(1, len(names) - 4))
    regs = [St(n) for n in names[:n_reg]]
    spare = names[n_reg:]
    for s in regs:
        g.decorate(s)
    top: list[St] = list(regs)
    composites: list[St] = []

    # --- composites, nested 1-3 levels: a state adopts some of its siblings
    if layout == "composite" or (layout == "parallel" and n_reg >= 3 and r.random() < 0.3):
        depth = r.choices([1, 2, 3], [0.5, 0.35, 0.15])[0]
        level = top
        for d in range(depth):
            if len(level) < (2 if d == 0 or not spare else 1):
                break
            parent = r.choice(level[:-1]) if len(level) >= 2 and (r.random() < 0.6 or not spare) else None
            if parent is None:
                parent = St(spare.pop())
                g.decorate(parent)
                level.insert(r.randrange(len(level) + 1), parent)
            others = [s for s in level if s is not parent]
            if not others:
                break
            k = r.randint(1, min(3, len(others)))
            kids = r.sample(others, k) if r.random() < 0.5 else others[-k:]
            for c in kids:
                level.remove(c)
            parent.children = kids
            composites.append(parent)
            level = parent.children
    # --- a parallel state with two regions
    if layout == "parallel" and len(spare) >= 3:
        base = spare.pop()
        pname = r.choice([g.sub(base, "parallel"), f"{base} parallel" if " " in base else f"{base}_parallel", base])
        par = St(pname, parallel=True)
        if pname == base:
            par.attrs.append("type=parallel")
        movable = [s for s in top if not s.children]
        regions = []
        for _ in range(2):
            reg = St(spare.pop())
            take = r.sample(movable, min(len(movable), r.randint(0, 1)))
            for c in take:
                movable.remove(c)
                top.remove(c)
            if not take:
                take = [St(g.sub(reg.name, r.choice(["a", "b", "one", "two", "thing", "thang"])))]
            reg.children = take
            regions.append(reg)
            composites.append(reg)
        par.children = regions
        composites.append(par)
        top.insert(r.randrange(len(top) + 1), par)

    # pseudo states cost a node (and edges) each: hierarchical machines get fewer of them
    lean = {"flat": 1.0, "composite": 0.7, "parallel": 0.45}[layout]
    leaves = [s for t in top for s in t.walk() if not s.children and s.kind == "regular"]
    everything = [s for t in top for s in t.walk() if s.kind == "regular"]
    parent_of = {id(c): p for p in composites for c in p.children}
    top_trans: list[str] = []

    def place(a: St, b: St, text: str) -> None:
        """Write a transition inside the innermost composite holding both ends (sometimes), else at top level."""
        pa, pb = parent_of.get(id(a)), parent_of.get(id(b))
        if pa is not None and pa is pb and not pa.parallel and r.random() < 0.65:
            pa.trans.append(text)
        else:
            top_trans.append(text)

    # --- pseudo states
    if r.random() < 0.65:
        init = St("initial", "initial")
        top.insert(0, init)
        tgt = r.choice([leaves[0], everything[0], r.choice(leaves)])
        top_trans.insert(0, g.transition("initial", tgt.name))
    for c in composites:
        if c.parallel or not c.children:
            continue
        if r.random() < 0.25 * lean:
            ini = St(g.sub(c.name, "initial"), "initial")
            c.children.insert(0, ini)
            c.trans.insert(0, g.transition(ini.name, c.children[1].name))
        if r.random() < 0.3 * lean:
            deep = r.random() < 0.4
            if r.random() < 0.2:
                h = St(g.sub(c.name, "h"), "history", attrs=["type=deephistory" if deep else "type=history"])
            else:
                h = St(r.choice([g.sub(c.name, "history.deep"), f"{c.name} deep history"]) if deep
                       else g.sub(c.name, "history"), "history")
            c.children.insert(r.randrange(len(c.children) + 1), h)
            outside = [s for s in everything if s not in list(c.walk())]
            src = r.choice(outside) if outside else c
            top_trans.append(g.transition(src.name, h.name))
        if r.random() < 0.12 * lean:
            fin = St(g.sub(c.name, "final"), "final")
            c.children.append(fin)
            c.trans.append(g.transition(r.choice([x for x in c.children if x.kind == "regular"] or [c]).name,
                                        fin.name))

    # --- transitions between regular states
    order = list(everything)
    r.shuffle(order)
    shape = r.choice(["chain", "chain", "cycle", "random"])
    pairs = []
    if shape in ("chain", "cycle"):
        pairs = list(zip(order, order[1:])) + ([(order[-1], order[0])] if shape == "cycle" and len(order) > 2 else [])
    else:
        for _ in range(max(1, len(order) + r.randint(-1, 1))):
            pairs.append((r.choice(order), r.choice(order)))
    for c in composites:       # a little structure inside each composite
        kids = [k for k in c.children if k.kind == "regular"]
        if len(kids) >= 2 and not c.parallel and r.random() < 0.7:
            pairs.append((kids[0], kids[1]))
    if len(everything) >= 1 and r.random() < 0.2:
        s = r.choice(everything)
        pairs.append((s, s))
    seen = set()
    for a, b in pairs:
        if (a.name, b.name) in seen:
            continue
        seen.add((a.name, b.name))
        extra = ""
        if a is b and a.children and r.random() < 0.6:
            extra = "type=internal"
        elif r.random() < 0.03:
            extra = "type=external"
        place(a, b, g.transition(a.name, b.name, extra))

    # --- choice, fork/join/junction, terminate, final
    others = list(everything)
    if len(others) >= 2 and r.random() < 0.22 * lean:
        cname = "^" + (r.choice(CHOICE_NAMES) if r.random() < 0.5 else r.choice(others).name + "?")
        ch = St(cname, "choice")
        if r.random() < 0.3:
            ch.acts = [r.choice(["is it ok?", "which way?", "valid?", "enough?", "decide"])]
        top.insert(r.randrange(len(top) + 1), ch)
        src = r.choice(others)
        outs = r.sample(others, 2)
        top_trans.append(g.transition(src.name, cname))
        gd = r.choice(g.guards)
        top_trans.append(g.transition(cname, outs[0].name) if r.random() < 0.2 else
                         f"{g.q(cname)} {g.arrow_()} {g.q(outs[0].name)}: [{gd}];")
        top_trans.append(f"{g.q(cname)} {g.arrow_()} {g.q(outs[1].name)}: [{r.choice(['else', 'not ' + gd])}];")
    if len(others) >= 2 and r.random() < 0.2 * lean:
        mode = r.choice(["fork", "join", "junction", "forkjoin", "typed"])
        nm = "]" + {"fork": r.choice(FORK_NAMES), "join": r.choice(JOIN_NAMES), "junction": "junction",
                    "forkjoin": "sync", "typed": r.choice(FORK_NAMES + ["junction"])}[mode]
        st = St(nm, "fork")
        if mode == "forkjoin" or mode == "typed":
            st.attrs.append("type=" + r.choice(["forkjoin", "fork", "join", "junction"]))
        n_in, n_out = {"fork": (1, r.randint(2, 3)), "join": (r.randint(2, 3), 1),
                       "junction": (2, 2)}.get(mode, (r.randint(1, 2), r.randint(1, 2)))
        ins = r.sample(others, min(n_in, len(others)))
        outs = r.sample(others, min(n_out, len(others)))
        if st.attrs or r.random() < 0.4:
            top.insert(r.randrange(len(top) + 1), st)
        top_trans += [g.transition(a.name, nm) for a in ins] + [g.transition(nm, b.name) for b in outs]
    if others and r.random() < 0.1 * lean:
        tn = spare.pop() if spare else "terminate"
        t = St(tn, "terminate", attrs=["type=terminate"] + ([f'label="{r.choice(TERM_LABELS)}"']
                                                             if r.random() < 0.7 else []))
        top.insert(r.randrange(len(top) + 1), t)
        top_trans.append(g.transition(r.choice(others).name, tn))
    if r.random() < 0.4 * lean:
        top.append(St("final", "final"))
        for s in r.sample(others, min(len(others), r.choice([1, 1, 2]))):
            top_trans.append(g.transition(s.name, "final"))

    # --- which top-level states to declare: all / only those that need it / (nothing, if nothing needs it)
    used = g.used
    mode = r.choices(["all", "needed"], [0.7, 0.3])[0]
    if mode == "all":
        decl = top
    else:
        decl = [s for s in top if s.children or s.attrs or s.acts or s.notes or s.name not in used
                or s.kind in ("terminate",)]
    if top_trans and r.random() < 0.15 and not g.oneliner:
        top_trans = [f"# {r.choice(NOTES)}"] + top_trans
    text = g.block(decl, top_trans, 0)
    if r.random() < 0.15 and not g.oneliner:
        text = f"# {r.choice(NOTES)}\n" + text
    text = text.strip() + ("\n" if r.random() < 0.5 else "")
    return text, _cost(g, top, text)
