"""dotlightning.metrics.dot: extraction rule, normalisation, what Graphviz accepts, and inputs that must never hurt us."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotlightning.metrics.dot import (
    MAX_DOT_CHARS,
    Graph,
    extract_dot,
    graphviz_messages,
    normalize_id,
    parse_dot,
    render,
)

# --- extraction --------------------------------------------------------------------------------------------------------


def test_extract_bare_graph_is_clean():
    assert extract_dot("  digraph G { a -> b }\n") == ("digraph G { a -> b }", True)


def test_extract_from_markdown_fence_is_not_clean():
    text = "```dot\ndigraph G {\n  a -> b;\n}\n```"
    assert extract_dot(text) == ("digraph G {\n  a -> b;\n}", False)


def test_extract_from_prose_takes_first_graph_only():
    text = 'Here is your graph: graph { x -- y } and another: digraph { p -> q }. Enjoy!'
    assert extract_dot(text) == ("graph { x -- y }", False)


def test_extract_strict_and_quoted_or_numeric_ids():
    for dot in ['strict digraph { a -> b }', 'STRICT Graph "my graph" { a }', "digraph 42 { a }", "graph{a}"]:
        assert extract_dot(dot) == (dot, True), dot


def test_extract_graph_named_beyond_the_basic_multilingual_plane():
    # Graphviz takes every byte >= 0x80 as a letter, so an emoji or a rare CJK ideograph is a name like any other
    text = "digraph \U0001F600\U00020000x { a -> b }"
    assert extract_dot(text) == (text, True)
    assert parse_dot(text) is not None


def test_extract_braces_in_strings_html_and_comments_do_not_count():
    dot = (
        'digraph { a [label="}{ \\" }"]; b [label=<<b>}</b> {>];\n'
        "  // a } in a line comment\n  /* and { in a block */\n# cpp line }\n  a -> b }"
    )
    assert extract_dot(dot) == (dot, True)
    assert parse_dot(dot).edges == {("a", "b")}


def test_extract_nested_subgraph_braces():
    dot = "digraph { subgraph cluster_a { subgraph cluster_b { x } } y }"
    assert extract_dot("text " + dot + " text") == (dot, False)


def test_extract_subgraph_keyword_is_not_a_graph_header():
    assert extract_dot("subgraph { a }") == (None, False)


def test_extract_no_graph_or_unterminated():
    assert extract_dot("") == (None, False)
    assert extract_dot("no graph here") == (None, False)
    assert extract_dot("digraph { a -> b") == (None, False)
    assert extract_dot('digraph { a [label="}] }') == (None, False)  # the quote never closes


def test_stray_bracket_does_not_end_the_graph():
    assert extract_dot("graph { a ] b }") == ("graph { a ] b }", True)


# --- normalisation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["Idle State", "idle_state", "IDLE-STATE", '"idle state"', "idle  \t state", "idle_-_state", " idle state "]
)
def test_normalize_id_unifies_case_quotes_and_separators(raw):
    assert normalize_id(raw) == "idle state"


def test_normalize_id_keeps_other_punctuation():
    assert normalize_id("a.b") == "a.b" and normalize_id("a:b") != normalize_id("a b")


# --- what parse_dot reads ------------------------------------------------------------------------------------------------


def test_parse_nodes_in_subgraphs_and_edge_only_nodes():
    g = parse_dot("digraph { a; subgraph cluster_0 { b; c -> d } e -> f }")
    assert g == Graph(True, frozenset("abcdef"), frozenset({("c", "d"), ("e", "f")}), frozenset())


def test_parse_undirected_edges_are_unordered_pairs_and_sets():
    g = parse_dot("graph { b -- a; a -- b; a -- b; c -- c }")
    assert not g.directed
    assert g.edges == {("a", "b"), ("c", "c")}


def test_parse_directed_edges_keep_direction():
    g = parse_dot("digraph { b -> a; a -> b }")
    assert g.edges == {("a", "b"), ("b", "a")}


def test_parse_edge_groups_and_labels_normalised():
    g = parse_dot('digraph { Start -> {Mid_1 "mid 2"} [label="Go Now"]; edge [label=x]; s -> t; u -> v [label=""] }')
    assert g.edges == {("start", "mid 1"), ("start", "mid 2"), ("s", "t"), ("u", "v")}
    assert g.edge_labels == {(("start", "mid 1"), "go now"), (("start", "mid 2"), "go now"), (("s", "t"), "x")}


def test_parse_handles_unicode_and_escaped_quotes():
    g = parse_dot('digraph { "Zürich \\"HB\\"" -> "東京" }')
    assert g.nodes == {'zürich "hb"', "東京"}


def test_graphviz_stays_usable_after_a_syntax_error():
    assert parse_dot("digraph { a -> }") is None
    assert parse_dot("digraph { a -> b }").edges == {("a", "b")}


def test_render_svg_and_invalid():
    assert b"<svg" in render("digraph { a -> b }")
    assert render("digraph { a -- b }") is None


# --- invalid input: rejected, never raises, never crashes, never prints ------------------------------------------------


INVALID = {
    "wrong edge op in digraph": "digraph { a -- b }",
    "wrong edge op in graph": "graph { a -> b }",
    "empty": "",
    "whitespace": " \n\t ",
    "prose only": "I cannot draw that graph.",
    "binary garbage": bytes(range(256)).decode("latin-1") * 4,
    "NUL inside graph": "digraph { a -> b [label=\"x\x00y\"] }",
    "NUL after graph": "digraph { a -> b }\x00",
    "100k open braces": "{" * 100_000,
    "graph of 100k open braces": "digraph " + "{" * 100_000,
    "subgraphs 5000 deep": "digraph {" + " subgraph {" * 5000 + " a " + "}" * 5001,
    "anonymous blocks 3000 deep": "graph {" + "{" * 3000 + "}" * 3001,
    "html 5000 deep": "digraph { a [label=" + "<" * 5000 + "x" + ">" * 5000 + "] }",
    "megabyte-long output": "digraph { " + "a -> b; " * (MAX_DOT_CHARS // 8 + 1) + "}",
    "unterminated": "digraph { a -> b ",
    "syntax error": "digraph { a -> [ }",
}


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_inputs_are_rejected_quietly(name, capfd):
    before = graphviz_messages()
    assert parse_dot(INVALID[name]) is None
    out, err = capfd.readouterr()
    assert err == "" and out == "", f"Graphviz printed: {err[:200]!r}"
    assert graphviz_messages() >= before


def test_invalid_syntax_errors_are_counted_not_printed(capfd):
    before = graphviz_messages()
    assert parse_dot("digraph { a -> }") is None
    assert graphviz_messages() > before
    assert capfd.readouterr().err == ""


def test_invalid_non_string_input():
    assert parse_dot(None) is None and parse_dot(b"digraph { a }") is None  # type: ignore[arg-type]
    assert extract_dot(None) == (None, False)  # type: ignore[arg-type]


def test_invalid_utf8_surrogates_do_not_raise():
    g = parse_dot("digraph { \udcff -> b }")  # Graphviz decides; it takes the bytes as an ID
    assert g is None or g.edges and len(g.nodes) == 2


def test_deep_but_reasonable_nesting_still_parses():
    assert parse_dot("digraph {" + " subgraph {" * 20 + " a -> b " + "}" * 21).edges == {("a", "b")}


# --- short fuzz (the long run is scripts/fuzz_scorer.py) ---------------------------------------------------------------

_TOKENS = st.sampled_from(
    ["digraph", "graph", "strict", "subgraph", "{", "}", "[", "]", ";", "=", "->", "--", '"', "\\", "<", ">", "//",
     "/*", "*/", "#", "\n", " ", "a", "b_c", "label", "\x00", "```", "é"]
)


@settings(max_examples=150, deadline=None, database=None)
@given(st.one_of(st.text(max_size=200), st.lists(_TOKENS, max_size=60).map("".join)))
def test_fuzz_extract_and_parse_never_raise(text):
    dot, clean = extract_dot(text)
    if dot is None:
        assert clean is False
    else:
        assert dot in text and dot.endswith("}")
        assert not clean or dot == text.strip()
    g = parse_dot(text)
    assert g is None or isinstance(g, Graph)
