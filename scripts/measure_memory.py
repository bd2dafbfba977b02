#!/usr/bin/env python
"""Peak GPU memory of QLoRA training at a fixed worst-case shape: every row of the batch full length.

    python scripts/measure_memory.py --base_model embedded:qwen2.5-coder-1.5b-instruct --batch 4 --length 512

A short copy of the real training step (nanoGPT's bench.py idea): DotLoRAModule.build loads the nf4 base and wraps
it with LoRA exactly as `fit` does, the batch comes from dotlightning.data.collate, the loss is the module's own
causal_lm_loss, and the optimizer is the module's fused AdamW. Real fits meet shorter rows (length-grouped
batches), so this is an upper bound for `data.max_seq_length` = --length. Prints one JSON line last:
max_memory_allocated (what an 8 GB card must hold, CUDA context aside) and max_memory_reserved (what the caching
allocator took), in GiB.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from dotlightning.data import collate
from dotlightning.loss import causal_lm_loss
from dotlightning.model import DotLoRAModule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base_model", default="embedded:qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--targets", default="q_proj,v_proj", help="comma-separated, or all-linear")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--accumulate", type=int, default=4)
    parser.add_argument("--optimizer_steps", type=int, default=2)
    parser.add_argument("--gradient_checkpointing", type=int, default=1)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("measure_memory.py measures CUDA memory. Fix: run it on a machine with a GPU.")

    targets = args.targets if args.targets == "all-linear" else args.targets.split(",")
    module = DotLoRAModule(base_model=args.base_model, quantization="nf4", target_modules=targets,
                           gradient_checkpointing=bool(args.gradient_checkpointing))
    device = torch.device("cuda")
    module.build(device)
    parameters = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=2e-4, fused=True)
    vocab = module.model.get_input_embeddings().weight.shape[0]
    generator = torch.Generator().manual_seed(0)
    prompt = args.length // 4  # a quarter prompt (masked), the rest labelled completion
    torch.cuda.reset_peak_memory_stats()
    weights_gib = torch.cuda.memory_allocated() / 2**30
    started = time.perf_counter()
    losses = []
    for _ in range(args.optimizer_steps):
        for _ in range(args.accumulate):
            examples = []
            for _ in range(args.batch):
                ids = torch.randint(0, vocab, (args.length,), generator=generator).tolist()
                examples.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:], "prompt_ids": ids[:prompt],
                                 "prompt": "", "completion": "", "kind": "", "source": "", "id": ""})
            batch = collate(examples, pad_id=0)
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            loss = causal_lm_loss(module.model, batch, kernel=module.hparams.loss_kernel) / args.accumulate
            loss.backward()
            losses.append(float(loss) * args.accumulate)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    result = {
        "base_model": args.base_model, "targets": args.targets, "batch": args.batch, "length": args.length,
        "accumulate": args.accumulate, "gradient_checkpointing": bool(args.gradient_checkpointing),
        "weights_gib": round(weights_gib, 3),
        "max_memory_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3),
        "max_memory_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 3),
        "seconds_per_optimizer_step": round((time.perf_counter() - started) / args.optimizer_steps, 2),
        "losses": [round(x, 3) for x in losses], "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
