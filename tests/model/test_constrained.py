"""Decoding that cannot emit invalid DOT: the grammar, constrained generation on the tiny model, and best of n."""

from __future__ import annotations

import builtins
import json

import pytest
import torch

from dotlightning.model import constrained
from dotlightning.data.records import read_jsonl
from dotlightning.model.base_models import load_base_model, load_tokenizer
from dotlightning.model.best_of_n import best_of_n, choose, prompt_names, rank
from dotlightning.model.constrained import ConstrainedDecodingUnavailable, DotGrammarConstraint, grammar_rejects
from dotlightning.metrics.dot import parse_dot
from dotlightning.metrics.repair import repair_dot
from dotlightning.model.generation import generate_dot
from dotlightning.data.prompts import PromptFormat

try:
    import llguidance  # noqa: F401

    LLGUIDANCE_INSTALLED = True
except ImportError:
    LLGUIDANCE_INSTALLED = False


@pytest.fixture(autouse=True)
def _skip_without_llguidance(request):
    """Every test here but the missing-library one needs llguidance (in the test extra)."""
    if not LLGUIDANCE_INSTALLED and request.node.originalname != "test_missing_library_gives_install_hint":
        pytest.skip("llguidance is not installed (pip install 'dotlightning[constrained]')")


VALID = {
    "quoted strings with escapes": r'digraph { "a \"quoted\" name" -> "line\nbreak"; "back\\slash" }',
    "concatenated strings": 'digraph { "long " + "name" -> b }',
    "html labels": 'digraph { a [label=<<table><tr><td port="p">x &amp; y</td></tr></table>>]; b [label=<<b>B</b>>] }',
    "attributes": "digraph G { rankdir=LR; node [shape=box, style=\"rounded,filled\"]; edge [color=red][weight=2];"
                  " a [label=\"A\"; color=blue] }",
    "subgraphs and clusters": "digraph { subgraph cluster_0 { label=\"c0\"; a; b } subgraph { c } { d e } -> f }",
    "comments": "digraph { // line comment\n a /* block { } */ -> b\n# preprocessor line\n}",
    "ports": "digraph { a:p1:n -> b:sw; c:e -> d }",
    "strict": "strict digraph { a -> b; a -> b }",
    "undirected": "graph network { a -- b -- c; a -- {d e} }",
    "numerals and unicode": "graph { -1.5 -- .5; 2 -- 3.; caf\u00e9 -- \u00fcber }",
    "node lists": "digraph { a, b -> c, d }",
    "case-insensitive keywords": "DiGraph G { Node [shape=box]; EDGE [color=red]; a -> b; SubGraph s { c } }",
    "empty graph": "graph {}",
    "leading whitespace": "\n  digraph { a }",
}

INVALID = {
    "-> in a graph": "graph { a -> b }",
    "-- in a digraph": "digraph { a -- b }",
    "unclosed brace": "digraph { a -> b",
    "prose after the graph": "digraph { a -> b } That is the graph.",
    "prose before the graph": "Here it is: digraph { a -> b }",
    "a keyword as a node": "digraph { node -> b }",
    "keyword glued to a keyword": "strictdigraph { a }",
    "attribute without a value": "digraph { a [label] }",
    "edge without a head": "digraph { a -> }",
    "unterminated string": 'digraph { "a -> b }',
    "empty statement": "digraph { a;; b }",
    "unbalanced html": "digraph { a [label=<<b>x] }",
    "markdown fence": "```dot\ndigraph { a }\n```",
    "form feed as whitespace": "graph { a\x0cb }",
    "NUL in a string": 'digraph { "a\x00b" }',
    "a keyword by Unicode case folding": "\u017ftrict graph { a }",  # long s: not 'strict' to Graphviz
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_grammar_accepts_valid_dot_that_graphviz_parses(text):
    assert parse_dot(text) is not None, "the sample itself must be valid DOT"
    assert grammar_rejects(text) is None


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_grammar_rejects_invalid_dot(text):
    assert grammar_rejects(text) is not None


REPAIRABLE = {  # what a model writes meaning the name as written; Graphviz needs it quoted
    "hyphens": ("digraph { build -> deploy-staging }", 'digraph { build -> "deploy-staging" }'),
    "dots and slashes": ("digraph { raw.orders -> etl/daily }", 'digraph { "raw.orders" -> "etl/daily" }'),
    "glued edge operators": ("digraph{a->b-c->d}", 'digraph{a->"b-c"->d}'),
    "undirected, glued": ("graph { a-b--c }", 'graph { "a-b"--c }'),
    "attribute values": ("digraph { SYN+ACK -> x [label=tenant-a] }", 'digraph { "SYN+ACK" -> x [label="tenant-a"] }'),
    "a leading numeral": ("digraph { 2-factor -> a@b }", 'digraph { "2-factor" -> "a@b" }'),
    "beside an html id": ("digraph { <b>x</b> -> a-b }", 'digraph { <b>x</b> -> "a-b" }'),
    "a keyword as a lone node": ("digraph { sparrow -> edge; edge /* c */ -> router }",
                                 'digraph { sparrow -> "edge"; "edge" /* c */ -> router }'),
}


def _decoding_rejects(text: str) -> str | None:
    import llguidance

    tokenizer = llguidance.LLTokenizer(llguidance.TokenizerWrapper(constrained._ByteTokens()))
    matcher = llguidance.LLMatcher(tokenizer, llguidance.LLMatcher.grammar_from_lark(constrained.decoding_grammar()))
    data = list(text.encode())
    if matcher.validate_tokens(data) < len(data):
        return "rejected"
    matcher.consume_tokens(data)
    return None if matcher.is_accepting() else "incomplete"


@pytest.mark.parametrize("text, repaired", REPAIRABLE.values(), ids=REPAIRABLE.keys())
def test_decoding_grammar_lets_the_model_write_names_that_repair_quotes(text, repaired):
    assert parse_dot(text) is None and grammar_rejects(text) is not None  # not DOT as written: dot.lark says so
    assert _decoding_rejects(text) is None
    assert repair_dot(text) == repaired and parse_dot(repaired) is not None


@pytest.mark.parametrize("text", ["digraph { a -- b }", "digraph { deploy- -> b }", "digraph { edge-case -> a }",
                                  "graph { a -> b-c }", "digraph { node, b -> c }", "digraph { subgraph -> a }"])
def test_decoding_grammar_still_rejects_what_repair_cannot_fix(text):
    assert _decoding_rejects(text) is not None


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_decoding_grammar_accepts_all_valid_dot(text):
    assert _decoding_rejects(text) is None


def test_a_line_comment_runs_to_the_end_of_its_line_even_when_it_holds_a_block_comment_opener():
    # Found 2026-12-01 on a real output ("service///*[@Name=...]"): the ignore regex let a block comment start inside
    # a line comment, so the grammar stayed "in a comment" and allowed 361 stray '}' that Graphviz rejects.
    assert grammar_rejects('digraph G {\n  a -> b///*x\n}') is None
    assert grammar_rejects('digraph G {\n  a -> b // note /* not a comment\n  b -> c;\n}') is None
    assert grammar_rejects('digraph G {\n  a -> b///*x\n}\n}') is not None  # the graph closed at the first '}'


def test_grammar_rejection_names_the_place():
    assert grammar_rejects("digraph {\n  a -> b;\n  c -- d\n}") == "line 3, column 6: unexpected '- d\\n}'"


# ------------------------------------------------------------------------------------------------ generation


@pytest.fixture(scope="module")
def tiny():
    tokenizer = load_tokenizer("tiny")
    model = load_base_model("tiny", quantization="none")
    return model, tokenizer


PROMPTS = [
    "Draw a directed graph: idle goes to busy, and busy goes to done.",
    "An undirected network where load links to save.",
    "A state machine with start, stop and retry.",
    "x",
    "A long description of a pipeline where parse feeds emit, emit feeds wait, wait loops back to parse.",
    'Nodes "Start Here" and "End There", connected.',
]


def encode(tokenizer, prompts):
    return [PromptFormat().encode(tokenizer, prompt)["input_ids"] for prompt in prompts]


@pytest.mark.parametrize("max_new_tokens", [12, 40])
def test_constrained_generation_always_parses_and_unconstrained_usually_does_not(tiny, max_new_tokens):
    model, tokenizer = tiny
    ids = encode(tokenizer, PROMPTS)
    free = generate_dot(model, tokenizer, ids, max_new_tokens=max_new_tokens, batch_size=4)
    guided = generate_dot(model, tokenizer, ids, max_new_tokens=max_new_tokens, batch_size=4, constrained=True)
    assert [parse_dot(text) is not None for text in guided] == [True] * len(PROMPTS), guided
    assert all(grammar_rejects(text.strip()) is None for text in guided)
    assert sum(parse_dot(text) is not None for text in free) <= len(PROMPTS) // 2


def test_a_row_that_repair_cannot_make_valid_is_decoded_again_under_the_strict_grammar(tiny, monkeypatch):
    model, tokenizer = tiny
    monkeypatch.setattr(constrained, "_COMPILED", {})  # grammars are compiled once per tokenizer: start afresh
    monkeypatch.setattr(constrained, "decoding_grammar", lambda: 'start: "digraph { a -> }"')  # beyond repair
    texts = generate_dot(model, tokenizer, encode(tokenizer, PROMPTS[:3]), max_new_tokens=24, batch_size=3,
                         constrained=True)
    assert all(parse_dot(text) is not None and "a -> }" not in text for text in texts), texts


def test_constrained_sampling_always_parses(tiny):
    model, tokenizer = tiny
    torch.manual_seed(0)
    texts = generate_dot(model, tokenizer, encode(tokenizer, PROMPTS[:3] * 3), max_new_tokens=32, batch_size=9,
                         constrained=True, temperature=1.0)
    assert all(parse_dot(text) is not None for text in texts), texts
    assert len(set(texts)) > 1  # sampling really samples


def feed(constraint, tokenizer, text, prompt_width=2):
    """Run the constraint over ``text`` as if a model had generated it after a 2-token prompt."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    constraint(torch.zeros((1, prompt_width), dtype=torch.long), torch.zeros((1, len(tokenizer))))
    for end in range(1, len(ids) + 1):
        row = torch.tensor([[0] * prompt_width + ids[:end]])
        constraint.advance(row)
        if constraint.done[0]:
            return tokenizer.decode(ids[:end])
    return None


def test_grammar_stop_ignores_braces_in_html_labels_and_comments(tiny):
    _, tokenizer = tiny
    text = "digraph { a [label=<}>]; /* } */ b }"
    constraint = DotGrammarConstraint(tokenizer, 1, prompt_width=2, max_new_tokens=100)
    assert feed(constraint, tokenizer, text + " trailing") == text


def test_closing_steers_to_the_cheapest_allowed_token(tiny):
    _, tokenizer = tiny
    prefix = tokenizer('digraph { a -> b [label="unfinished', add_special_tokens=False)["input_ids"]
    # three tokens left, exactly enough for '"', ']' and '}'
    constraint = DotGrammarConstraint(tokenizer, 1, prompt_width=0, max_new_tokens=len(prefix) + 3)
    scores = constraint(torch.tensor([prefix]), torch.zeros((1, len(tokenizer))))
    assert tokenizer.decode([int(scores[0].argmax())]) == '"'
    assert int(torch.isfinite(scores[0]).sum()) == 1


UNFINISHED = {
    "inside html": b"digraph { a -> b [label=<<b>x",
    "inside a block comment": b"digraph { a /* still open",
    "after an edge operator": b"graph { a -- ",
    "attribute without its value": b"digraph { a [color",
    "a character split across tokens": b'digraph { "caf\xc3',
    "header not yet written": b"strict ",
    "nested subgraphs": b"digraph { subgraph cluster_0 { a -> { b",
}


@pytest.mark.parametrize("prefix", UNFINISHED.values(), ids=UNFINISHED.keys())
def test_rows_are_steered_to_a_complete_graph_within_the_budget(tiny, prefix):
    _, tokenizer = tiny
    constraint = DotGrammarConstraint(tokenizer, 1, prompt_width=0, max_new_tokens=0)
    constraint(torch.zeros((1, 0), dtype=torch.long), torch.zeros((1, len(tokenizer))))  # builds the matchers
    ids = constraint.lltok.tokenize_bytes(prefix)
    constraint.max_new_tokens = len(ids) + 12
    while not constraint.done[0] and len(ids) < constraint.max_new_tokens:
        # all-zero scores: the "model" takes the lowest token id the mask leaves, whatever it means
        scores = constraint(torch.tensor([ids]), torch.zeros((1, len(tokenizer))))
        ids.append(int(scores[0].argmax()))
        constraint.advance(torch.tensor([ids]))
    text = constraint.lltok.decode_bytes(ids).decode("utf-8")
    # as generate_dot returns it: repaired (the decoding grammar admits names such as `color+0` that repair quotes)
    assert constraint.done[0] and parse_dot(repair_dot(text)) is not None, text


def test_a_row_caught_in_a_loop_is_closed_at_once_not_cut_mid_graph(tiny):
    _, tokenizer = tiny
    constraint = DotGrammarConstraint(tokenizer, 1, prompt_width=0, max_new_tokens=10_000)  # budget never runs out
    constraint(torch.zeros((1, 0), dtype=torch.long), torch.zeros((1, len(tokenizer))))  # builds the matchers
    ids = constraint.lltok.tokenize_bytes(b'digraph { a -> b [label="' + b"the same words " * 12)
    constraint.advance(torch.tensor([ids]))
    constraint.wrap_up(0)  # what RepetitionStop(on_loop=...) does for a looping row under the grammar
    start = len(ids)
    while not constraint.done[0] and len(ids) < start + 12:
        scores = constraint(torch.tensor([ids]), torch.zeros((1, len(tokenizer))))
        ids.append(int(scores[0].argmax()))
        constraint.advance(torch.tensor([ids]))
    text = constraint.lltok.decode_bytes(ids).decode("utf-8")
    assert constraint.done[0] and parse_dot(text) is not None, text


def test_missing_library_gives_install_hint(tiny, monkeypatch):
    model, tokenizer = tiny
    real_import = builtins.__import__

    def no_llguidance(name, *args, **kwargs):
        if name == "llguidance" or name.startswith("llguidance."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_llguidance)
    with pytest.raises(ConstrainedDecodingUnavailable, match=r"llguidance.*Fix: pip install 'dotlightning\[constrained\]'"):
        generate_dot(model, tokenizer, encode(tokenizer, ["x"]), max_new_tokens=4, constrained=True)
    from dotlightning.model.module import DotLoRAModule

    with pytest.raises(ConstrainedDecodingUnavailable, match="Fix: pip install"):
        DotLoRAModule(base_model="tiny", quantization="none", constrained_decoding=True)
    assert generate_dot(model, tokenizer, encode(tokenizer, ["x"]), max_new_tokens=2)  # unconstrained still works


def test_generate_command_constrained_and_best_of_n(tmp_path):
    from dotlightning.cli.commands import main

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS[:3]), encoding="utf-8")
    # no flag: constrained on a CPU by default (--constrained auto)
    for extra in ([], ["--constrained", "true"], ["--constrained", "true", "--num_samples", "3"]):
        out = tmp_path / "out.jsonl"
        main(["generate", "--input", str(prompts), "--output", str(out), "--adapter", "", "--base_model", "tiny",
              "--quantization", "none", "--max_new_tokens", "24", *extra])
        records = read_jsonl(out)
        assert [r["prompt"] for r in records] == PROMPTS[:3]
        assert all(parse_dot(r["prediction"]) is not None for r in records), records


def test_generate_command_decodes_freely_when_told(tmp_path):
    from dotlightning.cli.commands import main

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    main(["generate", "--input", str(prompts), "--output", str(out), "--adapter", "", "--base_model", "tiny",
          "--quantization", "none", "--max_new_tokens", "24", "--constrained", "false"])
    assert sum(parse_dot(r["prediction"]) is not None for r in read_jsonl(out)) <= len(PROMPTS) // 2  # random weights


def test_validation_generates_under_the_grammar_when_asked(pair_files):
    from dotlightning.data.datamodule import DotDataModule
    from dotlightning.model.module import DotLoRAModule

    module = DotLoRAModule(base_model="tiny", quantization="none", max_new_tokens=16, constrained_decoding=True)
    module.build(torch.device("cpu"))
    data = DotDataModule(train_file=str(pair_files["train"]), val_file=str(pair_files["val"]), batch_size=4,
                         max_seq_length=128)
    data.connect(module.tokenizer)
    data.setup("validate")
    scores = module.score_generations(data.val_dataloader(), max_samples=4)
    assert scores["parse_rate"] == 1.0


# ------------------------------------------------------------------------------------------------ best of n


def test_verifier_prefers_parsing_then_coverage_then_agreement():
    prompt = 'A pipeline: "Load Data" feeds parse, parse feeds emit.'
    candidates = [
        "digraph { load_data -> parse -> emit",  # does not parse
        "digraph { x -> y }",  # parses, covers nothing
        "digraph { load_data -> parse; parse -> emit }",
        "digraph { load_data -> parse; parse -> emit; emit -> x }",
        "digraph { load_data -> parse; parse -> emit }",
    ]
    assert prompt_names(prompt, candidates) == {"load data", "parse", "emit"}
    scores = rank(candidates, prompt)
    assert scores[0] == (0.0, 0.0, 0.0)
    assert scores[1][:2] == (1.0, 0.0)
    assert choose(candidates, prompt) == 2  # full coverage, and agrees with 3 and 4 more than 3 does with 2 and 4
    assert choose(candidates[:2], prompt) == 1  # parsing beats everything


def test_best_of_n_samples_n_candidates_reproducibly_and_keeps_one_that_parses(tiny):
    model, tokenizer = tiny
    prompts = PROMPTS[:2]
    ids = encode(tokenizer, prompts)
    choices, candidates = best_of_n(model, tokenizer, ids, prompts, num_samples=3, max_new_tokens=24,
                                    constrained=True, return_candidates=True, seed=1)
    assert [len(c) for c in candidates] == [3, 3]
    assert all(choice in samples for choice, samples in zip(choices, candidates))
    assert all(parse_dot(choice) is not None for choice in choices)
    again = best_of_n(model, tokenizer, ids, prompts, num_samples=3, max_new_tokens=24, constrained=True, seed=1)
    assert again == choices
    with pytest.raises(ValueError, match="Fix:"):
        best_of_n(model, tokenizer, ids, prompts[:1], num_samples=2)


def test_grammar_file_ships_with_the_package():
    assert constrained.GRAMMAR_PATH.name == "dot.lark" and constrained.GRAMMAR_PATH.is_file()
