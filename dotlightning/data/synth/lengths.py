"""The build's length estimate: tokenizer-free, so the build stays fast; ``build`` bounds every record with it, and
``smcat`` sizes its programs in the same units. Letters merge into words (~4 per token) but digits, punctuation and
arrows are often a token each (calibrated against Gemma's tokenizer with ``build_dataset.py --check-tokens``).

>>> estimate_tokens("a -> b")
3.5
"""

from __future__ import annotations


def estimate_tokens(text: str) -> float:
    letters = sum(c.isalpha() for c in text)
    return letters / 4 + (len(text) - letters) * 0.75
