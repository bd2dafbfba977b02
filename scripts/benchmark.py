#!/usr/bin/env python
"""Training-step and generation benchmark: the project's step vs the naive transformers step, side by side.

Models are the real shapes (Gemma-2B, Phi-2, Qwen2.5-1.5B) built from configs with random weights (no
download), nf4-quantised in place with bitsandbytes on CUDA, LoRA r=16 alpha=32 on q_proj,v_proj (peft).
Every variant trains on the *same* batches (one worst-case full-length batch first, so the peak memory
covers bs x seq_len, then batches drawn from the shipped data lengths or a synthetic distribution).

Variants (levers):
  naive           model(input_ids, attention_mask, labels).loss: full fp32 logits for every position
  project         dotlightning.model.loss.causal_lm_loss: backbone forward + chunked completion-only CE
  naive+gc        naive with gradient checkpointing (use_reentrant=False)
  project+gc      project with gradient checkpointing
  project+eager   eager attention instead of SDPA
  project+random  random batching instead of length-grouped (all others use length-grouped batches)
  project+compile torch.compile on the backbone (CUDA, only with --compile)

Memory: CUDA -> torch.cuda.max_memory_allocated() after reset_peak_memory_stats (absolute, weights included).
CPU -> peak RSS from /proc/self/status VmHWM, reset per variant by writing "5" to /proc/self/clear_refs
(Linux); "peak_mem_gib" is the peak *above* the RSS before the variant (what the training step adds on
top of the loaded model), "peak_rss_gib" the absolute peak. The script re-executes itself with
MALLOC_MMAP_THRESHOLD_=65536 so freed tensors go back to the OS and earlier variants don't hide later ones.

Usage:
  python scripts/benchmark.py --device cpu --smoke          # < 5 min on 2 cores (bs 2 x 256, 2 layers)
  python scripts/benchmark.py --device cuda --models gemma-2b,phi-2,qwen2.5-1.5b --batch-sizes 4,16 \
      --seq-len 512 --steps 5
Prints a table; the LAST line is one JSON object ({"project": {...}, "naive": {...}, ...}), also written
to $OUT/benchmark.json when OUT is set.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import sys
import threading
import time
import traceback
from pathlib import Path

if __name__ == "__main__" and "--device" in sys.argv and "cuda" not in sys.argv \
        and os.environ.get("MALLOC_MMAP_THRESHOLD_") is None and sys.platform == "linux":
    # Fixed mmap threshold: large CPU tensors are unmapped on free, so per-variant peak RSS is honest.
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"})

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dotlightning.model.loss import causal_lm_loss, naive_causal_lm_loss  # noqa: E402
from dotlightning.data.prompts import IGNORE_INDEX  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
# SHAPES and the random nf4 builder live in random_shapes.py (also re-exported here for benchmark_fit / profile_step)
from random_shapes import SHAPES, build_base, quantize_nf4_  # noqa: E402,F401

GIB = 2**30
ROOT = Path(__file__).resolve().parents[1]

ALL_VARIANTS = ["naive", "project", "naive+gc", "project+gc", "project+eager", "project+random", "project+compile"]


# ----------------------------------------------------------------------------------------------- memory
class CpuPeak:
    """Peak RSS of this process between reset() and peak(); VmHWM if resettable, else a 2 ms sampler."""

    def __init__(self) -> None:
        self.base = 0
        self._max = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.method = "VmHWM (reset via /proc/self/clear_refs)"
        except OSError:
            self.method = "psutil RSS sampled every 2 ms"

    @staticmethod
    def _status(key: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(key)

    def rss(self) -> int:
        if self.method.startswith("VmHWM"):
            return self._status("VmRSS")
        import psutil
        return psutil.Process().memory_info().rss

    def reset(self) -> None:
        gc.collect()
        self.base = self.rss()
        if self.method.startswith("VmHWM"):
            Path("/proc/self/clear_refs").write_text("5")
            return
        self._max = self.base
        self._stop.clear()

        def sample() -> None:
            while not self._stop.wait(0.002):
                self._max = max(self._max, self.rss())
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def peak(self) -> int:
        if self.method.startswith("VmHWM"):
            return self._status("VmHWM")
        self._stop.set()
        if self._thread:
            self._thread.join()
        return self._max


def reset_memory(device: torch.device, cpu_peak: CpuPeak | None) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    elif cpu_peak is not None:
        cpu_peak.reset()


def peak_memory(device: torch.device, cpu_peak: CpuPeak | None) -> dict:
    if device.type == "cuda":
        return {"peak_mem_gib": torch.cuda.max_memory_allocated() / GIB}
    peak = cpu_peak.peak()
    return {"peak_mem_gib": (peak - cpu_peak.base) / GIB, "peak_rss_gib": peak / GIB}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# ----------------------------------------------------------------------------------------------- model
def build_model(name: str, device: torch.device, dtype: torch.dtype, layers: int | None, quant: str,
                targets: str = "q_proj,v_proj"):
    """Random-init causal LM of a published shape, optionally nf4, with LoRA r=16 on ``targets`` (the seed's
    q_proj,v_proj, or all-linear as the shipped adapter has)."""
    from peft import LoraConfig, get_peft_model

    model = build_base(name, device, dtype, layers, quant)
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05,
                      target_modules=targets if targets == "all-linear" else targets.split(","), task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def set_attention(model, impl: str) -> None:
    base = model.get_base_model()
    if hasattr(base, "set_attn_implementation"):
        base.set_attn_implementation(impl)
    else:  # older transformers
        for module in base.modules():
            if hasattr(module, "config"):
                module.config._attn_implementation = impl


def set_checkpointing(model, on: bool) -> None:
    base = model.get_base_model()
    if on:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        base.gradient_checkpointing_disable()


# ----------------------------------------------------------------------------------------------- data
def example_lengths(seq_len: int, rng: random.Random, n: int) -> tuple[list[tuple[int, int]], str]:
    """(prompt_tokens, completion_tokens) pairs: from data/train.jsonl if shipped, else synthetic."""
    path = ROOT / "data" / "train.jsonl"
    pairs: list[tuple[int, int]] = []
    if path.exists():
        # No tokenizer is assumed here: ~3.5 chars/token for English descriptions, ~2.8 for DOT
        # (punctuation heavy), +16 tokens of prompt template and +1 EOS.
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
                p = 16 + math.ceil(len(rec["prompt"]) / 3.5)
                c = 1 + math.ceil(len(rec["completion"]) / 2.8)
            except (ValueError, KeyError, TypeError):
                continue
            if p + c <= seq_len:
                pairs.append((p, c))
    if len(pairs) >= 8:
        source = f"{path.relative_to(ROOT)} ({len(pairs)} records, lengths estimated from characters)"
        return [rng.choice(pairs) for _ in range(n)], source
    out = []
    while len(out) < n:
        p, c = rng.randint(40, 200), rng.randint(40, 300)
        if p + c <= seq_len:
            out.append((p, c))
    return out, "synthetic (prompt 40-200, completion 40-300 tokens, uniform)"


def collate(pairs: list[tuple[int, int]], vocab: int, gen: torch.Generator, multiple: int = 8) -> dict:
    """Right-padded batch like DotDataModule: labels -100 on prompt and padding."""
    t = max(p + c for p, c in pairs)
    t = -(-t // multiple) * multiple
    ids = torch.zeros(len(pairs), t, dtype=torch.long)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, IGNORE_INDEX)
    for i, (p, c) in enumerate(pairs):
        ids[i, : p + c] = torch.randint(3, vocab, (p + c,), generator=gen)
        mask[i, : p + c] = 1
        labels[i, p: p + c] = ids[i, p: p + c]
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def make_batches(pairs: list[tuple[int, int]], bs: int, n: int, grouped: bool, vocab: int, seed: int) -> list[dict]:
    """n batches; grouped = sort by length inside mega-batches of 32 batches, then shuffle batch order."""
    rng = random.Random(seed)
    pool = list(pairs[: bs * n])
    if grouped:
        mega = bs * 32
        pool = [x for i in range(0, len(pool), mega) for x in sorted(pool[i:i + mega], key=sum)]
    batches = [pool[i:i + bs] for i in range(0, bs * n, bs)]
    if grouped:
        rng.shuffle(batches)
    gen = torch.Generator().manual_seed(seed)
    return [collate(b, vocab, gen) for b in batches]


def worst_case_batch(bs: int, seq_len: int, vocab: int) -> dict:
    """Every row full length, 40-token prompt: the most labelled tokens a bs x seq_len batch can have."""
    return collate([(40, seq_len - 40)] * bs, vocab, torch.Generator().manual_seed(1))


def padding_fraction(batches: list[dict]) -> float:
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    total = sum(b["attention_mask"].numel() for b in batches)
    return 1 - real / total


# ----------------------------------------------------------------------------------------------- runs
def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def run_variant(model, variant: str, batches: list[dict], worst: dict, args, device, cpu_peak) -> dict:
    project = variant.startswith("project")
    loss_fn = causal_lm_loss if project else naive_causal_lm_loss
    base = model.get_base_model()
    compiled_from = None
    set_attention(model, "eager" if variant.endswith("+eager") else "sdpa")
    set_checkpointing(model, variant.endswith("+gc"))
    if variant.endswith("+compile"):
        compiled_from = base.model
        base.model = torch.compile(base.model)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)
    try:
        reset_memory(device, cpu_peak)
        warm = [worst] + batches[: max(args.warmup - 1, 0)]
        timed = batches[max(args.warmup - 1, 0):][: args.steps]
        losses = []
        for step, batch in enumerate(warm + timed):
            if step == len(warm):
                sync(device)
                t0 = time.perf_counter()
            batch = to_device(batch, device)
            loss = loss_fn(model, batch)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.detach())
        sync(device)
        dt = time.perf_counter() - t0
        mem = peak_memory(device, cpu_peak)
        real = sum(int(b["attention_mask"].sum()) for b in timed)
        total = sum(b["attention_mask"].numel() for b in timed)
        labelled = sum(int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b in timed)
        return {"tokens_per_s": real / dt, "total_tokens_per_s": total / dt, "step_s": dt / len(timed), **mem,
                "padding_fraction": 1 - real / total, "labelled_fraction": labelled / total,
                "final_loss": float(losses[-1])}
    finally:
        if compiled_from is not None:
            base.model = compiled_from
        del opt
        model.zero_grad(set_to_none=True)  # an OOM mid-step leaves grads behind
        set_checkpointing(model, False)
        set_attention(model, "sdpa")


@torch.no_grad()
def loss_parity(model, batch: dict, device) -> float:
    """|project loss - naive loss| on one batch, dropout off: the project step must compute the same loss."""
    model.eval()
    batch = to_device(batch, device)
    return abs(float(causal_lm_loss(model, batch)) - float(naive_causal_lm_loss(model, batch)))


@torch.no_grad()
def bench_generation(model, pairs: list[tuple[int, int]], n_batched: int, n_seq: int, max_new: int, vocab: int,
                     device) -> dict:
    """Greedy decoding with KV cache: one left-padded batch vs one sequence at a time (same prompts)."""
    model.eval()
    base = model.get_base_model()
    base.config.use_cache = True
    gen = torch.Generator().manual_seed(3)
    prompts = [torch.randint(3, vocab, (p,), generator=gen) for p, _ in pairs[:n_batched]]
    kw = dict(max_new_tokens=max_new, min_new_tokens=max_new, do_sample=False, pad_token_id=0, use_cache=True)
    # generate() feeds the head a strided [B, 1, H] slice; on CPU, F.linear on such a bf16 input takes a
    # bmm path that copies the whole [V, H] weight per row (85 s instead of 0.3 s at V=256k, torch 2.13).
    # .contiguous() is a no-op there (size-1 dims), so copy into fresh default strides.
    hook = base.get_output_embeddings().register_forward_pre_hook(
        lambda _m, a: tuple(x.new_empty(x.shape).copy_(x) for x in a))
    try:
        t = max(len(p) for p in prompts)
        ids = torch.zeros(len(prompts), t, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, p in enumerate(prompts):  # left padding: every row's last token is real
            ids[i, t - len(p):] = p
            mask[i, t - len(p):] = 1
        model.generate(input_ids=ids[:1, -8:].to(device), attention_mask=mask[:1, -8:].to(device),
                       max_new_tokens=2, do_sample=False, pad_token_id=0)  # warm-up
        sync(device)
        t0 = time.perf_counter()
        out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **kw)
        sync(device)
        batched_s = time.perf_counter() - t0
        new_batched = (out.shape[1] - t) * len(prompts)
        t0 = time.perf_counter()
        for p in prompts[:n_seq]:
            out = model.generate(input_ids=p[None].to(device), attention_mask=torch.ones(1, len(p), dtype=torch.long,
                                 device=device), **kw)
        sync(device)
        seq_s = time.perf_counter() - t0
        return {"batched_tokens_per_s": new_batched / batched_s, "sequential_tokens_per_s": n_seq * max_new / seq_s,
                "batch_size": len(prompts), "max_new_tokens": max_new}
    finally:
        hook.remove()
        base.config.use_cache = False


# ----------------------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--smoke", action="store_true", help="CPU-sized run: gemma-2b shape with 2 layers, bs 2 x 256, 1+2 steps")
    ap.add_argument("--models", default="gemma-2b,phi-2,qwen2.5-1.5b")
    ap.add_argument("--batch-sizes", default="4,16")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per variant")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps (the first is the worst-case batch)")
    ap.add_argument("--layers", type=int, default=None, help="override num_hidden_layers (smoke: 2)")
    ap.add_argument("--variants", default=None, help=f"comma list from {ALL_VARIANTS}")
    ap.add_argument("--compile", action="store_true", help="also run project+compile (CUDA)")
    ap.add_argument("--quant", choices=["nf4", "none"], default=None, help="default: nf4 on CUDA, none on CPU")
    ap.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    ap.add_argument("--gen-batch", type=int, default=None, help="prompts in the batched generation test")
    ap.add_argument("--gen-tokens", type=int, default=None)
    ap.add_argument("--no-generation", action="store_true")
    ap.add_argument("--targets", default="q_proj,v_proj", help="LoRA target modules: comma list, or all-linear")
    args = ap.parse_args()

    device = torch.device(args.device)
    if args.smoke:
        args.models = "gemma-2b" if args.models == ap.get_default("models") else args.models
        args.batch_sizes = "2" if args.batch_sizes == ap.get_default("batch_sizes") else args.batch_sizes
        args.seq_len = 256 if args.seq_len == ap.get_default("seq_len") else args.seq_len
        args.steps = 2 if args.steps == ap.get_default("steps") else args.steps
        args.warmup = 1 if args.warmup == ap.get_default("warmup") else args.warmup
        args.layers = args.layers or 2
        args.variants = args.variants or "naive,project"
    quant = args.quant or ("nf4" if device.type == "cuda" else "none")
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    variants = (args.variants or ",".join(v for v in ALL_VARIANTS if v != "project+compile")).split(",")
    if args.compile and "project+compile" not in variants:
        variants.append("project+compile")
    gen_batch = args.gen_batch or (16 if device.type == "cuda" else 4)
    gen_tokens = args.gen_tokens or (64 if device.type == "cuda" else 8)
    cpu_peak = CpuPeak() if device.type == "cpu" else None
    if device.type == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)

    rng = random.Random(0)
    pairs, length_source = example_lengths(args.seq_len, rng, 4096)
    print(f"# device={device} dtype={args.dtype} quant={quant} seq_len={args.seq_len} steps={args.warmup}+"
          f"{args.steps} lengths: {length_source}")
    print(f"# memory: {'torch.cuda.max_memory_allocated (absolute)' if cpu_peak is None else cpu_peak.method + ', peak above pre-variant RSS'}")
    rows: list[dict] = []
    generation: dict[str, dict] = {}
    header = f"{'model':<13}{'bs':>4} {'variant':<16}{'tok/s real':>11}{'tok/s all':>11}{'peak GiB':>9}{'pad%':>6}{'lab%':>6}  note"
    print(header)
    for name in args.models.split(","):
        t_build = time.perf_counter()
        try:
            model = build_model(name, device, dtype, args.layers, quant, args.targets)
        except Exception as exc:  # noqa: BLE001 - report and go on to the next model
            traceback.print_exc()
            rows.append({"model": name, "error": f"build: {type(exc).__name__}: {exc}"[:300]})
            print(f"{name:<13} build failed: {exc}")
            continue
        vocab = model.get_base_model().config.vocab_size
        print(f"# {name}: built in {time.perf_counter() - t_build:.1f}s, layers="
              f"{model.get_base_model().config.num_hidden_layers}, vocab={vocab}")
        for bs in map(int, args.batch_sizes.split(",")):
            n = args.warmup + args.steps
            grouped = make_batches(pairs, bs, n, True, vocab, seed=bs)
            shuffled = make_batches(pairs, bs, n, False, vocab, seed=bs)
            worst = worst_case_batch(bs, args.seq_len, vocab)
            try:
                parity = loss_parity(model, grouped[0], device)
            except Exception as exc:  # noqa: BLE001
                parity = f"{type(exc).__name__}: {exc}"[:200]
            for variant in variants:
                row = {"model": name, "batch_size": bs, "seq_len": args.seq_len, "variant": variant,
                       "batching": "random" if variant.endswith("+random") else "grouped"}
                if variant == "project+compile" and device.type != "cuda":
                    continue
                try:
                    batches = shuffled if variant.endswith("+random") else grouped
                    row.update(run_variant(model, variant, batches, worst, args, device, cpu_peak))
                    if variant == "project":
                        row["loss_parity_abs_diff"] = parity
                except Exception as exc:  # noqa: BLE001 - an OOM in one variant must not end the run
                    row["error"] = f"{type(exc).__name__}: {exc}"[:300]
                    if not isinstance(exc, torch.OutOfMemoryError):
                        traceback.print_exc()
                finally:
                    reset_memory(device, None)
                rows.append(row)
                if "error" in row:
                    print(f"{name:<13}{bs:>4} {variant:<16}{'-':>11}{'-':>11}{'-':>9}{'':>6}{'':>6}  {row['error'][:80]}")
                else:
                    print(f"{name:<13}{bs:>4} {variant:<16}{row['tokens_per_s']:>11.0f}{row['total_tokens_per_s']:>11.0f}"
                          f"{row['peak_mem_gib']:>9.2f}{100 * row['padding_fraction']:>6.1f}{100 * row['labelled_fraction']:>6.1f}"
                          f"  loss {row['final_loss']:.3f}" + (f", parity {parity:.2e}" if variant == "project" and
                                                               isinstance(parity, float) else ""), flush=True)
        if not args.no_generation:
            try:
                generation[name] = bench_generation(model, pairs, gen_batch, max(1, gen_batch // 4), gen_tokens, vocab,
                                                    device)
                g = generation[name]
                print(f"# {name} generation (greedy, KV cache, {g['max_new_tokens']} new tokens): batched x"
                      f"{g['batch_size']} left-padded {g['batched_tokens_per_s']:.1f} tok/s vs one at a time "
                      f"{g['sequential_tokens_per_s']:.1f} tok/s")
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc()
                generation[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        del model
        reset_memory(device, None)

    def pick(variant: str) -> dict:
        for r in rows:
            if r.get("variant") == variant and "error" not in r:
                return {k: r[k] for k in ("model", "batch_size", "tokens_per_s", "total_tokens_per_s", "peak_mem_gib",
                                          "padding_fraction") if k in r}
        return {"error": next((r.get("error") for r in rows if r.get("variant") == variant), "not run")}

    summary = {"project": pick("project"), "naive": pick("naive")}
    if "tokens_per_s" in summary["project"] and "tokens_per_s" in summary["naive"]:
        summary["speed_ratio"] = summary["project"]["tokens_per_s"] / summary["naive"]["tokens_per_s"]
        summary["mem_ratio"] = summary["project"]["peak_mem_gib"] / summary["naive"]["peak_mem_gib"]
    summary.update(device=str(device), dtype=args.dtype, quant=quant, lengths=length_source,
                   memory_method="cuda max_memory_allocated" if cpu_peak is None else cpu_peak.method,
                   generation=generation, results=rows)
    line = json.dumps(summary, default=str)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"]).mkdir(parents=True, exist_ok=True)
        (Path(os.environ["OUT"]) / "benchmark.json").write_text(json.dumps(summary, indent=1, default=str))
    print(line)


if __name__ == "__main__":
    main()
