"""Where the training step reads tensor values on the host: the places that make a GPU step wait (device syncs).

    python scripts/sync_sites.py --config configs/tiny.yaml
    python scripts/sync_sites.py --config configs/gemma.yaml --shape tiny --model.base_model tiny \\
        --data.packing true --data.pack_length 256 --model.gradient_checkpointing false --model.compile null

Runs ``scripts/benchmark.py`` (the real step, built as ``fit`` builds it; the same arguments) with
``Tensor.item``, ``__bool__``, ``tolist``, ``__int__``, ``__float__`` and ``__index__`` wrapped, and counts, per timed
optimizer step, the calls by their nearest frame outside torch. On a GPU each such call on a device tensor copies it to
the host and waits for every kernel queued before it; with the next step's work not yet queued, the GPU then idles
while the host catches up (the 2026-12-08 H100 profile: ~17 % idle, 6 ``cudaStreamSynchronize`` a step). Runs on the
CPU too, where nothing waits but the same Python calls happen, so the sites can be found without a GPU. Not every site
reads a device tensor: the data loader's collate works on host tensors, and AdamW keeps its step counts on the host
unless fused. Prints the sites and one JSON line.
"""
from __future__ import annotations

import collections
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lightning.pytorch as L  # noqa: E402
import torch  # noqa: E402

import benchmark  # noqa: E402

METHODS = ("item", "__bool__", "tolist", "__int__", "__float__", "__index__")


class SyncSites(L.Callback):
    """Counts host reads of tensor values during the benchmark's timed steps (after its warm-up)."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.recording, self.steps = warmup, False, 0
        self.sites: collections.Counter = collections.Counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.recording = trainer.global_step >= self.warmup
        self.steps += self.recording

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.recording = False

    def record(self, method: str) -> None:
        stack = traceback.extract_stack()[:-2]
        outside = [frame for frame in stack if f"{os.sep}torch{os.sep}" not in frame.filename]
        frame = (outside or stack)[-1]
        where = frame.filename.split("site-packages" + os.sep)[-1].replace(os.getcwd() + os.sep, "")
        self.sites[f"{method} {where}:{frame.lineno} ({frame.name})"] += 1


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, _ = benchmark.parse_args(argv)
    watcher = SyncSites(args.warmup)
    originals = {name: getattr(torch.Tensor, name) for name in METHODS}

    def wrapped(name):
        def method(self, *a, **k):
            if watcher.recording:
                watcher.record(name)
            return originals[name](self, *a, **k)
        return method

    try:
        for name in METHODS:
            setattr(torch.Tensor, name, wrapped(name))
        result = benchmark.run(argv, extra_callbacks=(watcher,))
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
    steps = max(watcher.steps, 1)
    per_step = {site: round(count / steps, 2) for site, count in watcher.sites.most_common()}
    print(f"# host reads of tensor values per timed micro-batch ({watcher.steps} micro-batches):")
    for site, count in per_step.items():
        print(f"{count:6.2f}  {site}")
    out = {"command": result["command"], "device": result["device"], "micro_batches": watcher.steps,
           "per_micro_batch": per_step}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
