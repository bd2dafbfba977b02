"""Dataset v3: graphs described the way people write them in their own words (the "prose" share of nl and docs).

Why: the v2 prompts almost always give names already as identifiers ("cache_repository is a kind of user"), and a
model tuned on them copied multi-word names unquoted into DOT, dropped edges of "A and B both call C", flipped
passive relations, and confused events with states. Here:

* names are natural phrases said with articles ("the load balancer", "our payment service"), bare proper names
  ("Kafka", "Ana"), numbered devices ("access switch 1", or "access switches 1 and 2"); the node ID is always the
  phrase in lower snake_case (CamelCase class names stay as written), never including the article;
* relations come in both voices and both directions: "A calls B", "B is called by A", "Ana reports to the CTO"
  (CTO -> Ana), "the data lake is loaded into the warehouse"; fan-out / fan-in by conjunction ("X forwards to A
  and B", "both A and B read from C", "A, B and C all call D"), pronouns ("it also ...") and relative clauses
  (", which calls ...");
* state machines with the event inside the sentence ("pressing start moves it from idle to running", "closing an
  open door makes it closed");
* chains ("first A, then B", "after B comes C", "C needs B first") and decisions ("if X go to Y, otherwise Z"), with
  parallel branches ("after A, B and C run in parallel; once both are done, D").

Every builder returns (kind, body, Graph); the edges are added in the order the text states them. Template lists go
through text.pick, so about a fifth of the shapes are only ever used in val/test.
"""
from __future__ import annotations

import random
import re

from .dot_writer import Graph
from .text import GENERIC_INTROS, pick
from .vocab import pool

# ----------------------------------------------------------------------------- names

ACRONYMS = {"api", "cdn", "sms", "pdf", "ml", "kpi", "crm", "csv", "it", "qa", "vip", "ceo", "cto", "cfo", "coo",
            "vp", "hr", "sre", "ai", "db", "nas", "pdu", "s3", "sqs", "sns", "etl", "ui"}
PROPER = {"mysql": "MySQL", "rabbitmq": "RabbitMQ", "bigquery": "BigQuery", "mongodb": "MongoDB",
          "dynamodb": "DynamoDB", "clickhouse": "ClickHouse", "haproxy": "HAProxy", "minio": "MinIO",
          "nats": "NATS", "dbt": "dbt", "s3": "S3", "sqs": "SQS", "sns": "SNS", "etcd": "etcd"}


def snake(phrase: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


class Name:
    """A node: what the text says (with or without an article) and its ID."""

    def __init__(self, words: str, nid: str, art: bool, person: bool = False, verb: bool = False):
        self.words, self.id, self.art, self.person, self.verb = words, nid, art, person, verb

    def __repr__(self) -> str:
        return self.id


def _acro(phrase: str) -> str:
    return " ".join(w.upper() if w in ACRONYMS else w for w in phrase.split())


def _title(phrase: str) -> str:
    return " ".join(w.upper() if w in ACRONYMS else w[:1].upper() + w[1:] for w in phrase.split())


def names_from(rng: random.Random, split: str, pool_name: str, n: int, art: bool, title: float = 0.0,
               person: bool = False, proper: bool = False) -> list[Name]:
    words = pool(pool_name, split)
    out = []
    for w in rng.sample(words, min(n, len(words))):
        w = " ".join(w.split())  # a pool entry may span a line break ("metrics\n store")
        if proper:
            shown = PROPER.get(w, w[:1].upper() + w[1:])
        elif rng.random() < title:
            shown = _title(w)
        else:
            shown = _acro(w)
        out.append(Name(shown, snake(w), art, person))
    return out


def numbered(rng: random.Random, split: str, n: int) -> tuple[list[Name], str]:
    """A family of numbered devices ("access switch 1", "access switch 2"): (names, base phrase)."""
    base = rng.choice(pool("p_device", split))
    start = rng.choice([1, 1, 1, 0, 2])
    shown = _acro(base)
    return [Name(f"{shown} {i}", snake(f"{base} {i}"), True) for i in range(start, start + n)], shown


class Voice:
    """How one record says names: which determiners, how often."""

    def __init__(self, rng: random.Random):
        self.dets = rng.choice([["the "], ["the ", "the ", "our "], ["the ", ""], ["our ", "the "], [""],
                                ["the ", "the ", "the ", "a "]])

    def say(self, n: Name, rng: random.Random, start: bool = False) -> str:
        s = (rng.choice(self.dets) if n.art else "") + n.words
        return s[:1].upper() + s[1:] if start else s


def listing(items: list[str], rng: random.Random) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {rng.choice(['and', 'and', 'and', '&', 'as well as'])} {items[1]}"
    return ", ".join(items[:-1]) + rng.choice([" and ", ", and ", " and "]) + items[-1]


def mention_family(names: list[Name], base: str, rng: random.Random) -> str:
    """ "access switches 1, 2 and 3" / "access switch 1 and 2" - several numbered devices in one phrase."""
    nums = [n.words.rsplit(" ", 1)[1] for n in names]
    plural = base + ("es" if base.endswith(("s", "x", "ch", "sh")) else "s")
    head = rng.choice([plural, base])
    if len(nums) >= 3 and rng.random() < 0.4 and int(nums[-1]) - int(nums[0]) == len(nums) - 1:
        return f"{head} {nums[0]} {rng.choice(['to', 'through', '-'])} {nums[-1]}".replace(" - ", "-")
    return f"{head} {listing(nums, rng)}"


# ----------------------------------------------------------------------------- relations
# A form is (3rd person singular, plural, who the subject is): "t" = the edge's tail, "h" = its head.
ARCH_FORMS = [("calls", "call", "t"), ("sends requests to", "send requests to", "t"), ("talks to", "talk to", "t"),
              ("forwards to", "forward to", "t"), ("reads from", "read from", "t"), ("writes to", "write to", "t"),
              ("is called by", "are called by", "h"), ("publishes to", "publish to", "t"),
              ("queries", "query", "t"), ("depends on", "depend on", "t"), ("sits behind", "sit behind", "h"),
              ("routes traffic to", "route traffic to", "t"), ("gets requests from", "get requests from", "h"),
              ("is queried by", "are queried by", "h"), ("pushes events to", "push events to", "t"),
              ("is used by", "are used by", "h"), ("hands off to", "hand off to", "t"),
              ("triggers", "trigger", "t"), ("is run by", "are run by", "h"), ("uses", "use", "t"),
              ("is fronted by", "are fronted by", "h"), ("proxies to", "proxy to", "t"),
              ("receives traffic from", "receive traffic from", "h"), ("is triggered by", "are triggered by", "h"),
              ("connects to", "connect to", "t")]
DEP_FORMS = [("depends on", "depend on", "t"), ("imports", "import", "t"), ("uses", "use", "t"),
             ("requires", "require", "t"), ("is imported by", "are imported by", "h"), ("needs", "need", "t"),
             ("relies on", "rely on", "t"), ("is used by", "are used by", "h"), ("pulls in", "pull in", "t"),
             ("is required by", "are required by", "h"), ("is a dependency of", "are dependencies of", "h"),
             ("builds on", "build on", "t"), ("links against", "link against", "t"),
             ("is needed by", "are needed by", "h"), ("loads", "load", "t")]
ORG_FORMS = [("manages", "manage", "t"), ("reports to", "report to", "h"), ("supervises", "supervise", "t"),
             ("works under", "work under", "h"), ("leads", "lead", "t"), ("is managed by", "are managed by", "h"),
             ("answers to", "answer to", "h"), ("oversees", "oversee", "t"), ("is led by", "are led by", "h"),
             ("is in charge of", "are in charge of", "t"), ("sits under", "sit under", "h"),
             ("is supervised by", "are supervised by", "h"), ("is the manager of", "are the managers of", "t"),
             ("reports directly to", "report directly to", "h"), ("runs", "run", "t")]
TAXO_FORMS = [("includes", "include", "t"), ("is a kind of", "are kinds of", "h"), ("contains", "contain", "t"),
              ("belongs to", "belong to", "h"), ("falls under", "fall under", "h"),
              ("breaks down into", "break down into", "t"), ("is part of", "are part of", "h"),
              ("is a subcategory of", "are subcategories of", "h"), ("is divided into", "are divided into", "t"),
              ("covers", "cover", "t"), ("is a type of", "are types of", "h"), ("groups", "group", "t")]
CLASS_FORMS = [("inherits from", "inherit from", "t"), ("extends", "extend", "t"),
               ("is a subclass of", "are subclasses of", "t"), ("derives from", "derive from", "t"),
               ("is extended by", "are extended by", "h"), ("is a kind of", "are kinds of", "t"),
               ("is the base class of", "are base classes of", "h"), ("specialises", "specialise", "t"),
               ("is the parent class of", "are parent classes of", "h"), ("is a", "are", "t"),
               ("is inherited by", "are inherited by", "h"), ("subclasses", "subclass", "t")]
FLOW_FORMS = [("feeds", "feed", "t"), ("flows into", "flow into", "t"), ("is loaded into", "are loaded into", "t"),
              ("is sent to", "are sent to", "t"), ("reads from", "read from", "h"), ("streams into", "stream into", "t"),
              ("is copied to", "are copied to", "t"), ("pulls from", "pull from", "h"), ("consumes", "consume", "h"),
              ("lands in", "land in", "t"), ("is fed by", "are fed by", "h"), ("ingests", "ingest", "h"),
              ("gets its data from", "get their data from", "h"), ("is populated from", "are populated from", "h"),
              ("goes into", "go into", "t"), ("is exported to", "are exported to", "t"),
              ("is built from", "are built from", "h"), ("pushes to", "push to", "t"), ("writes into", "write into", "t"),
              ("is refreshed from", "are refreshed from", "h")]
NET_FORMS = [("is connected to", "are connected to", "t"), ("links to", "link to", "t"),
             ("is wired to", "are wired to", "t"), ("connects to", "connect to", "t"), ("uplinks to", "uplink to", "t"),
             ("is cabled to", "are cabled to", "t"), ("peers with", "peer with", "t"), ("is linked with", "are linked with", "t"),
             ("has a link to", "have links to", "t"), ("is attached to", "are attached to", "t"),
             ("plugs into", "plug into", "t"), ("is plugged into", "are plugged into", "t")]
SOCIAL_FORMS = [("knows", "know", "t"), ("is friends with", "are friends with", "t"), ("works with", "work with", "t"),
                ("talks to", "talk to", "t"), ("is married to", "are married to", "t"),
                ("follows", "follow", "t"), ("is in touch with", "are in touch with", "t")]
BASIC_FORMS = [("points to", "point to", "t"), ("goes to", "go to", "t"), ("leads to", "lead to", "t"),
               ("connects to", "connect to", "t"), ("has an edge to", "have edges to", "t"),
               ("is pointed to by", "are pointed to by", "h"), ("is reached from", "are reached from", "h"),
               ("links to", "link to", "t"), ("gets an arrow from", "get arrows from", "h"), ("feeds", "feed", "t"),
               ("sends to", "send to", "t"), ("receives from", "receive from", "h")]


def fan_groups(rng: random.Random, names: list, max_edges: int = 12, tree: bool = False
               ) -> list[tuple[str, object, list]]:
    """Random groups ("out", anchor, others) = anchor -> each other; ("in", anchor, others) = each other -> anchor.
    Every name is used; anchors are names already placed, so the graph is connected."""
    placed = [names[0]]
    rest = names[1:]
    groups: list[tuple[str, object, list]] = []
    edges: set = set()
    while rest and len(edges) < max_edges:
        typ = rng.choice(["out", "out", "in", "in", "one", "one"])
        k = 1 if typ == "one" else min(len(rest), rng.choice([2, 2, 2, 3, 3, 4]))
        anchor = rng.choice(placed[-3:]) if rng.random() < 0.7 else rng.choice(placed)
        new = rest[:k]
        rest = rest[k:]
        if typ == "one" or tree:
            typ = "out" if tree else rng.choice(["out", "in"])
        groups.append((typ, anchor, new))
        placed += new
        edges |= {(anchor, x) for x in new}
    # a few edges between names already placed (so fan-in also hits existing nodes)
    if len(names) > 3 and rng.random() < 0.4 and not tree:
        a, b = rng.sample(names, 2)
        if (a, b) not in edges and (b, a) not in edges:
            groups.append(("out", a, [b]))
    return groups


class Clauses:
    """Say fan groups with relation forms; collect the edges in the order they are said."""

    def __init__(self, rng, split, g: Graph, forms, voice: Voice, pronoun: str | None, directed: bool = True,
                 families: dict | None = None):
        self.rng, self.split, self.g, self.forms, self.voice = rng, split, g, forms, voice
        self.pronoun, self.directed = pronoun, directed
        self.families = families or {}

    def say(self, n, start=False) -> str:  # paragraph() capitalises sentence starts
        return self.voice.say(n, self.rng, False)

    def say_many(self, ns: list, start=False) -> str:
        fam = self.families.get(tuple(x.id for x in ns))
        if fam:
            return ("the " if self.rng.random() < 0.5 else "") + mention_family(ns, fam, self.rng)
        parts = [self.say(x, start and i == 0) for i, x in enumerate(ns)]
        return listing(parts, self.rng)

    def edge(self, tail, head) -> None:
        self.g.edge(tail.id, head.id)

    def group(self, typ: str, anchor, others: list) -> str:
        """One clause for a fan group. typ "out": anchor is every edge's tail; "in": every edge's head."""
        rng = self.rng
        anchor_is_tail = typ == "out"
        # subject: the anchor (singular verb) or the others (plural when more than one)
        subj_anchor = rng.random() < 0.55
        want_role = ("t" if anchor_is_tail else "h") if subj_anchor else ("h" if anchor_is_tail else "t")
        if not self.directed:
            want_role = "t"
        forms = [f for f in self.forms if f[2] == want_role] or self.forms
        v3, vp, _ = rng.choice(forms)  # every relation form in every split (the names are what is held out)
        for o in others:
            if anchor_is_tail:
                self.edge(anchor, o)
            else:
                self.edge(o, anchor)
        self.last = anchor if not subj_anchor else others[-1]
        if subj_anchor:
            subj = self.say(anchor, True)
            if len(others) == 1:
                return f"{subj} {v3} {self.say(others[0])}"
            objs = [self.say(o) for o in others]
            shape = pick(rng, ["list", "both", "also", "pron", "list", "each", "list", "fam"], self.split)
            if shape == "both" and len(others) == 2:
                return f"{subj} {v3} both {objs[0]} and {objs[1]}"
            if shape == "also":
                return f"{subj} {v3} {listing(objs[:-1], rng)}, and also {objs[-1]}"
            if shape == "pron" and self.pronoun:
                also = f"is also {v3[3:]}" if v3.startswith("is ") else f"also {v3}"
                return f"{subj} {v3} {listing(objs[:-1], rng)}; {self.pronoun} {also} {objs[-1]}"
            if shape == "each" and len(others) > 2:
                return f"{subj} {v3} each of {listing(objs, rng)}"
            return f"{subj} {v3} {self.say_many(others)}"
        # the others are the subject
        obj = self.say(anchor)
        if len(others) == 1:
            return f"{self.say(others[0], True)} {v3} {obj}"
        subj = self.say_many(others, True)
        shape = pick(rng, ["plain", "both", "all", "each", "plain", "aswell", "all"], self.split)
        if shape == "both" and len(others) == 2:
            a, b = self.say(others[0]), self.say(others[1])
            return rng.choice([f"Both {a} and {b} {vp} {obj}", f"{a} and {b} both {vp} {obj}"])
        if shape == "all" and len(others) > 2:
            return f"{subj} all {vp} {obj}"
        if shape == "each":
            return f"{subj} each {v3} {obj}"
        if shape == "aswell" and len(others) == 2:
            a, b = self.say(others[0], True), self.say(others[1])
            return f"{a}, as well as {b}, {v3} {obj}"
        return f"{subj} {vp} {obj}"


JOINERS = [". ", ". ", ". Also, ", ". ", "; ", ". In addition, ", ". ", ".\n", ". On top of that, ", ". Then "]


def paragraph(rng, split, clauses: list[str], bullets_ok: bool = True) -> str:
    if bullets_ok and rng.random() < 0.2:
        mark = rng.choice(["- ", "* ", "• "])
        return "\n".join(mark + _cap(c) + rng.choice(["", "", "."]) for c in clauses)
    out = _cap(clauses[0])
    for c in clauses[1:]:
        j = rng.choice(JOINERS)
        out += j + (c if j.endswith((", ", "Then ", "; ")) else _cap(c))
    return out + "."


def relational(rng, split, kind, names, forms, pronoun, directed=True, families=None, max_edges=12, tree=False):
    g = Graph(directed=directed)
    voice = Voice(rng)
    cl = Clauses(rng, split, g, forms, voice, pronoun, directed, families)
    groups = fan_groups(rng, names, max_edges, tree)
    texts = []
    rel = "who" if kind == "org" else "which"
    last = None
    for typ, anchor, others in groups:
        # ", which calls X": continue the previous clause when it ended with this group's anchor
        if texts and typ == "out" and len(others) <= 2 and last is anchor and rng.random() < 0.5:
            v3, _, _ = pick(rng, [f for f in forms if f[2] == "t"], split)
            for o in others:
                g.edge(anchor.id, o.id)
            texts[-1] += f", {rel} {'in turn ' if rng.random() < 0.2 else ''}{v3} {cl.say_many(others)}"
            last = others[-1]
            continue
        texts.append(cl.group(typ, anchor, others))
        last = cl.last
    return g, paragraph(rng, split, texts)


# ----------------------------------------------------------------------------- relational kinds

def _mix_services(rng, split, n):
    names = names_from(rng, split, "p_component", n, True, title=rng.choice([0, 0, 0.3, 1.0]))
    k = rng.choice([0, 0, 1, 2])
    names = names[:n - k] + names_from(rng, split, "p_proper", k, False, proper=True)
    families = {}
    if rng.random() < 0.3 and n >= 4:
        fam, base = numbered(rng, split, rng.choice([2, 2, 3]))
        names = names[:n - len(fam)] + fam
        families[tuple(x.id for x in fam)] = base
    rng.shuffle(names)
    return _dedupe(names), families


def _dedupe(names):
    seen, out = set(), []
    for x in names:
        if x.id not in seen and x.id:
            seen.add(x.id)
            out.append(x)
    return out


def _fam_order(names, families):
    """Keep a numbered family contiguous at the end so a fan group can take it whole."""
    fam_ids = {i for k in families for i in k}
    return [x for x in names if x.id not in fam_ids] + [x for x in names if x.id in fam_ids]


def p_architecture(rng, split):
    n = rng.randint(3, 9)
    names, fams = _mix_services(rng, split, n)
    names = _fam_order(names, fams)
    if fams:  # a family is said as one phrase: make it one fan group
        fam = [x for x in names if any(x.id in k for k in fams)]
        head = [x for x in names if x not in fam]
        g = Graph()
        voice = Voice(rng)
        cl = Clauses(rng, split, g, ARCH_FORMS, voice, "it", True, fams)
        hub = head[0]
        texts = [cl.group(rng.choice(["out", "in"]), hub, fam)]
        if len(head) > 1:
            for typ, a, o in fan_groups(rng, head):
                texts.append(cl.group(typ, a, o))
        rng.shuffle(texts) if rng.random() < 0.2 else None
        return "architecture", paragraph(rng, split, texts), g
    g, text = relational(rng, split, "architecture", names, ARCH_FORMS, "it")
    return "architecture", text, g


def p_dependency(rng, split):
    n = rng.randint(3, 9)
    suffix = rng.choice(["", "", " module", " package", " library", " crate", " service"])
    base = [" ".join(w.split()) for w in rng.sample(pool("module", split), n)]
    names = [Name(w + suffix, snake(w + suffix), bool(suffix) or rng.random() < 0.3) for w in base]
    g, text = relational(rng, split, "dependency", _dedupe(names), DEP_FORMS, "it")
    return "dependency", text, g


def p_org(rng, split):
    n = rng.randint(3, 10)
    k = rng.randint(0, n)
    names = names_from(rng, split, "role", n - k, True, title=rng.choice([0, 0.5])) + \
        names_from(rng, split, "p_person", k, False, person=True, proper=True)
    rng.shuffle(names)
    if rng.random() < 0.3:
        names = names[:n - 2] + names_from(rng, split, "p_team", 2, rng.random() < 0.5)
    names = _dedupe(names)
    pron = None
    g, text = relational(rng, split, "org", names, ORG_FORMS, pron, tree=True)
    return "tree", text, g


def p_taxonomy(rng, split):
    n = rng.randint(3, 10)
    names = names_from(rng, split, "taxon", n, False)
    g, text = relational(rng, split, "tree", names, TAXO_FORMS, "it", tree=True)
    return "tree", text, g


def p_classes(rng, split):
    n = rng.randint(2, 8)
    base = [" ".join(w.split()) for w in rng.sample(pool("cls", split), n)]
    if rng.random() < 0.5:
        names = [Name("".join(w[:1].upper() + w[1:] for w in b.split()),
                      "".join(w[:1].upper() + w[1:] for w in b.split()), False) for b in base]
    else:
        names = [Name(b, snake(b), True) for b in base]
    # edges subclass -> base: the first name is the root; "out" groups from it must read as "in" (children -> it)
    g = Graph()
    voice = Voice(rng)
    if voice.dets == [""] or voice.dets == ["our "] or "our " in voice.dets:
        voice.dets = ["a ", "the ", ""]
    cl = Clauses(rng, split, g, CLASS_FORMS, voice, "it")
    texts = []
    for typ, anchor, others in fan_groups(rng, names, tree=True):
        texts.append(cl.group("in", anchor, others))  # others (subclasses) -> anchor (base)
    return "class_hierarchy", paragraph(rng, split, texts), g


def p_dataflow(rng, split):
    n = rng.randint(3, 8)
    k = rng.choice([0, 1, 1, 2])
    names = names_from(rng, split, "p_data", n - k, True) + names_from(rng, split, "p_proper", k, False, proper=True)
    rng.shuffle(names)
    g, text = relational(rng, split, "pipeline", _dedupe(names), FLOW_FORMS, "it")
    return "pipeline", text, g


def p_network(rng, split):
    n = rng.randint(3, 9)
    social = rng.random() < 0.25
    if social:
        names = names_from(rng, split, "p_person", n, False, person=True, proper=True)
        g, text = relational(rng, split, "network", names, SOCIAL_FORMS, None, directed=False)
        return "network", text, g
    fam, base = numbered(rng, split, rng.randint(2, 4))
    others = names_from(rng, split, "p_device", n, True)
    others = [x for x in others if not x.id.startswith(snake(base))][:max(1, n - len(fam))]
    g = Graph(directed=False)
    voice = Voice(rng)
    fams = {tuple(x.id for x in fam): base}
    cl = Clauses(rng, split, g, NET_FORMS, voice, "it", False, fams)
    hub = others[0]
    texts = [cl.group("in", hub, fam) if rng.random() < 0.6 else cl.group("out", hub, fam)]
    if len(others) > 1:
        for typ, a, o in fan_groups(rng, others):
            texts.append(cl.group(typ, a, o))
    if rng.random() < 0.5:
        texts = texts[1:] + texts[:1]
        g.edges = g.edges[len(fam):] + g.edges[:len(fam)]
    return "network", paragraph(rng, split, texts), g


def p_basic(rng, split):
    n = rng.randint(3, 8)
    letters = [c for c in pool("letter", split) if not c.isdigit()]
    if split == "train":
        fam = rng.choice(["upper", "upper", "upper", "n"])
        letters = {"upper": [c for c in letters if len(c) == 1],
                   "lower": [c.lower() for c in letters if len(c) == 1],
                   "n": [c for c in letters if c.startswith("n")]}[fam]
    chosen = sorted(rng.sample(letters, min(n, len(letters))), key=lambda s: (len(s), s))
    names = [Name(x, x, False) for x in chosen]
    directed = rng.random() < 0.8
    g, text = relational(rng, split, "basic", names, BASIC_FORMS if directed else NET_FORMS, None, directed)
    return "basic", text, g


# ----------------------------------------------------------------------------- chains, branches, decisions

def _steps(rng, split, n):
    verbs = names_from(rng, split, "p_step_verb", n, False)
    for v in verbs:
        v.verb = True
    nouns = names_from(rng, split, "p_step_noun", n, True)
    share = rng.choice([0.0, 0.3, 0.5, 1.0])
    out = _dedupe([nouns[i] if rng.random() < share and i < len(nouns) else verbs[i] for i in range(len(verbs))])
    return out


# pick() holds out positions 4 and 9 from train: keep the shapes train must see elsewhere
CHAIN_SHAPES = ["first_then", "after_comes", "followed", "start_after", "next", "once_done", "needs",
                "then_list", "inverted", "arrows_prose"]


def say_chain(rng, split, voice, steps: list[Name], g: Graph, shape: str | None = None) -> str:
    """A path in one of many prose shapes; edges added in path order."""
    s = [voice.say(x, rng) for x in steps]
    for a, b in zip(steps, steps[1:]):
        g.edge(a.id, b.id)
    # shapes that read well with imperative step names ("after deploy to staging comes manual approval")
    verb_ok = ["first_then", "start_after", "once_done", "then_list", "arrows_prose", "after_comes", "inverted"]
    if shape is None:
        shape = pick(rng, CHAIN_SHAPES if not any(x.verb for x in steps) else verb_ok, split)
    elif any(x.verb for x in steps) and shape not in verb_ok:
        shape = rng.choice(["once_done", "then_list", "after_comes"] if shape != "first_then" else verb_ok)
    up = lambda t: t[:1].upper() + t[1:]  # noqa: E731
    if shape == "first_then":
        mid = ", then ".join(s[1:-1])
        return f"First {s[0]}, then " + (mid + ", and finally " if mid else "") + s[-1] + "."
    if shape == "after_comes":
        return " ".join(f"After {a} comes {b}." for a, b in zip(s, s[1:]))
    if shape == "followed":
        t = f"{up(s[0])} is followed by {s[1]}"
        for b in s[2:]:
            t += f", which is followed by {b}" if rng.random() < 0.5 else f", then {b}"
        return t + "."
    if shape == "start_after":
        out = [f"Start with {s[0]}."] + [f"{rng.choice(['After that', 'Next', 'Then', 'Afterwards'])}, {b}."
                                          for b in s[1:-1]]
        return " ".join(out + [f"{rng.choice(['Finally', 'Last', 'At the end'])}, {s[-1]}."])
    if shape == "arrows_prose":
        return f"The steps go {s[0]}" + "".join(f", then {b}" for b in s[1:]) + "."
    if shape == "once_done":
        return " ".join(f"Once {a} is done, {b}." for a, b in zip(s, s[1:]))
    if shape == "needs":  # inverted: the later step is the subject
        return " ".join(f"{up(b)} {rng.choice(['needs', 'requires', 'waits for', 'depends on'])} {a} first."
                        if rng.random() < 0.5 else f"Before {b}, we do {a}."
                        for a, b in zip(s, s[1:]))
    if shape == "then_list":
        return rng.choice(["Steps: ", "Order: ", "", "The flow is: "]) + ", then ".join(s) + "."
    if shape == "next":
        return " ".join(f"{up(a)} leads to {b}." if rng.random() < 0.5 else f"{up(a)} goes straight to {b}."
                        for a, b in zip(s, s[1:]))
    # inverted order in the text: "C comes after B, and B comes after A"
    pairs = list(zip(s, s[1:]))
    return up("; ".join(f"{b} comes after {a}" for a, b in reversed(pairs))) + "."


def p_process(rng, split):
    """Chains, parallel branches that rejoin, and 'both X and Y then ...' fan-in."""
    voice = Voice(rng)
    n = rng.randint(3, 8)
    st = _steps(rng, split, n + 3)
    g = Graph()
    parts = []
    if len(st) >= 5 and rng.random() < 0.5:
        a, b, c, d = st[:4]
        tail = st[4:4 + rng.randint(0, 2)]
        sa, sb, sc, sd = (voice.say(x, rng) for x in (a, b, c, d))
        if rng.random() < 0.4:
            pre = st[4 + len(tail):4 + len(tail) + rng.randint(1, 2)]
            if pre:
                parts.append(say_chain(rng, split, voice, pre + [a], g))
        for x in (b, c):
            g.edge(a.id, x.id)
        for x in (b, c):
            g.edge(x.id, d.id)
        split_s = pick(rng, [f"After {sa}, {sb} and {sc} happen in parallel.", f"{sa[:1].upper() + sa[1:]} kicks off both {sb} and {sc}.",
                             f"{sa[:1].upper() + sa[1:]} branches into {sb} and {sc}.",
                             f"Then {sb} and {sc} run in parallel, both starting from {sa}.",
                             f"When {sa} is finished, it goes to {sb} and to {sc}.",
                             f"{sa[:1].upper() + sa[1:]} hands off to {sb} as well as {sc}."], split)
        join_s = pick(rng, [f"Once both are done, {sd}.", f"Both {sb} and {sc} then lead to {sd}.",
                            f"{sb[:1].upper() + sb[1:]} and {sc} both feed into {sd}.",
                            f"When {sb} and {sc} are finished, {sd} starts.",
                            f"{sd[:1].upper() + sd[1:]} waits for both of them.",
                            f"Both branches end in {sd}.", f"After either one, {sd}." ], split)
        parts += [split_s, join_s]
        if tail:
            prev = d
            for x in tail:
                g.edge(prev.id, x.id)
                prev = x
            ts = [voice.say(x, rng) for x in tail]
            parts.append(rng.choice(["Then ", "After that, ", "Afterwards: ", "Next, "]) + ", then ".join(ts) + ".")
    else:
        parts.append(say_chain(rng, split, voice, st[:n], g))
        if rng.random() < 0.25 and n >= 4:  # a loop back
            i, j = sorted(rng.sample(range(n), 2), reverse=True)
            if i - j >= 1:
                g.edge(st[i].id, st[j].id)
                parts.append(pick(rng, [f"If something is wrong at {voice.say(st[i], rng)}, go back to {voice.say(st[j], rng)}.",
                                        f"From {voice.say(st[i], rng)} it can also return to {voice.say(st[j], rng)}.",
                                        f"{_cap(voice.say(st[i], rng))} may loop back to {voice.say(st[j], rng)}."], split))
    kind = rng.choice(["process", "process", "pipeline"])
    return kind, " ".join(parts) if rng.random() < 0.7 else "\n".join(parts), g


def _cap(t: str) -> str:
    return t[:1].upper() + t[1:]


def p_flowchart(rng, split):
    """Steps with one or two decisions: an explicit question node, or outcome labels on a step's two edges."""
    voice = Voice(rng)
    st = _steps(rng, split, 9)
    conds = pool("p_cond", split)
    outcomes = [tuple(x.split(" / ")) for x in pool("p_outcome", split)]
    g = Graph()
    parts = []
    i = 0
    ends = rng.random() < 0.3
    prev = None
    if ends:
        prev = Name("Start", "start", False)
        parts.append(rng.choice(["The flow begins at Start.", "Begin at a Start node.", "Start node first."]))
    for k in range(rng.choice([1, 1, 2])):
        run = st[i:i + rng.randint(1, 2)]
        i += len(run)
        if prev is not None:
            run = [prev] + run
        if len(run) > 1:
            cont = ["after_comes", "followed", "once_done", "next", "then_list"]
            parts.append(say_chain(rng, split, voice, run, g, rng.choice(cont if prev else ["first_then"] + cont)))
        last = run[-1]
        if len(run) == 1:
            parts.append(f"{rng.choice(['Start with', 'It begins with', 'First,', 'The first step is'])} "
                         f"{voice.say(last, rng)}.")
        yes, no = st[i], st[i + 1] if rng.random() < 0.7 else run[0]
        i += 2 if no is not run[0] else 1
        L, Y, N = voice.say(last, rng), voice.say(yes, rng), voice.say(no, rng)
        back = "go back to" if no is run[0] else "go to"
        if rng.random() < 0.55:
            cw = rng.choice(conds)
            c = Name(cw, snake(cw), False)
            g.edge(last.id, c.id)
            g.edge(c.id, yes.id, label="yes")
            g.edge(c.id, no.id, label="no")
            parts.append(pick(rng, [
                f"After {L}, check whether {cw}: if so, {Y}; otherwise {back} {N}.",
                f"Then, is {cw}? If yes, {Y}. If no, {back} {N}.",
                f"{_cap(L)} leads to a decision, {cw}? Yes goes to {Y}, no goes to {N}.",
                f"After {L} we ask \"{cw}?\" - if yes we {'go to ' if rng.random() < .5 else ''}{Y}, otherwise {N}.",
                f"Next check {cw}. If it is true, {Y}; if not, {back} {N}.",
                f"{_cap(L)} goes to the check \"{cw}\". If {cw}, continue with {Y}, else {N}.",
                f"After {L}: if {cw}, {Y}, otherwise {N} (label the branches yes and no).",
                f"Once {L} is done, decide {cw}. On yes, {Y}. On no, {back} {N}.",
                f"{_cap(L)}, then a decision node {cw}: yes -> {Y}, no -> {N}.",
                f"Check {cw} after {L}; if yes go to {Y}, if not go to {N}.",
            ], split))
        else:
            ok, bad = rng.choice(outcomes)
            g.edge(last.id, yes.id, label=ok)
            g.edge(last.id, no.id, label=bad)
            parts.append(pick(rng, ([] if last.verb else [
                f"If {L} is {ok}, go to {Y}; if it is {bad}, {back} {N}."]) + [
                f"After {L}: if {ok}, {Y}; if {bad}, {back} {N}.",
                f"{_cap(L)}: on {ok}, {Y}; on {bad}, {N}.",
                f"After {L}, {ok} leads to {Y} and {bad} leads to {N}. Label those edges {ok} and {bad}.",
                f"From {L}, if the result is {ok} we continue to {Y}, and if it is {bad} we {back} {N}.",
                f"{_cap(L)} either ends {ok}, then {Y}, or {bad}, then {N}.",
                f"{_cap(L)} has two outcomes: {ok} (go to {Y}) or {bad} (go to {N}).",
                f"When {L} comes back {ok}, {Y}. When it comes back {bad}, {N}.",
            ], split))
        prev = yes
    if ends:
        g.edge(prev.id, "end")
        parts.append(rng.choice([f"{_cap(voice.say(prev, rng))} ends at End.", f"After {voice.say(prev, rng)}, End.",
                                 f"{_cap(voice.say(prev, rng))} is the last step before End."]))
    return "flowchart", (" " if rng.random() < 0.6 else "\n").join(parts), g


# ----------------------------------------------------------------------------- state machines with events in prose

GER_DOUBLE = {"stop", "ship", "plan", "drop", "spin", "submit", "grab", "tap", "step", "jog", "plug", "chat"}
VERB_EVENTS = {"start", "stop", "pause", "resume", "reset", "press", "release", "select", "cancel", "confirm",
               "submit", "approve", "reject", "publish", "archive", "pay", "ship", "deliver", "refund", "retry",
               "connect", "disconnect", "open", "close", "lock", "unlock", "arm", "disarm", "charge", "heat", "cool",
               "wake", "jump", "land", "quit", "join", "leave", "dial", "answer", "hold", "mute", "unmute", "play",
               "eject", "insert", "fill", "drain", "spin", "rinse", "dry", "brew", "grind", "dispense", "expire",
               "renew", "recover", "schedule", "complete", "abort", "assign", "block", "unblock", "resolve",
               "reopen", "escalate", "snooze", "feed", "hunt", "flee", "brake", "accelerate", "arrive", "depart",
               "provision", "degrade", "queue", "login", "logout", "sleep", "trigger", "fail", "succeed", "win",
               "lose", "die", "respawn", "hit"}
THINGS = ["it", "the machine", "the device", "the order", "the ticket", "the player", "the door", "the account",
          "the job", "the system", "the app", "the robot", "the connection", "the request"]


def gerund(v: str) -> str:
    head, _, rest = v.partition(" ")
    if head in GER_DOUBLE:
        g = head + head[-1] + "ing"
    elif head.endswith("ie"):
        g = head[:-2] + "ying"
    elif head.endswith("e") and not head.endswith(("ee", "ye")):
        g = head[:-1] + "ing"
    else:
        g = head + "ing"
    return g + (" " + rest if rest else "")


def _an(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def p_state_machine(rng, split):
    n = rng.randint(2, 7)
    states = names_from(rng, split, "state", n, False)
    evs = pool("event", split)
    verb_evs = [e for e in evs if e in VERB_EVENTS]
    thing = rng.choice(THINGS)
    g = Graph()
    es = [(states[i], states[i + 1]) for i in range(len(states) - 1)]
    for _ in range(rng.randint(0, 3)):
        a, b = rng.choice(states), rng.choice(states)
        if (a, b) not in es:
            es.append((a, b))
    parts = []
    if rng.random() < 0.4:
        parts.append(rng.choice([f"{_cap(thing)} starts in {states[0].words}.", f"Initially {thing} is {states[0].words}.",
                                 f"The initial state is {states[0].words}."]))
    i = 0
    while i < len(es):
        a, b = es[i]
        ev = rng.choice(verb_evs if rng.random() < 0.6 and verb_evs else evs)
        A, B = a.words, b.words
        # fan-out from one state with two events in one sentence
        if i + 1 < len(es) and es[i + 1][0] is a and es[i + 1][1] is not b and rng.random() < 0.5:
            c = es[i + 1][1]
            ev2 = rng.choice([e for e in evs if e != ev])
            g.edge(a.id, b.id, label=ev)
            g.edge(a.id, c.id, label=ev2)
            parts.append(pick(rng, [f"From {A}, {ev} goes to {B} and {ev2} goes to {c.words}.",
                                    f"In {A}, {ev} leads to {B}, while {ev2} leads to {c.words}.",
                                    f"While {A}, a {ev} event moves it to {B}; a {ev2} event moves it to {c.words}.",
                                    f"{_cap(A)} has two ways out: {ev} to {B}, {ev2} to {c.words}.",
                                    f"When {A}, {ev} takes it to {B} whereas {ev2} takes it to {c.words}."], split))
            i += 2
            continue
        g.edge(a.id, b.id, label=ev)
        tpls = [f"On {ev}, {A} becomes {B}.", f"The {ev} event takes it from {A} to {B}.",
                f"Pressing {ev} moves it from {A} to {B}.", f"In {A}, a {ev} sends it to {B}.",
                f"{_cap(A)} goes to {B} when {ev} happens.", f"If {thing} is {A} and gets {ev}, it goes to {B}.",
                f"Receiving {ev} while {A} makes it {B}.", f"{_cap(ev)} moves {thing} out of {A} into {B}.",
                f"From {A}, {ev} leads to {B}.", f"When {ev} arrives in {A}, switch to {B}.",
                f"A {ev} in the {A} state goes to {B}.", f"{_cap(A)} changes to {B} on {ev}."]
        if ev in verb_evs:
            gv = gerund(ev)
            tpls += [f"{_cap(gv)} moves it from {A} to {B}.",
                     f"After {gv}, {A} turns into {B}.", f"You can {ev} when it is {A}, which makes it {B}.",
                     f"{_cap(gv)} takes {thing} from {A} to {B}.", f"If you {ev} while {A}, it becomes {B}."]
            if thing != "it":
                tpls.append(f"{_cap(gv)} {_an(A)} {thing.split(' ', 1)[1]} makes it {B}.")
        parts.append(pick(rng, tpls, split))
        i += 1
    if rng.random() < 0.15:  # fan-in, one event from several states
        srcs = [s for s in states if s is not states[0]][:2]
        if len(srcs) == 2 and all((s, states[0]) not in es for s in srcs):
            ev = rng.choice(evs)
            for s in srcs:
                g.edge(s.id, states[0].id, label=ev)
            parts.append(pick(rng, [f"Both {srcs[0].words} and {srcs[1].words} go back to {states[0].words} on {ev}.",
                                    f"{ev} returns {srcs[0].words} and {srcs[1].words} to {states[0].words}.",
                                    f"From either {srcs[0].words} or {srcs[1].words}, {ev} leads to {states[0].words}.",
                                    f"{_cap(srcs[0].words)} and {srcs[1].words} both go to {states[0].words} when {ev} happens."], split))
    return "state_machine", (" " if rng.random() < 0.7 else "\n").join(parts), g


# ----------------------------------------------------------------------------- the source

BUILDERS = {"architecture": (p_architecture, 1.2), "dependency": (p_dependency, 0.8), "org": (p_org, 1.0),
            "taxonomy": (p_taxonomy, 0.5), "classes": (p_classes, 0.7), "dataflow": (p_dataflow, 0.9),
            "network": (p_network, 0.9), "basic": (p_basic, 0.8), "process": (p_process, 1.2),
            "flowchart": (p_flowchart, 1.2), "state_machine": (p_state_machine, 1.1)}
NOUNS = {"architecture": ["architecture diagram", "system diagram", "service map"],
         "dependency": ["dependency graph", "module dependency diagram"], "tree": ["org chart", "hierarchy", "tree"],
         "class_hierarchy": ["class diagram", "inheritance diagram"], "pipeline": ["data flow diagram", "pipeline"],
         "network": ["network diagram", "undirected graph", "topology"], "basic": ["graph", "diagram"],
         "process": ["process diagram", "workflow", "flow diagram"], "flowchart": ["flowchart", "decision flow"],
         "state_machine": ["state machine", "state diagram", "FSM"]}
PLAIN_INTROS = ["Here's how it works:", "Our setup:", "So basically,", "Context:", "Description:",
                "In plain words:", "This is what I have:", "Picture this:", "The situation:", "Quick summary:"]
ASKS = ["Draw this as a graph.", "Can you turn that into DOT?", "Make a Graphviz diagram of it.",
        "Please draw it with Graphviz.", "DOT please.", "Give me the DOT for this.",
        "Use snake_case node names.", "Write it as a digraph.", "Diagram that for me.", "Graphviz, please.",
        "Turn this into a diagram.", "Render it in the DOT language.", "I want a DOT graph of this.",
        "Could you draw that?", "Node ids in snake_case, please."]


def prose_record(rng: random.Random, split: str) -> tuple[str, str, Graph]:
    keys = list(BUILDERS)
    key = rng.choices(keys, weights=[BUILDERS[k][1] for k in keys])[0]
    kind, text, g = BUILDERS[key][0](rng, split)
    return kind, text.strip(), g


def intro_or_ask(rng: random.Random, kind: str, split: str) -> tuple[str, str]:
    """(before, after): an ask before the description, after it, or a plain lead-in plus an ask."""
    noun = rng.choice(NOUNS.get(kind, ["graph"]))
    r = rng.random()
    if r < 0.45:
        t = pick(rng, GENERIC_INTROS, split)
        t = t.replace("{N}", noun[:1].upper() + noun[1:]).replace("{n}", noun)
        return re.sub(r"\b([Aa]) ([aeiou])", r"\1n \2", t), ""
    if r < 0.8:
        return "", pick(rng, ASKS, split)
    return pick(rng, PLAIN_INTROS, split), pick(rng, ASKS, split)


# ----------------------------------------------------------------------------- nl / docs records

def gen_prose(rng: random.Random, split: str, source: str) -> tuple[str, str, Graph]:
    """A v3 record for source "nl" or "docs": (kind, prompt, graph)."""
    from .sources import DOC_HEADINGS, DOC_INSTR, CLOSERS  # late: sources imports the kinds
    from .text import Spec, assemble, options
    kind, text, g = prose_record(rng, split)
    spec = Spec(kind=kind, g=g, nouns=[], verbs=[])
    if source == "nl":
        before, after = intro_or_ask(rng, kind, split)
        opts = options(rng, spec, split, p=0.2)
        return kind, assemble(rng, [before, text, after] + opts + [rng.choice(CLOSERS)]), g
    head = rng.choice(DOC_HEADINGS.get(kind, ["Overview"]))
    fmt = pick(rng, ["readme", "docstring", "comment", "wiki", "notes"], split)
    if fmt == "readme":
        txt = f"## {head}\n\n{text}"
    elif fmt == "docstring":
        txt = f'"""{head}.\n\n' + "\n".join("    " + ln for ln in text.split("\n")) + '\n"""'
    elif fmt == "comment":
        txt = "\n".join("# " + ln for ln in [head, ""] + text.split("\n"))
    elif fmt == "wiki":
        txt = f"= {head} =\n{text}"
    else:
        txt = f"{head}:\n{text}"
    ins = pick(rng, DOC_INSTR, split)
    opts = options(rng, spec, split, p=0.1)
    parts = [ins, txt] + opts if rng.random() < 0.7 else [txt, ins] + opts
    return kind, "\n\n".join(parts), g
