"""Where CPU decoding time goes: prefill tokens/s and milliseconds per decode step of a base model, per batch size.

    python scripts/bench_cpu_decode.py                                   # the default adapter's base, batches 8 and 32
    python scripts/bench_cpu_decode.py --base_model tiny --batches 2,4 --prompt_tokens 16 --new_tokens 8

Random prompt token ids of one length, greedy, ``min_new_tokens == max_new_tokens`` so every row decodes the same
number of steps; prefill is one forward pass over the prompts (after an untimed one), a decode step is
(generate - prefill) / (steps - 1): a difference of two timings, so on a busy machine or with very few steps it can
come out near zero or below.
The numbers in docs/decoding.md ("CPU time of the default adapter") came from this measurement on 2 idle cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dotlightning.model.base_models import load_base_model  # noqa: E402


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base_model", default="embedded:qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--batches", default="8,32", help="comma-separated batch sizes")
    parser.add_argument("--prompt_tokens", type=int, default=140)
    parser.add_argument("--new_tokens", type=int, default=33)
    args = parser.parse_args(argv)
    model = load_base_model(args.base_model, quantization="none", dtype=torch.bfloat16, device="cpu").eval()
    vocab = model.config.vocab_size
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        ids = torch.randint(100, min(20_000, vocab), (batch, args.prompt_tokens), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            model(ids)  # warm-up: the first call of a shape pays one-time costs that would land in prefill
            start = time.perf_counter()
            model(ids)
            prefill = time.perf_counter() - start
            start = time.perf_counter()
            model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.new_tokens,
                           min_new_tokens=args.new_tokens, do_sample=False, pad_token_id=0)
            total = time.perf_counter() - start
        step = (total - prefill) / (args.new_tokens - 1)
        row = {"batch": batch, "prefill_tokens_per_s": round(batch * args.prompt_tokens / prefill, 1),
               "decode_ms_per_step": round(step * 1000, 1), "decode_tokens_per_s": round(batch / step, 1)}
        print(row, flush=True)
        rows.append(row)
    return rows


if __name__ == "__main__":
    main()
