#!/usr/bin/env python
"""Where a QLoRA training step spends its time: the profile behind scripts/benchmark.py's throughput numbers.

    python scripts/profile_step.py --model gemma-2b --batch-size 4 --steps 20     # CUDA

1. Ceilings: a large bf16 matmul (TFLOP/s) and a device-to-device copy (GB/s) on this GPU.
2. One nf4 Linear4bit (the Gemma-2B MLP up-projection, 2048 -> 16384) forward + input-gradient at bs x seq tokens,
   against the same layer in bf16: what dequantising costs per call.
3. Median step time (CUDA events, ``--steps`` steps after 3 warm-up steps) for each ``--variants`` entry on the
   same length-grouped batches as the benchmark, and the analytic floor (4 x non-embedding params x tokens FLOPs,
   plus the LM head on labelled positions) at the measured matmul ceiling.
4. torch.profiler over 3 steps of the first variant: the top kernels by GPU time, the top ops by CPU time, and GPU
   busy time over wall time (below ~0.8 the step is bound by the host, not the GPU).
Writes everything to $OUT/profile.txt (when OUT is set) and prints one JSON line last.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmark import (SHAPES, build_model, example_lengths, make_batches, set_checkpointing, to_device,
                       worst_case_batch)  # noqa: E402
from dotlightning.model.loss import causal_lm_loss, naive_causal_lm_loss  # noqa: E402
from dotlightning.data.prompts import IGNORE_INDEX  # noqa: E402

LOG: list[str] = []
INITIAL_LORA: dict[str, torch.Tensor] = {}


def say(line: str = "") -> None:
    print(line, flush=True)
    LOG.append(line)


def cuda_ms(fn, reps: int = 20, warmup: int = 3) -> float:
    """Median milliseconds of fn() over reps, timed with CUDA events."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def ceilings() -> dict:
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    ms = cuda_ms(lambda: a @ b)
    tflops = 2 * 8192**3 / ms / 1e9
    x = torch.randn(2**28, device="cuda", dtype=torch.bfloat16)  # 512 MiB
    y = torch.empty_like(x)
    ms_copy = cuda_ms(lambda: y.copy_(x))
    gbps = 2 * x.numel() * 2 / ms_copy / 1e6
    return {"matmul_tflops": round(tflops, 1), "copy_gb_per_s": round(gbps)}


def linear4bit_cost(tokens: int) -> dict:
    """fwd + input-grad of one 2048->16384 layer: nf4 (bitsandbytes) vs bf16."""
    import bitsandbytes as bnb

    dense = torch.nn.Linear(2048, 16384, bias=False, device="cuda", dtype=torch.bfloat16)
    q = bnb.nn.Linear4bit(2048, 16384, bias=False, compute_dtype=torch.bfloat16, compress_statistics=True,
                          quant_type="nf4", device="meta")
    q.weight = bnb.nn.Params4bit(dense.weight.data.clone(), requires_grad=False, compress_statistics=True,
                                 quant_type="nf4", module=q).to("cuda")
    dense.weight.requires_grad_(False)
    x = torch.randn(tokens, 2048, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    g = torch.randn(tokens, 16384, device="cuda", dtype=torch.bfloat16)

    def step(layer):
        def run():
            out = layer(x)
            out.backward(g)
            x.grad = None
        return run

    dequant = cuda_ms(lambda: bnb.functional.dequantize_4bit(q.weight.data, q.weight.quant_state))
    row = {"tokens": tokens, "nf4_ms": round(cuda_ms(step(q)), 3), "bf16_ms": round(cuda_ms(step(dense)), 3),
           "dequantize_ms": round(dequant, 3)}

    row["nf4_compiled_ms"] = round(cuda_ms(step(torch.compile(q))), 3)  # bitsandbytes' ops, compiled around
    # (dotlightning.nf4, the same layer dequantised with tensor ops Inductor could fuse, was measured and removed:
    # docs/performance.md.)
    return row


LOSS_KERNELS = {"fused": "fused"}  # cce, cce-exact, liger: measured, removed (docs/performance.md)


def loss_kernel_cost(rows: int, vocab: int = 256000, hidden: int = 2048) -> dict:
    """fwd + backward of the completion-only cross-entropy on ``rows`` selected positions, per kernel, with its
    loss and input-gradient difference from the chunked fp32 reference."""
    from dotlightning.model.loss import completion_cross_entropy

    torch.manual_seed(0)
    weight = torch.randn(vocab, hidden, device="cuda", dtype=torch.bfloat16) * 0.02
    h = (torch.randn(1, rows + 1, hidden, device="cuda", dtype=torch.bfloat16)).requires_grad_()
    labels = torch.randint(0, vocab, (1, rows + 1), device="cuda")
    out = {"rows": rows}
    reference = None
    for kernel, chunk in (("chunked", None), ("fused", None), ("fused", 1024)):
        name = kernel if chunk is None else f"{kernel}-chunk{chunk}"

        def run():
            loss = completion_cross_entropy(h, weight, labels, kernel=kernel, chunk_size=chunk)
            loss.backward()
            return loss
        try:
            h.grad = None
            loss = float(run())
            grad = h.grad.float().clone()
            if reference is None:
                reference = (loss, grad)
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            ms = cuda_ms(run, reps=10)
            out[name] = {"ms": round(ms, 3), "peak_extra_gib": round((torch.cuda.max_memory_allocated() - before) / 2**30, 3),
                           "loss_diff": abs(loss - reference[0]),
                           "grad_rel_err": float((grad - reference[1]).norm() / reference[1].norm())}
        except Exception as exc:  # noqa: BLE001 - report and go on
            out[name] = f"{type(exc).__name__}: {exc}"[:300]
    return out


def step_fn(model, variant: str, opt):
    parts = variant.split("+")
    kernel = next((LOSS_KERNELS[p] for p in parts if p in LOSS_KERNELS), "chunked")

    chunk = next((int(p[len("chunk"):]) for p in parts if p.startswith("chunk")), None)

    def loss_fn(model, batch):
        if variant.startswith("naive"):
            return naive_causal_lm_loss(model, batch)
        return causal_lm_loss(model, batch, kernel=kernel, chunk_size=chunk)

    def run(batch):
        loss = loss_fn(model, batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss
    return run


def pad_to(batch: dict, multiple: int) -> dict:
    """Right-pad a collated batch so T is a multiple of ``multiple`` (fewer distinct shapes for CUDA graphs)."""
    t = batch["input_ids"].shape[1]
    extra = -(-t // multiple) * multiple - t
    if not extra:
        return batch
    fill = {"input_ids": 0, "attention_mask": 0, "labels": IGNORE_INDEX}
    return {k: torch.nn.functional.pad(v, (0, extra), value=fill[k]) for k, v in batch.items()}


@contextlib.contextmanager
def variant_step(model, variant: str):
    """Set the model up as ``variant`` says and yield its training step; undo it all afterwards.

    Variant grammar: project|naive, then any of +gc, +compile (dynamic shapes), +cudagraphs (compile with
    mode="reduce-overhead"), +autotune (mode="max-autotune": CUDA graphs plus autotuned Triton matmuls), +static
    (compile for fixed shapes), +nogc (no Python GC while timing),
    +bucketN (pad T to a multiple of N), +fused (the loss kernel; default the eager chunked one), +chunkN (loss rows per
    chunk), +nosync (batches carry num_labelled, so the loss selects rows without a device sync), +unfusedadam (project variants use fused AdamW otherwise)."""
    import torch._dynamo

    set_checkpointing(model, "+gc" in variant)
    base = model.get_base_model()
    original = base.model
    with torch.no_grad():  # every variant starts from the same LoRA weights, so first_loss is comparable
        for name, param in model.named_parameters():
            if param.requires_grad:
                param.copy_(INITIAL_LORA.setdefault(name, param.detach().clone()))
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    if "+compile" in variant or "+cudagraphs" in variant or "+autotune" in variant:
        mode = "max-autotune" if "+autotune" in variant else "reduce-overhead" if "+cudagraphs" in variant else None
        base.model = torch.compile(original, dynamic="+static" not in variant, mode=mode)
    model.train()
    # The project's optimizer is fused AdamW (model.py); the naive script's is the default (foreach).
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5,
                            fused=not variant.startswith("naive") and "+unfusedadam" not in variant)
    try:
        yield step_fn(model, variant, opt)
    finally:
        base.model = original
        set_checkpointing(model, False)
        del opt


def prepare(batch: dict, variant: str, bucket: int) -> dict:
    """Pad, move to the GPU and, for +nosync, count the labelled positions on the host as data.collate does."""
    batch = pad_to(batch, bucket)
    out = to_device(batch, "cuda")
    if "+nosync" in variant:
        out["num_labelled"] = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    return out


def time_variant(model, variant: str, batches: list[dict], steps: int, worst: dict) -> dict:
    """Pass 1 (untimed) runs the worst-case batch and every batch once, so each shape is compiled/recorded; pass 2
    over the same batches is timed: steady state, as from the second epoch of a real fit."""
    bucket = next((int(p[len("bucket"):]) for p in variant.split("+") if p.startswith("bucket")), 8)
    timed = [prepare(b, variant, bucket) for b in batches[:steps]]
    with variant_step(model, variant) as run:
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        first_loss = None
        for b in [prepare(worst, variant, 1)] + timed:
            loss = run(b)
            first_loss = float(loss) if first_loss is None else first_loss
        torch.cuda.synchronize()
        warm_s = time.perf_counter() - t0
        times, walls, tokens, slots = [], [], 0, 0
        if "+nogc" in variant:  # Python's cyclic GC off while timing: do its pauses show up as slow steps?
            gc.collect()
            gc.disable()
        t0 = time.perf_counter()
        for b in timed:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            w0 = time.perf_counter()
            start.record()
            run(b)
            end.record()
            end.synchronize()
            walls.append((time.perf_counter() - w0) * 1e3)
            times.append(start.elapsed_time(end))
            tokens += int(b["attention_mask"].sum())
            slots += b["attention_mask"].numel()
        wall = time.perf_counter() - t0
        gc.enable()
        breaks = sum(torch._dynamo.utils.counters["graph_break"].values())
        return {"variant": variant, "median_step_ms": round(statistics.median(times), 1),
                "tokens_per_s": round(tokens / wall), "padding": round(1 - tokens / slots, 3),
                "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2), "warm_pass_s": round(warm_s, 1),
                "first_loss": round(first_loss, 5), "graph_breaks": breaks, "step_wall_ms": [round(w) for w in walls],
                "step_event_ms": [round(t) for t in times]}


def profile(model, variant: str, batches: list[dict]) -> dict:
    """torch.profiler over 3 steps of ``variant``, after each of its batch shapes has run twice (compiled, recorded)."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    device_batches = [prepare(b, variant, 8) for b in batches[:5]]
    with variant_step(model, variant) as run:
        for b in device_batches + device_batches:
            run(b)
        torch.cuda.synchronize()
        with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            t0 = time.perf_counter()
            for b in device_batches[2:5]:
                run(b)
            torch.cuda.synchronize()
            wall = time.perf_counter() - t0
    events = prof.key_averages()
    say(f"## profile of {variant}: 3 steps, wall {wall * 1e3:.0f} ms")
    say(events.table(sort_by="cuda_time_total", row_limit=40, max_name_column_width=90))
    say(events.table(sort_by="self_cpu_time_total", row_limit=20, max_name_column_width=70))
    kernel_us = sum(e.self_device_time_total for e in events if e.device_type.name == "CUDA")
    return {"variant": variant, "wall_ms": round(wall * 1e3, 1), "gpu_kernel_ms": round(kernel_us / 1e3, 1),
            "gpu_busy_fraction": round(kernel_us / 1e3 / (wall * 1e3), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="gemma-2b", choices=list(SHAPES))
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--variants", default="project,naive,project+gc")
    ap.add_argument("--target-modules", default="q_proj,v_proj")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-layer-costs", action="store_true", help="skip the single nf4 layer timings")
    ap.add_argument("--profile-variant", default=None, help="variant to profile (default: the first of --variants)")
    ap.add_argument("--full-length", action="store_true",
                    help="every row seq_len tokens (prompt 40-200): the issue's bs x 512 target shape")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = True
    summary: dict = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "args": vars(args)}
    summary["ceilings"] = ceilings()
    say(f"# {summary['gpu']} torch {torch.__version__}: ceilings {summary['ceilings']}")
    if not args.no_layer_costs:
        summary["linear4bit"] = linear4bit_cost(args.batch_size * args.seq_len)
        say(f"# one 2048->16384 layer fwd+dgrad: {summary['linear4bit']}")
    summary["loss_kernels"] = loss_kernel_cost(args.batch_size * (args.seq_len - 120))
    say(f"# completion-only CE fwd+bwd per kernel: {summary['loss_kernels']}")

    model = build_model(args.model, torch.device("cuda"), torch.bfloat16, None, "nf4")
    pairs, source = example_lengths(args.seq_len, random.Random(0), 4096)
    if args.full_length:
        rng = random.Random(0)
        pairs = [(p, args.seq_len - p) for p in (rng.randint(40, 200) for _ in range(4096))]
        source = f"full-length rows of {args.seq_len} tokens, prompt 40-200"
    batches = make_batches(pairs, args.batch_size, args.steps, True, model.get_base_model().config.vocab_size,
                           seed=args.batch_size)
    cfg = model.get_base_model().config
    embed = cfg.vocab_size * cfg.hidden_size
    params = sum(p.numel() * (2 if p.__class__.__name__ == "Params4bit" else 1) for p in model.parameters())
    body = params - embed
    labelled = sum(int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b in batches)
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    flops_per_token = 4 * body + 4 * embed * labelled / real
    floor = summary["ceilings"]["matmul_tflops"] * 1e12 / flops_per_token
    summary["floor_tokens_per_s"] = round(floor)
    say(f"# {args.model}: non-embedding params {body / 1e9:.2f}B, {flops_per_token / 1e9:.1f} GFLOP/token -> "
        f"floor {floor:.0f} tok/s at the measured matmul rate; lengths: {source}")
    summary["variants"] = []
    for variant in args.variants.split(","):
        try:
            row = time_variant(model, variant, batches, args.steps,
                               worst_case_batch(args.batch_size, args.seq_len, cfg.vocab_size))
        except Exception as exc:  # noqa: BLE001 - report and go on
            row = {"variant": variant, "error": f"{type(exc).__name__}: {exc}"[:300]}
        summary["variants"].append(row)
        say(f"# {row}")
    if not args.no_profile:
        summary["profile"] = profile(model, args.profile_variant or args.variants.split(",")[0], batches)
        say(f"# profile: {summary['profile']}")
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "profile.txt").write_text("\n".join(LOG) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
