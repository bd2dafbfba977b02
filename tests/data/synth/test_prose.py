"""Dataset v3 prose phrasings (dotlightning/data/synth/prose.py): the sentence means exactly the graph written for it."""
from __future__ import annotations

import random
import re

import pytest

from dotlightning.data.synth import prose as P
from dotlightning.data.synth.dot_writer import Graph
from dotlightning.data.synth.vocab import POOLS, is_heldout, pool


def _clauses(forms, seed, directed=True):
    g = Graph(directed=directed)
    rng = random.Random(seed)
    voice = P.Voice(rng)
    return g, P.Clauses(rng, "train", g, forms, voice, "it", directed), rng


CTO, ANA, BO = P.Name("CTO", "cto", True), P.Name("Ana", "ana", False), P.Name("Bo", "bo", False)


@pytest.mark.parametrize("form", P.ORG_FORMS)
def test_org_direction_in_both_voices(form):
    """Whatever the voice ("Ana and Bo report to the CTO", "the CTO manages Ana and Bo"): edges CTO -> Ana, Bo."""
    for seed in range(20):
        g, cl, _ = _clauses([form], seed)
        text = cl.group("out", CTO, [ANA, BO])
        assert g.edge_pairs() == [("cto", "ana"), ("cto", "bo")], text
        assert form[0] in text or form[1] in text, text


def test_passive_and_fan_in():
    A, B, C = (P.Name(x, x.lower(), False) for x in "ABC")
    D = P.Name("payment service", "payment_service", True)
    seen = set()
    for seed in range(60):
        g, cl, _ = _clauses([("calls", "call", "t"), ("is called by", "are called by", "h")], seed)
        text = cl.group("in", D, [A, B, C])
        assert g.edge_pairs() == [("a", "payment_service"), ("b", "payment_service"), ("c", "payment_service")]
        assert "payment service" in text and "payment_service" not in text
        seen.add("is called by" in text)
    assert seen == {True, False}


def test_gerunds():
    assert [P.gerund(v) for v in ("close", "stop", "pay", "plug in", "free", "open")] == [
        "closing", "stopping", "paying", "plugging in", "freeing", "opening"]


@pytest.mark.parametrize("builder", list(P.BUILDERS))
@pytest.mark.parametrize("split", ["train", "test"])
def test_builders_name_every_node_in_the_text(builder, split):
    rng = random.Random(f"{builder}-{split}")
    for _ in range(150):
        kind, text, g = P.BUILDERS[builder][0](rng, split)
        assert g.edges, (builder, text)
        low = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "
        for n in g.nodes:
            assert not re.match(r"^(the|our|an?)_", n), (n, text)
            fam = re.match(r"^(.+)_(\d+)$", n)
            spaced = " " + n.lower().replace("_", " ") + " "
            ranged = fam and any(int(x) <= int(fam[2]) <= int(y)
                                 for x, y in re.findall(r"(\d+) ?(?:-|to|through) ?(\d+)", text))
            ok = spaced in low or (fam and any(" " + fam[1].replace("_", " ") + pl + " " in low for pl in ("", "s", "es"))
                                           and (fam[2] in low or ranged))
            ok = ok or n.lower() in low.replace(" ", "")  # CamelCase class names, said as written
            assert ok, (builder, n, text)
        for a, b, at in g.edges:
            lab = at.get("label")
            if lab and lab not in ("yes", "no"):
                assert lab.lower() in text.lower() or lab[:-1].lower() in text.lower(), (lab, text)


def test_prose_pools_partition_by_phrase():
    """The v3 pools keep dataset_vocab's guarantee: a phrase is held out or not wherever it appears, and no train
    phrase folds to the same ID as a held-out one."""
    folded: dict[str, set[bool]] = {}
    for name, words in POOLS.items():
        for w in words:
            folded.setdefault(re.sub(r"[^a-z0-9]", "", w.lower()), set()).add(is_heldout(w))
    clashes = {k for k, v in folded.items() if len(v) > 1} - {"takeoff"}  # v2's "take off"/"takeoff"
    assert not clashes
    for name in [k for k in POOLS if k.startswith("p_")]:
        assert set(pool(name, "train")).isdisjoint(pool(name, "test")) and pool(name, "test"), name
