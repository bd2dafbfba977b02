"""Prompt formats: how a description becomes the text the model sees, and which tokens the loss is computed on.

Two styles, one switch (``style``):

- ``"tags"`` (default, works with any base model, chat-tuned or not)::

      <system>{system}</system>
      <user>{description}</user>
      <assistant>{completion}<EOS>

  The EOS token stands for ``</assistant>``: the model learns to stop right after the closing ``}`` of the graph.
- ``"chat"``: the tokenizer's own chat template (``apply_chat_template``). Templates without a system role (e.g.
  Gemma's) get the system text folded into the first user turn, separated by a blank line. The completion is again
  followed by EOS, so generation stops the same way in both styles.

Tokenization is done per part (prompt, then completion) and concatenated, so the boundary between "masked" and
"labelled" is exact by construction: the labelled tokens decode to the completion plus EOS, the masked ones to the
prompt. Exactly one BOS is kept where the tokenizer uses one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_SYSTEM = "You are a DOT graph generator."
IGNORE_INDEX = -100  # what torch.nn.functional.cross_entropy ignores by default


def uses_bos(tokenizer: Any) -> bool:
    """Whether the tokenizer prepends BOS when encoding with special tokens (Llama/Gemma yes, Qwen/GPT-2 no)."""
    bos = tokenizer.bos_token_id
    return bos is not None and tokenizer("x", add_special_tokens=True)["input_ids"][:1] == [bos]


def eos_id(tokenizer: Any) -> int:
    if tokenizer.eos_token_id is None:
        raise ValueError(
            f"{type(tokenizer).__name__} has no eos_token: the model would never learn to stop. "
            f"Fix: set tokenizer.eos_token (e.g. tokenizer.eos_token = '</s>') before building the data."
        )
    return tokenizer.eos_token_id


@dataclass(frozen=True)
class PromptFormat:
    """How to turn a description (and optionally its DOT) into token ids and labels."""

    style: Literal["tags", "chat"] = "tags"
    """'tags': <system>/<user>/<assistant> tags (any base model); 'chat': the tokenizer's chat template."""
    system: str = DEFAULT_SYSTEM
    """System instruction; folded into the first user turn when the chat template has no system role."""

    def __post_init__(self) -> None:
        if self.style not in ("tags", "chat"):
            raise ValueError(f"prompt style {self.style!r} is not supported. Fix: use 'tags' or 'chat'.")

    def render(self, description: str, tokenizer: Any) -> str:
        """The text the model sees before the completion (ends where the model starts writing DOT)."""
        if self.style == "tags":
            return f"<system>{self.system}</system>\n<user>{description}</user>\n<assistant>"
        return self._render_chat(description, tokenizer)

    def _render_chat(self, description: str, tokenizer: Any) -> str:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                f"prompt_style='chat' but {type(tokenizer).__name__} ({getattr(tokenizer, 'name_or_path', '')!r}) "
                f"has no chat template. Fix: use prompt_style='tags', or set tokenizer.chat_template."
            )

        def apply(messages: list[dict[str, str]]) -> str:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

        if self.system:
            # Templates without a system role either raise (Gemma 2) or silently drop it; detect both and fold the
            # system text into the user turn so the instruction is never lost.
            try:
                text = apply([{"role": "system", "content": self.system},
                              {"role": "user", "content": description}])
                if self.system in text:
                    return text
            except Exception:  # noqa: BLE001 - jinja raise_exception / TemplateError: template has no system role
                pass
            return apply([{"role": "user", "content": f"{self.system}\n\n{description}"}])
        return apply([{"role": "user", "content": description}])

    def encode(
        self,
        tokenizer: Any,
        description: str,
        completion: str | None = None,
        train_on_prompt: bool = False,
    ) -> dict[str, Any]:
        """Token ids and labels for one example.

        Returns ``{"input_ids": list[int], "labels": list[int], "prompt_length": int}``. With ``completion=None`` the
        ids are the prompt only (for generation) and every label is ignored (-100). Otherwise the labels are -100 on
        the prompt and the token ids on completion + EOS (on everything if ``train_on_prompt``).
        """
        prompt_ids = list(tokenizer(self.render(description, tokenizer), add_special_tokens=False)["input_ids"])
        if uses_bos(tokenizer):
            bos = tokenizer.bos_token_id
            # Chat templates usually write the BOS text themselves; tags never do. Either way: exactly one.
            while prompt_ids[:1] == [bos]:
                prompt_ids.pop(0)
            prompt_ids.insert(0, bos)
        if completion is None:
            return {"input_ids": prompt_ids, "labels": [IGNORE_INDEX] * len(prompt_ids),
                    "prompt_length": len(prompt_ids)}
        completion_ids = list(tokenizer(completion, add_special_tokens=False)["input_ids"]) + [eos_id(tokenizer)]
        input_ids = prompt_ids + completion_ids
        labels = list(input_ids) if train_on_prompt else [IGNORE_INDEX] * len(prompt_ids) + completion_ids
        return {"input_ids": input_ids, "labels": labels, "prompt_length": len(prompt_ids)}
