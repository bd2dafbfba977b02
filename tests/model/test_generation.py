"""Where generation stops: the graph's closing brace, even after a stray quote, and loops that never close."""

from __future__ import annotations

import torch

from dotlightning.model.base_models import load_tokenizer
from dotlightning.model.generation import GraphClosed, RepetitionStop


def _stopped_text(criterion_factory, text: str) -> str:
    """Feed ``text`` token by token to a fresh criterion; the decoded text at the step it says stop (or all of it)."""
    tokenizer = load_tokenizer("tiny")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    criterion = criterion_factory(tokenizer)
    for end in range(1, len(ids) + 1):
        if criterion(torch.tensor([ids[:end]]), None)[0]:
            return tokenizer.decode(ids[:end])
    return tokenizer.decode(ids)


def test_a_brace_inside_a_label_does_not_end_the_graph_but_the_closing_one_does():
    text = _stopped_text(lambda tok: GraphClosed(tok, 1), 'digraph { a [label="{x}"]; a -> b } and then prose')
    assert text.rstrip().endswith("}") and "a -> b" in text and "prose" not in text


def test_a_stray_quote_does_not_hide_the_end_of_the_graph():
    """label=\"\"\" leaves the scanner inside a string; the '}' that opens a line still ends the graph."""
    text = _stopped_text(lambda tok: GraphClosed(tok, 1),
                         'digraph G {\n  a [label="""]\n  a -> b\n}\nHuman resources is a company that hires people.')
    assert text.rstrip().endswith("}") and "Human" not in text


def test_a_loop_is_stopped_and_a_long_graph_of_similar_lines_is_not():
    loop = "digraph G {\n  a [label=\"" + "The company has a HR accountant. " * 40
    graph = "digraph G {\n" + "".join(f"  n{i} -> n{i + 1};\n" for i in range(60)) + "}"
    assert len(_stopped_text(lambda tok: RepetitionStop(0, every=1), loop)) < len(loop)
    assert _stopped_text(lambda tok: RepetitionStop(0, every=1), graph) == graph
