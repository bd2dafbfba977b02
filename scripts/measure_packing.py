"""Which mechanism confines attention to each packed example? Correctness and CPU time, on a tiny Gemma 3.

For a few examples of varied length packed into one row, each mechanism's logits are compared with each example run
alone (the reference), and one forward + backward of the packed row is timed:

- ``position_ids``: transformers' own packed-sequence detection (``masking_utils.find_packed_sequence_indices``):
  position ids restart at 0 per example and ``attention_mask=None``; transformers builds the block-diagonal causal
  mask itself, per layer type (full and sliding window), and on flash_attention_2 uses the varlen kernel.
- ``4d-mask``: one [B, 1, T, T] block-diagonal causal mask passed as ``attention_mask`` (bool for sdpa, additive float
  for eager), plus the restarting position ids. transformers returns a 4D mask as-is for every layer type, so sliding
  window layers lose their window unless a per-layer-type dict is passed (model-specific).
- ``flex``: ``attn_implementation="flex_attention"`` with the same position ids (BlockMask document mask).

Every forward passes ``use_cache=False``: with a cache (``Gemma3ForCausalLM``'s default ``use_cache=True``)
transformers skips the packed-sequence detection and the position-ids mechanism silently lets examples attend to
each other (measured: logit error ~1 for every example after the first).

The model uses ``sliding_window=16`` (shorter than the examples), so a mechanism that drops the window shows up as a
mismatch. Run: ``python scripts/measure_packing.py [--family qwen2]`` (fp32, CPU).
"""

from __future__ import annotations

import argparse
import time

import torch


def build(attn: str, sliding_window: int, hidden: int, layers: int, family: str = "gemma3"):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, Qwen2Config, Qwen2ForCausalLM

    if family == "qwen2":  # full attention in every layer (Qwen2.5's default: use_sliding_window false)
        config = Qwen2Config(vocab_size=512, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                             attn_implementation=attn)
        torch.manual_seed(0)
        return Qwen2ForCausalLM(config).float().eval()
    config = Gemma3TextConfig(vocab_size=512, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                              num_attention_heads=4, num_key_value_heads=1, head_dim=hidden // 4,
                              query_pre_attn_scalar=hidden // 4, max_position_embeddings=4096,
                              sliding_window=sliding_window, attn_implementation=attn,
                              layer_types=["sliding_attention", "full_attention"] * (layers // 2))
    torch.manual_seed(0)
    return Gemma3ForCausalLM(config).float().eval()


def block_mask(lengths: list[int], width: int, sliding_window: int | None) -> torch.Tensor:
    doc = torch.full((width,), -1)
    pos = torch.zeros(width, dtype=torch.long)
    start = 0
    for index, n in enumerate(lengths):
        doc[start:start + n] = index
        pos[start:start + n] = torch.arange(n)
        start += n
    doc[start:] = len(lengths)
    pos[start:] = torch.arange(width - start)
    q, k = torch.arange(width)[:, None], torch.arange(width)[None, :]
    mask = (doc[:, None] == doc[None, :]) & (k <= q)
    if sliding_window is not None:
        mask &= (pos[:, None] - pos[None, :]) < sliding_window
    return mask[None, None]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sliding-window", type=int, default=16)
    parser.add_argument("--skip-flex", action="store_true")
    parser.add_argument("--family", choices=["gemma3", "qwen2"], default="gemma3")
    args = parser.parse_args()
    torch.manual_seed(1)
    lengths = [170, 90, 260, 40, 200, 140]  # ~the shipped data's mean of 168 tokens
    assert sum(lengths) <= args.width
    examples = [torch.randint(4, 512, (n,)) for n in lengths]
    ids = torch.zeros(1, args.width, dtype=torch.long)
    pos = torch.zeros(1, args.width, dtype=torch.long)
    start = 0
    for e in examples:
        ids[0, start:start + len(e)] = e
        pos[0, start:start + len(e)] = torch.arange(len(e))
        start += len(e)
    pos[0, start:] = torch.arange(args.width - start)

    import transformers

    layout = (f"layers {args.layers} (sliding, full), sliding_window {args.sliding_window}" if args.family == "gemma3"
              else f"layers {args.layers} (full)")
    print(f"{args.family}: torch {torch.__version__}, transformers {transformers.__version__}, threads "
          f"{torch.get_num_threads()}, row 1 x {args.width}, examples {lengths}, hidden {args.hidden}, {layout}")
    rows = []
    for attn in ("sdpa", "eager") + (() if args.skip_flex else ("flex_attention",)):
        model = build(attn, args.sliding_window, args.hidden, args.layers, args.family)
        with torch.no_grad():
            reference = [model(input_ids=e[None], use_cache=False).logits[0] for e in examples]
        variants = {"position_ids": dict(position_ids=pos, attention_mask=None)}
        if attn != "flex_attention":
            full = block_mask(lengths, args.width, None)
            four_d = full if attn == "sdpa" else torch.zeros(full.shape).masked_fill(~full, torch.finfo(torch.float32).min)
            variants["4d-mask"] = dict(position_ids=pos, attention_mask=four_d)
            sliding = block_mask(lengths, args.width, args.sliding_window)
            if attn == "eager":
                sliding = torch.zeros(sliding.shape).masked_fill(~sliding, torch.finfo(torch.float32).min)
            variants["4d-mask dict"] = dict(position_ids=pos, attention_mask={"full_attention": four_d,
                                                                            "sliding_attention": sliding})
        for name, kwargs in variants.items():
            error = "-"
            try:
                with torch.no_grad():
                    logits = model(input_ids=ids, use_cache=False, **kwargs).logits[0]
                worst, start = 0.0, 0
                for e, ref in zip(examples, reference):
                    worst = max(worst, float((logits[start:start + len(e)] - ref).abs().max()))
                    start += len(e)
                error = f"{worst:.2e}"
                times = []
                for _ in range(args.repeats + 1):
                    model.zero_grad()
                    began = time.perf_counter()
                    model(input_ids=ids, use_cache=False, **kwargs).logits.float().logsumexp(-1).mean().backward()
                    times.append(time.perf_counter() - began)
                rows.append((attn, name, error, f"{1000 * min(times[1:]):.0f}"))
            except Exception as exc:  # noqa: BLE001 - report and go on
                rows.append((attn, name, error, f"failed: {type(exc).__name__}: {str(exc)[:60]}"))
    print("| attn | mechanism | max abs logit error vs alone | fwd+bwd ms (best) |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
