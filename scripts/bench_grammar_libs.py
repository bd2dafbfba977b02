"""Which constrained-decoding library: per-token mask time of llguidance and xgrammar on CPU, same DOT grammar.

    python scripts/bench_grammar_libs.py [--gemma] [--repeats 3]

For each tokenizer (the tests' tiny 512-token BPE; with ``--gemma`` also Gemma 3's 262,144-token tokenizer from the
embedded GGUF package, so no hub) and each library, it builds a matcher for ``dotlightning/dot.lark`` and walks the
token sequences of a few DOT graphs: at every position it times filling the next-token bitmask, then consumes the
real token. Reports setup time (tokenizer conversion + grammar compile) and mask time per token (median, p90, max).

xgrammar's Lark reader lacks llguidance's regex intersection/negation and ``(?i:...)`` groups, so it gets a variant
of the grammar with keywords spelled as character classes and *without* the rule that keeps keywords out of names
(it accepts ``digraph { node -> b }``, which Graphviz rejects). That variant is, if anything, easier to match.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dotlightning.model.constrained import dot_grammar

GRAPHS = [
    'digraph G {\n  rankdir=LR;\n  node [shape=box, style="rounded,filled"];\n  idle -> running [label="start"];\n'
    '  running -> idle [label="stop"];\n  running -> error [label="fail \\"hard\\""];\n}',
    'graph network {\n  a -- b;\n  b -- c -- d;\n  subgraph cluster_0 {\n    label="backend";\n    db; cache;\n  }\n'
    '  a -- db [weight=2];\n}',
    'digraph {\n  n1 [label=<<b>Start</b><br/>here>];\n  n1:e -> n2:w;\n  n2 -> {n3 n4};\n  // done\n}',
]


def xgrammar_variant(grammar: str) -> str:
    grammar = grammar.replace(" & ~KEYWORD", "")

    def spell(match: re.Match) -> str:
        words = match.group(1).split("|")
        return "/" + "|".join("".join(f"[{c.lower()}{c.upper()}]" for c in w) for w in words) + "/"

    grammar = re.sub(r"/\(\?i:([a-z|]+)\)/", spell, grammar)
    return grammar.replace("(?s:.)", "[\\s\\S]")


def bench_llguidance(tokenizer, grammar: str, sequences: list[list[int]], repeats: int) -> dict:
    import llguidance
    from llguidance.torch import allocate_token_bitmask, fill_next_token_bitmask

    from dotlightning.model.constrained import ll_tokenizer

    start = time.perf_counter()
    lltok = ll_tokenizer(tokenizer)  # llguidance.hf.from_tokenizer, with Gemma's text-like added tokens as text
    matcher = llguidance.LLMatcher(lltok, grammar)
    setup = time.perf_counter() - start
    bitmask = allocate_token_bitmask(1, lltok.vocab_size)
    times = []
    for _ in range(repeats):
        for ids in sequences:
            matcher = llguidance.LLMatcher(lltok, grammar)
            for token in ids:
                t0 = time.perf_counter()
                fill_next_token_bitmask(matcher, bitmask, 0)
                times.append(time.perf_counter() - t0)
                assert matcher.consume_token(token), matcher.get_error()
            assert matcher.is_accepting()
    return {"setup_s": setup, "times": times}


def bench_xgrammar(tokenizer, grammar: str, sequences: list[list[int]], repeats: int) -> dict:
    import xgrammar as xgr

    start = time.perf_counter()
    info = xgr.TokenizerInfo.from_huggingface(tokenizer)
    compiled = xgr.GrammarCompiler(info, max_threads=1).compile_lark(xgrammar_variant(grammar))
    setup = time.perf_counter() - start
    bitmask = xgr.allocate_token_bitmask(1, info.vocab_size)
    times = []
    for _ in range(repeats):
        for ids in sequences:
            matcher = xgr.GrammarMatcher(compiled)
            for token in ids:
                t0 = time.perf_counter()
                matcher.fill_next_token_bitmask(bitmask, 0)
                times.append(time.perf_counter() - t0)
                assert matcher.accept_token(token)
            assert matcher.is_completed()
    return {"setup_s": setup, "times": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gemma", action="store_true", help="also Gemma 3's 262k tokenizer (embedded GGUF)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from dotlightning.model.tiny import build_tiny_tokenizer

    tokenizers = {"tiny (512)": build_tiny_tokenizer()}
    if args.gemma:
        from dotlightning.model.base_models import load_tokenizer

        gemma = load_tokenizer("embedded:gemma3-270m")
        tokenizers[f"gemma3 ({len(gemma)})"] = gemma
    grammar = dot_grammar()
    for name, tokenizer in tokenizers.items():
        sequences = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in GRAPHS]
        for library, bench in (("llguidance", bench_llguidance), ("xgrammar", bench_xgrammar)):
            result = bench(tokenizer, grammar, sequences, args.repeats)
            us = sorted(t * 1e6 for t in result["times"])
            p90 = us[int(0.9 * (len(us) - 1))]
            print(f"{name:>16} {library:>10}: setup {result['setup_s']:.2f} s, mask per token median "
                  f"{statistics.median(us):.0f} us, p90 {p90:.0f} us, max {us[-1]:.0f} us ({len(us)} tokens)",
                  flush=True)


if __name__ == "__main__":
    main()
