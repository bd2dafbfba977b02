"""Best of n: sample n graphs per prompt and keep the one a verifier that needs no reference prefers.

At prediction time there is no reference graph, but three things can still be checked, in this order:

1. **It parses** (Graphviz accepts it). With ``constrained`` decoding every candidate does, and the next two decide.
2. **It covers what the prompt names**: quoted phrases (``"Start Here"``), code-like identifiers (``load_data``,
   ``step2``, ``camelCase``), and every other word of the prompt that some candidate uses as a node id (so "idle"
   counts once any sample drew a node ``idle``, while "the" never does). Coverage is the fraction of those names
   that are node ids of the candidate, after the same normalisation the metrics use.
3. **It agrees with the other samples**: the mean edge-set F1 to the other parsed candidates (self-consistency:
   the structure most samples share is the likeliest to be what the prompt describes).

Candidates are ranked by (parses, coverage, agreement); ties go to the earlier sample. Greedy decoding (n = 1)
stays the default everywhere; this is opt-in (``generate --num_samples n``).

>>> names = prompt_names('An "Order Placed" event moves load_data to idle', ["digraph { idle -> load_data }"])
>>> sorted(names)
['idle', 'load data', 'order placed']
>>> choose(['digraph { a -> b', 'digraph { a -> b }', 'digraph { a -> b; b -> c }', 'digraph { a -> b; b -> c }'],
...        'a to b to c')
2
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from dotlightning.metrics.dot import Graph, normalize_id, parse_dot
from dotlightning.metrics.graph_metrics import set_f1

_QUOTED = re.compile(r'"([^"]+)"|\'([^\']+)\'|`([^`]+)`|\u201c([^\u201d]+)\u201d')
_WORD = re.compile(r"[^\W\d][\w\-]*|\d+[A-Za-z_]\w*", re.UNICODE)
_CODE_LIKE = re.compile(r"_|\d|[a-z][A-Z]")  # snake_case, digits, camelCase: names, not English words


def prompt_names(prompt: str, candidates: Sequence[str | Graph | None] = ()) -> set[str]:
    """The normalised names the prompt asks for: quoted phrases, code-like identifiers, and the prompt's words that
    appear as a node id in any of ``candidates`` (DOT texts or parsed graphs)."""
    names = {normalize_id(next(group for group in match.groups() if group)) for match in _QUOTED.finditer(prompt)}
    words = {normalize_id(word) for word in _WORD.findall(prompt)}
    names |= {normalize_id(word) for word in _WORD.findall(prompt) if _CODE_LIKE.search(word)}
    for candidate in candidates:
        graph = parse_dot(candidate) if isinstance(candidate, str) else candidate
        if graph is not None:
            names |= words & graph.nodes
    names.discard("")
    return names


def coverage(graph: Graph | None, names: set[str]) -> float:
    """Fraction of ``names`` that are node ids of ``graph`` (1.0 when there are no names; 0.0 when unparsed).

    >>> coverage(parse_dot("graph { idle -- busy }"), {"idle", "done"})
    0.5
    """
    if graph is None:
        return 0.0
    return 1.0 if not names else len(names & graph.nodes) / len(names)


def rank(candidates: Sequence[str], prompt: str) -> list[tuple[float, float, float]]:
    """(parses, coverage, agreement) for each candidate: the verifier's score, compared as a tuple."""
    graphs = [parse_dot(text) for text in candidates]
    names = prompt_names(prompt, graphs)
    scores = []
    for index, graph in enumerate(graphs):
        others = [other for j, other in enumerate(graphs) if j != index and other is not None]
        if graph is None:
            scores.append((0.0, 0.0, 0.0))
            continue
        agreement = sum(set_f1(graph.edges, other.edges) for other in others) / len(others) if others else 0.0
        scores.append((1.0, coverage(graph, names), agreement))
    return scores


def choose(candidates: Sequence[str], prompt: str) -> int:
    """Index of the candidate the verifier prefers (the earliest among equals)."""
    scores = rank(candidates, prompt)
    return max(range(len(candidates)), key=lambda index: (scores[index], -index))


def best_of_n(
    model,
    tokenizer,
    prompt_ids: Sequence[Sequence[int]],
    prompts: Sequence[str],
    *,
    num_samples: int = 4,
    temperature: float = 0.7,
    seed: int = 0,
    max_new_tokens: int = 512,
    batch_size: int = 16,
    constrained: bool = False,
    return_candidates: bool = False,
    progress: bool = False,
    repair: bool = True,
):
    """For each prompt, sample ``num_samples`` completions at ``temperature`` and return the verifier's choice.

    ``prompt_ids`` are the formatted prompts (as for ``generate_dot``), ``prompts`` the plain descriptions the
    verifier reads names from. All samples of all prompts go through ``generate_dot`` in shared batches; the draw is
    seeded, so the same call gives the same answer. With ``return_candidates`` the result is
    ``(choices, candidates)`` where ``candidates[i]`` lists prompt i's samples.
    """
    from dotlightning.model.generation import generate_dot

    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}. Fix: pass 1 for a single sample.")
    if len(prompt_ids) != len(prompts):
        raise ValueError(f"{len(prompt_ids)} prompt_ids but {len(prompts)} prompts. Fix: pass one description per prompt.")
    expanded = [ids for ids in prompt_ids for _ in range(num_samples)]
    torch.manual_seed(seed)
    texts = generate_dot(model, tokenizer, expanded, max_new_tokens=max_new_tokens, batch_size=batch_size,
                         constrained=constrained, temperature=temperature, progress=progress, repair=repair)
    candidates = [texts[i * num_samples : (i + 1) * num_samples] for i in range(len(prompt_ids))]
    choices = [samples[choose(samples, prompt)] for samples, prompt in zip(candidates, prompts)]
    return (choices, candidates) if return_candidates else choices
