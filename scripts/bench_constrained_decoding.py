"""Decode-time overhead of grammar-constrained decoding: generate_dot with and without ``constrained`` on CPU.

    python scripts/bench_constrained_decoding.py [--base_model tiny] [--batch 8] [--max_new_tokens 64] [--repeats 10]
    python scripts/bench_constrained_decoding.py --adapter adapters/gemma3-270m-dot --max_new_tokens 128 --repeats 2
    python scripts/bench_constrained_decoding.py --device cuda --shape qwen2.5-coder-1.5b --base_model TOKENIZER_DIR \
        --prompt_style chat --batch 16 --max_new_tokens 256 --repeats 5

``--shape NAME`` decodes with random weights of that published shape (``scripts/random_shapes.py``) and the real
tokenizer of ``--base_model``: on a GPU box without the weights, the grammar's cost per step is the tokenizer's, not
the weights'. Random weights never finish a graph, so both modes run every pass; the grammar then walks a random
path (long names and strings), not a typical graph's.

Same prompts, same batch, greedy; the two modes alternate so that a busy machine slows both alike. Reports the
median wall time per batch, the forward passes it took (prefill + one per new token, counted by a hook), and the
wall and CPU (process) time per forward pass, whose ratios are the overhead per generated token (constrained rows
stop when their graph is complete, so whole-batch times can differ in step count as well). On a shared machine the
CPU time is the steadier number: other processes stretch the wall clock, not this process's CPU seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dotlightning.model.base_models import load_base_model, load_tokenizer
from dotlightning.metrics.dot import parse_dot
from dotlightning.model.generation import generate_dot
from dotlightning.data.prompts import PromptFormat

PROMPTS = [
    "Draw a directed graph: idle goes to busy on start, and busy goes to done.",
    "An undirected network where the load balancer links to web1, web2 and web3.",
    "A state machine with states start, running, paused and stopped.",
    "A build pipeline: checkout, compile, test, package, deploy.",
    'Nodes "Start Here" and "End There", connected by an edge labelled "go".',
    "A family tree: Alice and Bob are the parents of Carol and Dave.",
    "The service calls the database and the cache; each worker reports to the scheduler.",
    "A cluster named backend with db and queue, and a frontend node that talks to both.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base_model", default="tiny")
    parser.add_argument("--adapter", default=None, help="peft adapter (its base and prompt format replace --base_model)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max_new_tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bf16 on cuda)")
    parser.add_argument("--shape", default=None,
                        help="random weights of this published shape (random_shapes.py), --base_model's tokenizer")
    parser.add_argument("--prompt_style", default="tags", choices=["tags", "chat"])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    fmt = PromptFormat(style=args.prompt_style)
    if args.adapter:
        from dotlightning.model.adapter_metadata import read_adapter_metadata
        from dotlightning.model.module import DotLoRAModule
        from dotlightning.data.prompts import DEFAULT_SYSTEM

        metadata = read_adapter_metadata(args.adapter)
        fmt = PromptFormat(style=metadata.get("prompt_style", "tags"), system=metadata.get("system_prompt") or DEFAULT_SYSTEM)
        module = DotLoRAModule(base_model=metadata.get("base_model") or args.base_model, quantization="none",
                               adapter=args.adapter)
        module.build(device)
        model, tokenizer = module.model.merge_and_unload(), module.tokenizer  # as `generate` decodes (bf16, merged)
    elif args.shape:
        from random_shapes import build_base

        tokenizer = load_tokenizer(args.base_model)
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        model = build_base(args.shape, device, dtype, None, "none", vocab_size=len(tokenizer))
        model.config.use_cache = True
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    else:
        tokenizer = load_tokenizer(args.base_model)
        model = load_base_model(args.base_model, quantization="none").to(device)
    prompts = (PROMPTS * (args.batch // len(PROMPTS) + 1))[: args.batch]
    ids = [fmt.encode(tokenizer, prompt)["input_ids"] for prompt in prompts]
    calls = [0]
    model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    run = dict(max_new_tokens=args.max_new_tokens, batch_size=args.batch)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    where = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    print(f"{args.shape or args.adapter or args.base_model} on {device} ({where}),"
          f" vocabulary {len(tokenizer):,}, batch {args.batch} x {args.max_new_tokens} new tokens")
    for constrained in (False, True):  # warm-up: tokenizer conversion, grammar build, allocator
        generate_dot(model, tokenizer, ids, constrained=constrained, **run)
    results: dict[bool, list[tuple[float, float, int]]] = {False: [], True: []}
    parsed: dict[bool, int] = {}
    for _ in range(args.repeats):
        for constrained in (False, True):
            calls[0] = 0
            sync()
            start, cpu = time.perf_counter(), time.process_time()
            texts = generate_dot(model, tokenizer, ids, constrained=constrained, **run)
            sync()
            results[constrained].append((time.perf_counter() - start, time.process_time() - cpu, calls[0]))
            parsed[constrained] = sum(parse_dot(text) is not None for text in texts)
    wall, cpu = {}, {}
    for constrained, runs in results.items():
        seconds = statistics.median(s for s, _, _ in runs)
        steps = statistics.median(n for _, _, n in runs)
        wall[constrained] = statistics.median(s / n for s, _, n in runs)
        cpu[constrained] = statistics.median(c / n for _, c, n in runs)
        print(f"{'constrained' if constrained else 'free':>11}: {seconds * 1000:.0f} ms per batch of {args.batch} x "
              f"{args.max_new_tokens}, {steps:.0f} forward passes, {wall[constrained] * 1000:.2f} ms wall / "
              f"{cpu[constrained] * 1000:.2f} ms CPU per pass, {parsed[constrained]}/{args.batch} parse")
    print(f"overhead per generated token: wall {100 * (wall[True] / wall[False] - 1):+.1f}%, "
          f"CPU {100 * (cpu[True] / cpu[False] - 1):+.1f}% (median of {args.repeats} runs each)")


if __name__ == "__main__":
    main()
