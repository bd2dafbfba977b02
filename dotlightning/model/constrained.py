"""Grammar-constrained decoding: the model can only write text that Graphviz's grammar allows, and always finishes.

Every step, each sequence's next-token scores are masked to the tokens that keep its text a prefix of a DOT graph
(``dot.lark`` plus the names repair_dot quotes, :func:`decoding_grammar`; matched by llguidance, one matcher per
batch row), and a row stops as soon as its graph is complete.

Why llguidance and not xgrammar: measured on this CPU with the same grammar (docs/decoding.md,
``scripts/bench_grammar_libs.py``), llguidance computes a mask in ~10 us with the tests' 512-token vocabulary where
xgrammar takes ~3 ms, and its Lark dialect can keep keywords out of identifiers (``node -> b`` is not a DOT edge), which
xgrammar's cannot.

Four things a plain grammar mask does not give, handled here:

* **Finishing within the token budget.** A mask keeps the text valid *so far*; a model that never closes its quotes
  or braces still runs out of ``max_new_tokens`` mid-graph. Each row tracks how much closing it owes (open strings,
  HTML, comments, brackets, braces); once the tokens left barely cover that, the row is steered to the cheapest
  closing token the grammar allows (``"``, ``>``, ``]``, ``}``, ...), so it ends with a complete graph.
* **Stopping where the grammar does.** ``GraphClosed`` counts braces outside quoted strings, but not inside HTML
  labels or comments (``label=<}>`` would stop it early); with a grammar the matcher knows exactly when the graph is
  complete, so :class:`GrammarComplete` replaces it. The model's EOS is allowed exactly then.
* **Nesting.** ``parse_dot`` refuses graphs nested deeper than ``MAX_NESTING`` (deep recursion can crash Graphviz's
  parser); a row that deep may not open another ``{``.
* **Added tokens.** llguidance treats every "added" token of a Hugging Face tokenizer as special, but Gemma's include
  ~130 ordinary text tokens such as ``<b>`` and ``<br>``; those are handed over as plain text so HTML labels work.

llguidance is an optional extra (``pip install 'dotlightning[constrained]'``), imported only when asked for.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from transformers import LogitsProcessor, StoppingCriteria

from dotlightning.metrics.dot import MAX_NESTING

GRAMMAR_PATH = Path(__file__).resolve().parent / "dot.lark"
INSTALL_HINT = "pip install 'dotlightning[constrained]' (or: pip install 'llguidance>=1.9')"


class ConstrainedDecodingUnavailable(ImportError):
    """Constrained decoding was asked for but its library is missing; the message says how to install it."""


def require_llguidance():
    """The ``llguidance`` module, or a ConstrainedDecodingUnavailable that says how to get it."""
    try:
        import llguidance
        import llguidance.torch  # noqa: F401 - the bitmask helpers
    except ImportError as error:
        raise ConstrainedDecodingUnavailable(
            f"constrained decoding needs the llguidance package, which is not installed ({error}). "
            f"Fix: {INSTALL_HINT}, or decode without --constrained."
        ) from error
    return llguidance


@lru_cache(maxsize=1)
def dot_grammar() -> str:
    """The DOT grammar (``dot.lark``) as text.

    >>> dot_grammar().startswith("// The DOT language")
    True
    """
    return GRAMMAR_PATH.read_text(encoding="utf-8")


_REPAIRABLE = {  # dot.lark's line -> the decoding grammar's
    "id: NAME | NUMERAL | unspaced_id\n": "id: NAME | NUMERAL | unspaced_id | repairable_name\n",
    "d_operand: node_list | d_subgraph\n": "d_operand: node_list | d_subgraph | keyword_node\n",
    "u_operand: node_list | u_subgraph\n": "u_operand: node_list | u_subgraph | keyword_node\n",
}
REPAIRABLE_RULES = r"""
// Decoding only: what a model writes meaning a name as written, which Graphviz rejects unquoted (so dot.lark does
// too) and repair_dot quotes after decoding. Without these the grammar steered the model into other, valid names
// (`scikit-1`, which Graphviz reads as two nodes; `edge_process` for a node the prompt calls `edge`).
// Names with -, ., /, + or @ between letters or digits (`deploy-staging`, `raw.orders`, `SYN+ACK`): each tail is its
// own lexeme, one separator and one run of name characters, so that `a->b` and `a--b` still lex as name, edge
// operator, name (llguidance's lexer is greedy and does not backtrack: one lexeme for the whole name would swallow
// the `-` of `->`).
repairable_name: (NAME | NUMERAL) NAME_TAIL+
NAME_TAIL: /[-.\/+@][A-Za-z_0-9\u0080-\U0010FFFF]+/
// A keyword as a lone node on either side of an edge operator (`sparrow -> edge`), where repair_dot quotes it.
keyword_node: STRICT | GRAPH | DIGRAPH | NODE | EDGE
"""


def decoding_grammar() -> str:
    """The grammar constrained decoding uses: ``dot.lark`` plus the names :func:`repair_dot` quotes.

    Every text it accepts is a DOT graph once repaired (``generate_dot`` always repairs constrained output).
    """
    grammar = dot_grammar()
    for line, extended in _REPAIRABLE.items():
        if line not in grammar:
            raise RuntimeError(f"dot.lark no longer has the line {line.strip()!r} that decoding_grammar extends")
        grammar = grammar.replace(line, extended)
    return grammar + REPAIRABLE_RULES


_LLTOKENIZERS: dict[tuple[int, int], tuple[object, object]] = {}  # (id(tokenizer), n_vocab) -> (tokenizer, LLTokenizer)


def ll_tokenizer(tokenizer, n_vocab: int | None = None):
    """llguidance's view of a Hugging Face fast tokenizer, built once per tokenizer (seconds for a 262k vocabulary).

    Added tokens that are not special and are ordinary entries of the model's vocabulary (Gemma's ``<b>``,
    ``<table>``...) are dropped from the ``added_tokens`` list first, so llguidance reads them as the text they are.
    """
    key = (id(tokenizer), n_vocab or 0)
    cached = _LLTOKENIZERS.get(key)
    if cached is not None and cached[0] is tokenizer:
        return cached[1]
    llguidance = require_llguidance()
    if not hasattr(tokenizer, "backend_tokenizer"):
        raise ValueError(
            f"constrained decoding needs a fast (Rust) tokenizer, got {type(tokenizer).__name__}. "
            "Fix: load the tokenizer with use_fast=True."
        )
    backend = copy.copy(tokenizer.backend_tokenizer)
    backend.no_padding()
    backend.no_truncation()
    spec = json.loads(backend.to_str())
    vocab = spec.get("model", {}).get("vocab")
    if isinstance(vocab, dict):
        spec["added_tokens"] = [
            token for token in spec.get("added_tokens", [])
            if token.get("special", True) or vocab.get(token.get("content")) != token.get("id")
        ]
    result = llguidance.LLTokenizer(json.dumps(spec), n_vocab=n_vocab, eos_token=tokenizer.eos_token_id)
    _LLTOKENIZERS[key] = (tokenizer, result)
    return result


# ----------------------------------------------------------------------------------------------------------------------
# How much closing a row owes: a byte scanner over the generated text (the grammar decides validity; this only
# estimates the cheapest way out and which closing character to prefer).

CODE, STRING, ESCAPE, HTML, LINE_COMMENT, BLOCK_COMMENT = range(6)
CLOSERS = ']}{"=[>-0g '
"""Outside strings, HTML and comments: the characters tried, in this order, when a row must wrap up. ``]`` and ``}``
close; ``{`` (then ``}``) or ``""`` fill a place that needs a node or a name; ``=`` completes an attribute; ``[``
follows ``node``/``edge``/``graph``; ``>``, ``-`` and ``0`` finish an edge operator or a numeral; ``g`` and `` ``
get a header from ``strict`` to ``graph``. The first one the grammar allows wins; if none is allowed, a token the
grammar forces, else the model's own choice."""


class _Debt:
    """Lexical state of one row's text: where it is (code, string, HTML, comment) and what is open."""

    __slots__ = ("mode", "html", "brackets", "braces", "prev", "utf8")

    def __init__(self) -> None:
        self.mode, self.html, self.brackets, self.braces, self.prev = CODE, 0, 0, 0, 0x0A  # as if after a newline
        self.utf8 = 0  # continuation bytes still owed by a character split across tokens

    def feed(self, data: bytes) -> None:
        for byte in data:
            if byte >= 0x80:  # only inside names, strings, HTML and comments; never changes the mode
                self.utf8 = (1 if byte < 0xE0 else 2 if byte < 0xF0 else 3) if byte >= 0xC0 else max(0, self.utf8 - 1)
                if self.mode == ESCAPE:  # a backslash escapes the whole character
                    self.mode = STRING
                self.prev = byte
                continue
            mode = self.mode
            if mode == STRING:
                if byte == 0x5C:  # backslash
                    self.mode = ESCAPE
                elif byte == 0x22:
                    self.mode = CODE
            elif mode == ESCAPE:
                self.mode = STRING
            elif mode == HTML:
                if byte == 0x3C:
                    self.html += 1
                elif byte == 0x3E:
                    self.html -= 1
                    if self.html == 0:
                        self.mode = CODE
            elif mode == LINE_COMMENT:
                if byte == 0x0A:
                    self.mode = CODE
            elif mode == BLOCK_COMMENT:
                if byte == 0x2F and self.prev == 0x2A:
                    self.mode = CODE
                    byte = 0  # the '/' closing a comment cannot start another
            elif byte == 0x22:
                self.mode = STRING
            elif byte == 0x3C:
                self.mode, self.html = HTML, 1
            elif byte == 0x2F and self.prev == 0x2F:
                self.mode = LINE_COMMENT
            elif byte == 0x2A and self.prev == 0x2F:
                self.mode = BLOCK_COMMENT
                byte = 0  # '/*/' does not close
            elif byte == 0x23 and self.prev == 0x0A:
                self.mode = LINE_COMMENT
            elif byte == 0x5B:
                self.brackets += 1
            elif byte == 0x5D:
                self.brackets -= 1
            elif byte == 0x7B:
                self.braces += 1
            elif byte == 0x7D:
                self.braces -= 1
            self.prev = byte

    def closing_tokens(self) -> int:
        """A generous estimate of the tokens needed to finish the graph from here (one-character tokens)."""
        lexical = {CODE: 0, STRING: 1, ESCAPE: 2, HTML: self.html, LINE_COMMENT: 1, BLOCK_COMMENT: 2}[self.mode]
        # + an ID ("" = 2 tokens) and an '=' that the grammar may still want, + one per open bracket and brace,
        # + the rest of the header when the body has not opened yet: a model spelling `sTrIcT gRaPh {}` one letter
        # per token needs up to 14.
        return (self.utf8 + lexical + 3 + max(0, self.brackets) + max(0, self.braces)
                + (12 if self.braces <= 0 else 0))

    def preferred(self) -> str:
        """Closing characters in order of preference for the current mode ('' while a character is unfinished)."""
        if self.utf8:
            return ""
        if self.mode in (STRING, ESCAPE):
            return '"'
        if self.mode == HTML:
            return ">"
        if self.mode == LINE_COMMENT:
            return "\n"
        if self.mode == BLOCK_COMMENT:
            return "/" if self.prev == 0x2A else "*"
        return CLOSERS


STEER_MARGIN = 3
"""Tokens to spare when steering starts: the estimate assumes one-character closing tokens that the grammar allows
right away, and a row may first have to finish a name or a character split across tokens."""

PARALLEL_MASK_VOCAB = 32_768
"""From this vocabulary size on, the rows' masks are computed on llguidance's thread pool. Below it a row's mask takes
~10 us and waking the pool costs more: 8 rows took 2-3 ms per step on the pool and 0.05 ms in a loop (tiny model,
2 busy CPU cores); with Gemma's 262k tokens a mask takes ~4 ms, which the pool can split."""


class _Compiled:
    """Everything per (tokenizer, vocabulary width) that outlives a batch: llguidance's tokenizer, a fresh matcher
    that each row copies (building one compiles the grammar: ~20 ms, and a copy keeps the lexer states the earlier
    batches already built), the one-character closing tokens, and each token's bytes."""

    def __init__(self, tokenizer, vocab_width: int, strict: bool = False) -> None:
        llguidance = require_llguidance()
        self.lltok = ll_tokenizer(tokenizer, vocab_width)
        grammar = dot_grammar() if strict else decoding_grammar()
        self.matcher = llguidance.LLMatcher(self.lltok, llguidance.LLMatcher.grammar_from_lark(grammar),
                                            log_level=0)
        if self.matcher.is_error():
            raise RuntimeError(f"the DOT grammar did not compile in llguidance: {self.matcher.get_error()}")
        self.executor = llguidance.LLExecutor()
        self.vocab_width = vocab_width
        self.closer_ids: dict[str, int] = {}
        for char in CLOSERS + '"\n*/':
            ids = self.lltok.tokenize_str(char)
            if len(ids) == 1:
                self.closer_ids[char] = ids[0]
        # single-byte tokens for 0x80-0xBF (byte-level BPE and byte-fallback vocabularies have them)
        self.continuation_ids = [ids[0] for ids in (self.lltok.tokenize_bytes(bytes([b])) for b in range(0x80, 0xC0))
                                 if len(ids) == 1]
        self._bytes: dict[int, bytes] = {}
        self._braces: torch.Tensor | None = None

    def token_bytes(self, token: int) -> bytes:
        data = self._bytes.get(token)
        if data is None:
            data = self._bytes[token] = self.lltok.decode_bytes([token])
        return data

    def brace_tokens(self) -> torch.Tensor:
        """Which tokens contain a ``{`` (built once, the first time a row nests that deep)."""
        if self._braces is None:
            self._braces = torch.tensor([b"{" in self.token_bytes(t) for t in range(self.vocab_width)], dtype=torch.bool)
        return self._braces


_COMPILED: dict[tuple[int, int, bool], tuple[object, _Compiled]] = {}


def _compiled(tokenizer, vocab_width: int, strict: bool = False) -> _Compiled:
    key = (id(tokenizer), vocab_width, strict)
    cached = _COMPILED.get(key)
    if cached is None or cached[0] is not tokenizer:
        cached = _COMPILED[key] = (tokenizer, _Compiled(tokenizer, vocab_width, strict))
    return cached[1]


MAX_BRACES = MAX_NESTING - 10
"""Deepest ``{`` nesting a row may open: ``parse_dot`` refuses graphs nested deeper than ``MAX_NESTING`` (counting
``{``, ``[`` and HTML ``<`` together, of which the grammar allows one ``[`` and six ``<`` at a time)."""


class DotGrammarConstraint(LogitsProcessor):
    """Masks each row's scores to the tokens the DOT grammar allows, steering it closed when its budget runs out.

    One llguidance matcher per batch row. The rows are left-padded prompts of width ``prompt_width``; everything
    after that column is generated text, fed to the matchers once per step (``advance`` is idempotent, so the
    processor and :class:`GrammarComplete` can both call it). A row whose graph is complete is ``done``: its later
    tokens (padding, once the stopping criterion has finished it) are ignored.
    """

    def __init__(self, tokenizer, batch_size: int, prompt_width: int, max_new_tokens: int,
                 strict: bool = False) -> None:
        self.llguidance = require_llguidance()
        self.strict = strict  # dot.lark itself, without the names repair_dot quotes (decoding_grammar)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.prompt_width = prompt_width
        self.max_new_tokens = max_new_tokens
        self.matchers: list | None = None  # built on the first call, when the scores give the vocabulary width
        self.done = [False] * batch_size
        self.failed: list[str | None] = [None] * batch_size
        self.debts = [_Debt() for _ in range(batch_size)]
        self.consumed = 0  # generated columns already fed to the matchers
        self.wrapping = [False] * batch_size  # rows told to close their graph now (wrap_up), whatever the budget
        self.forced_steps = 0  # how many row-steps the budget steering decided (for measurement)

    def _build(self, vocab_width: int) -> None:
        self.compiled = _compiled(self.tokenizer, vocab_width, self.strict)
        self.lltok = self.compiled.lltok
        self.matchers = [self.compiled.matcher.deep_copy() for _ in range(self.batch_size)]
        self.bitmask = self.llguidance.torch.allocate_token_bitmask(self.batch_size, vocab_width)

    def advance(self, input_ids: torch.LongTensor) -> None:
        """Feed the matchers every generated column they have not seen yet."""
        width = input_ids.shape[1] - self.prompt_width
        if self.matchers is None or width <= self.consumed:
            return
        new = input_ids[:, self.prompt_width + self.consumed : self.prompt_width + width].tolist()
        for row, tokens in enumerate(new):
            for token in tokens:
                if self.done[row] or self.failed[row]:
                    break
                matcher = self.matchers[row]
                if not matcher.consume_token(token):
                    self.failed[row] = matcher.get_error() or f"token {token} rejected"
                    break
                self.debts[row].feed(self.compiled.token_bytes(token))
                if matcher.is_accepting():
                    self.done[row] = True
        self.consumed = width

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.matchers is None:
            self._build(scores.shape[-1])
        self.advance(input_ids)
        active = [row for row in range(self.batch_size) if not (self.done[row] or self.failed[row])]
        if not active:
            return scores
        self.bitmask.fill_(-1)
        if self.compiled.vocab_width >= PARALLEL_MASK_VOCAB and len(active) > 1:
            self.llguidance.torch.fill_next_token_bitmask_par(
                self.compiled.executor, [(self.matchers[row], row) for row in active], self.bitmask
            )
        else:  # llguidance.torch.fill_next_token_bitmask without its per-call checks (the buffer is ours)
            pointer, stride = self.bitmask.data_ptr(), self.bitmask.stride(0) * self.bitmask.element_size()
            for row in active:
                self.matchers[row].unsafe_compute_mask_ptr(pointer + row * stride, stride)
        bits = np.unpackbits(self.bitmask.numpy().view(np.uint8), axis=1, bitorder="little")[:, : scores.shape[-1]]
        forbidden = torch.from_numpy(bits) == 0
        remaining = self.max_new_tokens - self.consumed  # tokens still to generate, this one included
        for row in active:
            debt = self.debts[row]
            if debt.braces >= MAX_BRACES:
                forbidden[row] |= self.compiled.brace_tokens()[: forbidden.shape[1]]
            if not self.wrapping[row] and remaining > debt.closing_tokens() + STEER_MARGIN:
                continue
            choice = self._closing_token(row, forbidden[row])
            if choice is not None:
                self.forced_steps += 1
                forbidden[row] = True
                forbidden[row, choice] = False
        return scores.masked_fill_(forbidden.to(scores.device), float("-inf"))

    def _closing_token(self, row: int, forbidden: torch.Tensor) -> int | None:
        """The most closing token the grammar allows this row now, or one the grammar forces; None: the model picks."""
        for char in self.debts[row].preferred():
            token = self.compiled.closer_ids.get(char)
            if token is not None and token < forbidden.shape[0] and not bool(forbidden[token]):
                return token
        if self.debts[row].utf8:  # finish the character: any one continuation byte the grammar allows
            for token in self.compiled.continuation_ids:
                if token < forbidden.shape[0] and not bool(forbidden[token]):
                    return token
        forced = self.matchers[row].compute_ff_tokens()
        return forced[0] if forced else None

    def wrap_up(self, row: int) -> None:
        """Close ``row``'s graph from its next token on, as if its budget had run out (a row caught in a loop)."""
        self.wrapping[row] = True

    def unfinished(self) -> list[int]:
        """Rows whose graph is not complete (after the last ``advance``)."""
        return [row for row in range(self.batch_size) if not self.done[row]]


class GrammarComplete(StoppingCriteria):
    """Stops each row as soon as its grammar matcher has seen a complete graph (replaces ``GraphClosed``)."""

    def __init__(self, constraint: DotGrammarConstraint) -> None:
        self.constraint = constraint

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        self.constraint.advance(input_ids)
        stop = [done or failed is not None for done, failed in zip(self.constraint.done, self.constraint.failed)]
        return torch.tensor(stop, dtype=torch.bool, device=input_ids.device)


# ----------------------------------------------------------------------------------------------------------------------
# Checking a whole text against the grammar (tests, scripts/check_grammar_corpora.py): one byte per token, so a
# rejection points at the exact byte.


class _ByteTokens:
    """A 257-token vocabulary for llguidance: the 256 bytes and an EOS."""

    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([value]) for value in range(256)] + [b"<eos>"]
    special_token_ids = [256]

    def __call__(self, text: bytes | str) -> list[int]:
        return list(text.encode("utf-8") if isinstance(text, str) else text)


@lru_cache(maxsize=1)
def _byte_matcher():
    llguidance = require_llguidance()
    tokenizer = llguidance.LLTokenizer(llguidance.TokenizerWrapper(_ByteTokens()))
    return llguidance.LLMatcher(tokenizer, llguidance.LLMatcher.grammar_from_lark(dot_grammar()), log_level=0)


def grammar_rejects(text: str) -> str | None:
    """Why the DOT grammar rejects ``text`` as one complete graph (None: it accepts).

    The reason names the first byte no DOT graph can continue with (``graph { a -> b }`` gives
    ``line 1, column 12: unexpected '> b }'``: the ``-`` could still start ``--``), or says the text ends inside the
    graph. Not a doctest because llguidance is optional; tests/model/test_constrained.py has these cases.
    """
    matcher = _byte_matcher().deep_copy()
    data = text.encode("utf-8", "surrogatepass")
    valid = matcher.validate_tokens(list(data))
    if matcher.is_error():  # a resource limit of the engine, not a verdict on the text
        return "grammar engine: " + matcher.get_error().splitlines()[0]
    if valid < len(data):
        before = data[:valid].decode("utf-8", "replace")
        line = before.count("\n") + 1
        column = valid - (data.rfind(b"\n", 0, valid) + 1) + 1
        context = data[valid : valid + 24].decode("utf-8", "replace")
        return f"line {line}, column {column}: unexpected {context!r}"
    matcher.consume_tokens(list(data))
    if not matcher.is_accepting():
        return "incomplete: the text ends inside the graph"
    return None
