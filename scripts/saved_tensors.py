"""What the training forward keeps for backward, eager against compiled: the memory a recompute lever could free.

    python scripts/saved_tensors.py --shape gemma3-270m --layers 2 --compile default
    python scripts/saved_tensors.py --shape gemma3-270m --layers 2 --compile default --activation_memory_budget 0.1

Builds the step as ``scripts/benchmark.py`` does (configs/gemma.yaml, nf4, LoRA on q,v, packed rows; a random model of
``--shape``), runs one training forward under ``torch.autograd.graph.saved_tensors_hooks`` and prints the saved bytes
grouped by shape and dtype, biggest first. nf4 weights show up as uint8 tensors: those are the parameters themselves
(references, no extra memory), not dequantised copies. ``--activation_memory_budget`` sets
``torch._functorch.config.activation_memory_budget`` (the partitioner's recompute budget, used only when compiled).
Inductor's caches are off, so the budget is honoured rather than a cached graph reused.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")

import torch  # noqa: E402
import torch._functorch.config  # noqa: E402
import torch._inductor.config  # noqa: E402

from benchmark import build  # noqa: E402
from random_shapes import SHAPES, TINY, build_base  # noqa: E402
from dotlightning.model.loss import causal_lm_loss  # noqa: E402


def saved_bytes(module, batch) -> tuple[collections.Counter, collections.Counter, float]:
    """Bytes and counts of the tensors one training forward saves for backward, by (shape, dtype); and the loss."""
    size, count = collections.Counter(), collections.Counter()

    def pack(tensor):
        key = (tuple(tensor.shape), str(tensor.dtype).removeprefix("torch."))
        size[key] += tensor.numel() * tensor.element_size()
        count[key] += 1
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = causal_lm_loss(module.model, batch, backbone=module._compiled_backbone)
    loss.backward()
    return size, count, loss.item()


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/gemma.yaml")
    parser.add_argument("--base_model", default="embedded:gemma3-270m", help="whose tokenizer encodes the data")
    parser.add_argument("--shape", default="gemma3-270m", choices=[*sorted(SHAPES), TINY])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--compile", default="null", help="model.compile: null (eager), default, reduce-overhead")
    parser.add_argument("--compile_scope", default="auto", help="model.compile_scope: auto, layers, backbone")
    parser.add_argument("--gradient_checkpointing", action="store_true")
    parser.add_argument("--pack_length", type=int, default=256)
    parser.add_argument("--activation_memory_budget", type=float)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args(argv)
    if args.activation_memory_budget is not None:
        torch._functorch.config.activation_memory_budget = args.activation_memory_budget
    module, data, _, _ = build([
        "--config", args.config, "--model.base_model", args.base_model, "--data.prompt_style", "tags",
        "--data.packing", "true", "--data.pack_length", str(args.pack_length), "--data.batch_size", "1",
        "--data.limit_train", "64", "--model.lora_dropout", "0.0", "--model.compile", args.compile,
        "--model.compile_scope", args.compile_scope,
        "--model.gradient_checkpointing", str(args.gradient_checkpointing).lower()])
    device = torch.device("cpu")
    vocab = len(module.tokenizer) if args.shape == TINY else max(262144, len(module.tokenizer))
    module.build(device, base=build_base(args.shape, device, torch.bfloat16, args.layers, "nf4", vocab),
                 datamodule=data)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    module.model.train()
    rows = []
    with torch._inductor.config.patch({"cpp.vec_isa_ok": False}):  # scalar CPU kernels: a faster cold compile
        for call in ("first", "second"):
            started = time.perf_counter()
            size, count, loss = saved_bytes(module, batch)
            print(f"{args.shape}, {args.layers} layers, compile {args.compile} ({module._compile_scope}), checkpointing "
                  f"{args.gradient_checkpointing}, budget {args.activation_memory_budget}, {call} step "
                  f"({time.perf_counter() - started:.1f} s): {sum(size.values()) / 2**20:.1f} MiB in "
                  f"{sum(count.values())} tensors, loss {loss:.4f}")
            rows.append({"step": call, "saved_bytes": sum(size.values()), "tensors": sum(count.values()), "loss": loss})
    for key, nbytes in size.most_common(args.top):
        print(f"  {nbytes / 2**20:8.2f} MiB  x{count[key]:<3d} {key[0]} {key[1]}")
    return rows


if __name__ == "__main__":
    main()
