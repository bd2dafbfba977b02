#!/usr/bin/env python
"""Find where a finite loss turns into NaN/Inf gradients: one training batch, forward + backward, per variant.

    python scripts/diagnose_nonfinite.py --base_model embedded:qwen2.5-coder-1.5b-instruct --batches 40,41

Why: on an H200 (2026-12-01) Qwen2.5-Coder 1.5B and 0.5B under nf4 + bf16 gave a finite loss but non-finite LoRA
gradients at batch 40 of the shipped data's first epoch (seed 42, batch 16), and every later step was NaN; the same
batch on CPU in bf16 is finite. ``model.skip_nonfinite_loss`` drops such updates; this script finds the cause.

For each variant (attention kernel x base quantization) it builds the module as ``fit`` does, takes the listed
batches from the real DotDataModule (same seed, batch size and prompt style as the run), nudges the LoRA B matrices
off zero (as after a few steps, so gradients reach every layer), runs the project's loss and backward, and reports
the loss, the number of non-finite LoRA gradients and the first module (in backward order) whose gradient w.r.t. its
output was non-finite.
"""

from __future__ import annotations

import argparse
import json

import lightning.pytorch as L
import torch

from dotlightning.data.datamodule import DotDataModule
from dotlightning.model.loss import causal_lm_loss
from dotlightning.model.module import DotLoRAModule


def first_nonfinite_module(model: torch.nn.Module) -> tuple[list, list[str]]:
    """Backward hooks that record, in the order backward reaches them, modules whose grad_output is non-finite."""
    seen: list[str] = []
    handles = []
    for name, module in model.named_modules():
        def hook(_module, grad_input, grad_output, name=name):
            if any(g is not None and not bool(torch.isfinite(g).all()) for g in grad_output):
                seen.append(name)
        handles.append(module.register_full_backward_hook(hook))
    return handles, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base_model", default="embedded:qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--batches", default="40,41", help="comma-separated batch indices of epoch 0")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--prompt_style", default="tags")
    parser.add_argument("--variants", default="sdpa:nf4,eager:nf4,sdpa:none,eager:none")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    wanted = {int(index) for index in args.batches.split(",")}
    for variant in args.variants.split(","):
        attention, quantization = variant.split(":")
        L.seed_everything(42)
        module = DotLoRAModule(base_model=args.base_model, quantization=quantization, attn_implementation=attention,
                               target_modules=["q_proj", "v_proj"])
        data = DotDataModule(batch_size=args.batch_size, max_seq_length=1024, prompt_style=args.prompt_style)
        data.connect(module.tokenizer)
        data.setup("fit")
        module.build(device)
        for name, parameter in module.model.named_parameters():
            if "lora_B" in name:
                torch.nn.init.normal_(parameter, std=1e-3)
        for index, batch in enumerate(data.train_dataloader()):
            if index > max(wanted):
                break
            if index not in wanted:
                continue
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            module.model.zero_grad(set_to_none=True)
            handles, seen = first_nonfinite_module(module.model)
            loss = causal_lm_loss(module.model, batch, kernel="chunked")
            loss.backward()
            for handle in handles:
                handle.remove()
            bad = [n for n, p in module.model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
            print(json.dumps({"variant": variant, "batch": index, "shape": list(batch["input_ids"].shape),
                              "loss": float(loss.detach()), "nonfinite_lora_grads": len(bad),
                              "first_nonfinite_module": seen[0] if seen else None}), flush=True)
        del module
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
