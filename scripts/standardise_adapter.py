"""Bring an adapter saved by an older dotlightning up to the standard form that ``export`` now writes.

    python scripts/standardise_adapter.py dotlightning/adapters/gemma3-270m-dot --shipped

Rewrites ``adapter_config.json``'s ``base_model_name_or_path`` to the base's hub id, saves the base tokenizer (with
the training format's chat template) and writes the model card. ``--shipped`` also records the shipped adapter's
recipe and measured metrics (README, Results: v3 dataset, 8 epochs, scored 2026-11-25).
"""

from __future__ import annotations

import argparse

from dotlightning.model.base_models import load_tokenizer
from dotlightning.model.adapter_export import finish_adapter
from dotlightning.model.adapter_metadata import read_adapter_metadata

SHIPPED_RECIPE = {"learning_rate": 1e-3, "warmup_ratio": 0.1, "weight_decay": 0.0, "epochs": 8,
                  "effective batch": "16 (4 x 4 accumulation)", "max_seq_length": 1024}
SHIPPED_DATA = "dotlightning shipped dataset v3 (3,600 train pairs: nl, docs, code and smcat sources; data/train.jsonl)"
SHIPPED_METRICS = {  # README, "Base vs fine-tuned: the headline table (v3, 2026-11-25)"; greedy, bf16 base + adapter
    "test v3 (200)": {"parse": 0.950, "node F1": 0.877, "edge F1": 0.789, "edge-label F1": 0.809, "exact": 0.550},
    "hand-written prompts (42)": {"parse": 0.929, "node F1": 0.764, "edge F1": 0.525, "edge-label F1": 0.657,
                                  "exact": 0.119},
    "smcat fixtures (93)": {"parse": 0.828, "node F1": 0.576, "edge F1": 0.293, "edge-label F1": 0.250, "exact": 0.194},
    "base model, test v3 (100)": {"parse": 0.0, "node F1": 0.0, "edge F1": 0.0, "edge-label F1": 0.0, "exact": 0.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("adapter")
    parser.add_argument("--shipped", action="store_true")
    args = parser.parse_args()
    metadata = read_adapter_metadata(args.adapter)
    if args.shipped:
        metadata |= {"recipe": SHIPPED_RECIPE, "data": SHIPPED_DATA, "metrics": SHIPPED_METRICS}
    finish_adapter(args.adapter, metadata, load_tokenizer(metadata["base_model"]))
    print(f"standardised {args.adapter}")


if __name__ == "__main__":
    main()
