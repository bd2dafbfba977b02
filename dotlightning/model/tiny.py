"""A tiny, randomly initialised Gemma 3 and a tokenizer trained on the fly: the whole pipeline without weights.

Tests and `configs/tiny.yaml` use it (``base_model: tiny``). It is a real transformers checkpoint on disk, so it goes
through exactly the loading, quantisation, LoRA and export code that a real base model does; only the numbers are
random. Building it takes well under a second and the result is cached.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch

# Enough DOT, prompt-format and English text for byte-level BPE to learn useful merges; any text still encodes
# because the byte alphabet is always in the vocabulary.
_TRAINING_TEXT = [
    "<system>You are a DOT graph generator.</system>",
    "<user>Draw a state machine where idle goes to running on start and running returns to idle on stop.</user>",
    "<assistant>digraph G {\n  idle -> running [label=\"start\"];\n  running -> idle [label=\"stop\"];\n}",
    "graph network {\n  a -- b;\n  b -- c;\n  subgraph cluster_0 {\n    label=\"backend\";\n    db;\n  }\n}",
    'digraph "flow chart" {\n  rankdir=LR;\n  node [shape=box];\n  start -> check;\n  check -> done [label="yes"];\n}',
    "def load(): parse(); validate()\nclass Dog(Animal): pass\nimport os\nfunction main() { run(); }\n",
    "initial => off; off => on: switch flipped; on => off: timeout [after 5s]; on => final;",
    "The service calls the database and the cache. Each worker reports to the scheduler.",
]
VOCAB_SIZE = 512
SEED = 1234


def build_tiny_tokenizer():
    """A byte-level BPE tokenizer (~5 ms to train) with <pad>, <eos>, <bos>, <unk> and BOS added like Gemma's."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(_TRAINING_TEXT, trainer=trainer)
    bos = tokenizer.token_to_id("<bos>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", bos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )


def build_tiny_model(vocab_size: int, *, pad_token_id: int, bos_token_id: int, eos_token_id: int):
    """A two-layer Gemma 3 (hidden 64, head_dim 16) with seeded random weights."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        query_pre_attn_scalar=16,
        max_position_embeddings=2048,
        sliding_window=512,
        pad_token_id=pad_token_id,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
    )
    torch.manual_seed(SEED)
    return Gemma3ForCausalLM(config).to(torch.bfloat16)


def build_tiny_checkpoint(target: Path) -> Path:
    """Write the tiny model and tokenizer to ``target`` once (atomically) and return it."""
    if (target / "config.json").is_file():
        return target
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(
        len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tiny-"))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    try:
        os.replace(staging, target)
    except OSError:  # another process won the race; its copy is identical
        shutil.rmtree(staging, ignore_errors=True)
    return target
