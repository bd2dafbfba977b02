"""Batched greedy generation of DOT: left padding, the KV cache, and a per-sequence stop when the graph closes.

Validation, ``test`` and the ``generate`` command all call :func:`generate_dot`, so the numbers in the validation loop
are the numbers a user gets.

Why not plain ``model.generate(max_new_tokens=512)`` one prompt at a time: a batch shares each forward pass, and a
sequence stops as soon as its first graph's braces close rather than running to EOS or the token limit (an untuned
base model rarely emits EOS, and without this every base-model evaluation runs the full ``max_new_tokens``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from dotlightning.metrics.dot import parse_dot
from dotlightning.metrics.repair import repair_dot


class GraphClosed(StoppingCriteria):
    """Stops each sequence once the braces of the first graph it wrote are balanced again.

    A tiny scanner over the newly generated tokens tracks brace depth outside ``"..."`` strings (with ``\\"``
    escapes), so a label such as ``"{x}"`` does not end the graph early. A stray quote (a label of three quotes, seen on
    2026-12-02) would hide the real end inside a "string", and the model then wrote prose to the token limit; so a
    ``}`` that opens a line also ends the graph once all braces, in strings or not, are balanced.
    """

    def __init__(self, tokenizer, batch_size: int) -> None:
        self.tokenizer = tokenizer
        self.depth = [0] * batch_size
        self.opened = [False] * batch_size
        self.in_string = [False] * batch_size
        self.escaped = [False] * batch_size
        self.done = [False] * batch_size
        self.raw_depth = [0] * batch_size  # every brace, strings or not
        self.previous = ["\n"] * batch_size  # the character before the current one
        self._text: dict[int, str] = {}

    def _token_text(self, token_id: int) -> str:
        text = self._text.get(token_id)
        if text is None:
            text = self._text[token_id] = self.tokenizer.decode([token_id])
        return text

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        for row, token_id in enumerate(input_ids[:, -1].tolist()):
            if self.done[row]:
                continue
            for char in self._token_text(token_id):
                previous, self.previous[row] = self.previous[row], char
                if char in "{}":
                    self.raw_depth[row] += 1 if char == "{" else -1
                    if char == "}" and previous == "\n" and self.opened[row] and self.raw_depth[row] <= 0:
                        self.done[row] = True
                        break
                if self.in_string[row]:
                    if self.escaped[row]:
                        self.escaped[row] = False
                    elif char == "\\":
                        self.escaped[row] = True
                    elif char == '"':
                        self.in_string[row] = False
                elif char == '"':
                    self.in_string[row] = True
                elif char == "{":
                    self.depth[row] += 1
                    self.opened[row] = True
                elif char == "}" and self.opened[row]:
                    self.depth[row] -= 1
                    if self.depth[row] == 0:
                        self.done[row] = True
                        break
        return torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)


class RepetitionStop(StoppingCriteria):
    """Stops a sequence caught in a loop: its last ``min_span`` or more new tokens are one chunk repeated (at least 3
    copies, the chunk at most ``max_period`` tokens).

    Such a sequence never closes its graph (measured 2026-12-02 on the CPU: the shipped adapter repeated one sentence
    inside a label to the 1,024-token limit on a state-machine-cat test prompt, which kept its whole batch of 16 busy
    for minutes), so it is invalid either way; stopping it early only saves the time. A real graph does not repeat 96
    tokens verbatim: its lines differ in their IDs. Checked every ``every`` steps, on the last few hundred tokens.

    Under the grammar a cut row would be an unfinished graph, so there ``on_loop(row)`` is called instead
    (``DotGrammarConstraint.wrap_up``: close the graph now) and the row is stopped only if it is still running
    ``grace`` tokens later. Measured 2026-12-02 on the H200: 10 of 93 state-machine-cat fixtures from the first Qwen
    adapter, decoded under the grammar, were loops cut mid-graph.

    >>> import torch
    >>> stop = RepetitionStop(prompt_width=2, min_span=12, every=1)
    >>> stop(torch.tensor([[9, 9] + [1, 2, 3, 4] * 3, [9, 9] + list(range(12))]), None).tolist()
    [True, False]
    >>> handed = []
    >>> stop = RepetitionStop(prompt_width=0, min_span=12, every=1, on_loop=handed.append, grace=2)
    >>> [stop(torch.tensor([[1, 2, 3, 4] * 3 + [1] * k]), None).tolist() for k in range(4)], handed
    ([[False], [False], [False], [True]], [0])
    """

    def __init__(self, prompt_width: int, min_span: int = 96, max_period: int = 128, every: int = 8,
                 on_loop=None, grace: int = 64) -> None:
        self.prompt_width, self.min_span, self.max_period, self.every = prompt_width, min_span, max_period, every
        self.on_loop, self.grace = on_loop, grace
        self._calls = 0
        self.done: list[bool] | None = None
        self.handed: dict[int, int] = {}  # row -> generated length when on_loop was called

    def _looping(self, tokens: list[int]) -> bool:
        for period in range(1, self.max_period + 1):
            span = max(3 * period, -(-self.min_span // period) * period)
            if span > len(tokens):
                break
            chunk = tokens[-period:]
            if tokens[-span:] == chunk * (span // period):
                return True
        return False

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        if self.done is None:
            self.done = [False] * input_ids.shape[0]
        self._calls += 1
        new = input_ids.shape[1] - self.prompt_width
        for row, since in self.handed.items():
            self.done[row] = self.done[row] or new - since > self.grace
        if self._calls % self.every == 0 and new >= self.min_span:
            window = input_ids[:, -min(new, 3 * self.max_period + self.min_span):].tolist()
            for row, tokens in enumerate(window):
                if self.done[row] or row in self.handed or not self._looping(tokens):
                    continue
                if self.on_loop is None:
                    self.done[row] = True
                else:
                    self.on_loop(row)
                    self.handed[row] = new
        return torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)


@contextlib.contextmanager
def _fresh_head_input(model) -> Iterator[None]:
    """On CPU, generate() hands the LM head a strided [B, 1, H] slice, and F.linear on it in bf16 takes a bmm path
    that copies the whole [V, H] weight per row (85 s instead of 0.3 s per step at V=262k, torch 2.13). ``contiguous()``
    is a no-op for such size-1 dims, so the hook copies the input into fresh default strides."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None or next(model.parameters()).device.type != "cpu":
        yield
        return
    handle = head.register_forward_pre_hook(lambda _module, args: tuple(x.new_empty(x.shape).copy_(x) for x in args))
    try:
        yield
    finally:
        handle.remove()


@torch.no_grad()
def generate_dot(
    model,
    tokenizer,
    prompt_ids: Sequence[Sequence[int]],
    *,
    max_new_tokens: int = 512,
    batch_size: int = 16,
    progress: bool = False,
    constrained: bool = False,
    temperature: float | None = None,
    repair: bool = True,
    strict_grammar: bool = False,
) -> list[str]:
    """Decode one completion per prompt, greedily by default (token ids already in the training prompt format).

    Prompts are sorted by length so that each batch pads little, generated with left padding and the KV cache,
    and returned in the original order, decoded without special tokens.

    ``constrained``: mask every step to the DOT grammar (``constrained.py``; needs llguidance), so each completion is
    one graph that Graphviz parses; rows stop when their graph is complete instead of on ``GraphClosed``.
    ``temperature``: sample at this temperature instead of decoding greedily (best-of-n draws its candidates so; seed
    with ``torch.manual_seed`` for repeatable draws).
    ``repair``: quote bare IDs that DOT does not allow (``tidepool-core``) where that makes a rejected graph valid
    (``repair.py``); a graph Graphviz accepts, or one beyond that repair, is returned as generated. Constrained
    output is always repaired: its grammar lets the model write such names (``constrained.decoding_grammar``); a row
    whose repaired text still does not parse (seen only with random weights: ``3un3-x``, which Graphviz splits after
    the numeral) is decoded again under ``dot.lark`` itself (``strict_grammar``), so every constrained row parses.
    """
    if constrained:
        from dotlightning.model.constrained import require_llguidance

        require_llguidance()  # fail before the first batch, with the install hint
    sampling = dict(do_sample=True, temperature=temperature, top_p=1.0, top_k=0) if temperature else dict(
        do_sample=False, top_p=None, top_k=None, temperature=None)
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    order = sorted(range(len(prompt_ids)), key=lambda i: len(prompt_ids[i]))
    outputs: list[str] = [""] * len(prompt_ids)
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="generate", unit="batch")
    was_training = model.training
    model.eval()
    for batch in batches:
        width = max(len(prompt_ids[i]) for i in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, index in enumerate(batch):
            ids = prompt_ids[index]
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1
        if constrained:
            from dotlightning.model.constrained import DotGrammarConstraint, GrammarComplete

            constraint = DotGrammarConstraint(tokenizer, len(batch), width, max_new_tokens, strict=strict_grammar)
            guidance = dict(logits_processor=LogitsProcessorList([constraint]),
                            stopping_criteria=StoppingCriteriaList([GrammarComplete(constraint),
                                                                    RepetitionStop(width, on_loop=constraint.wrap_up)]))
        else:
            guidance = dict(stopping_criteria=StoppingCriteriaList([GraphClosed(tokenizer, len(batch)),
                                                                    RepetitionStop(width)]))
        with _fresh_head_input(model):
            generated = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                max_new_tokens=max_new_tokens,
                **sampling,
                pad_token_id=pad_id,
                eos_token_id=tokenizer.eos_token_id,
                **guidance,
            )
        texts = tokenizer.batch_decode(generated[:, width:], skip_special_tokens=True)
        for index, text in zip(batch, texts):
            # constrained: always, since the decoding grammar admits names that only repair makes valid
            outputs[index] = repair_dot(text) if repair or constrained else text
    if constrained and not strict_grammar:
        retry = [i for i, text in enumerate(outputs) if parse_dot(text) is None]
        if retry:
            again = generate_dot(model, tokenizer, [prompt_ids[i] for i in retry], max_new_tokens=max_new_tokens,
                                 batch_size=batch_size, constrained=True, temperature=temperature, repair=repair,
                                 strict_grammar=True)
            for index, text in zip(retry, again):
                outputs[index] = text
    if was_training:
        model.train()
    return outputs
