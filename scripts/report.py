"""Markdown tables and a loss-curve PNG from the results folders of the former scripts/experiments.py (removed
2026-12-02; its runs are CLI recipes now: configs/recipes/), which README's earlier Results sections show.

    python scripts/report.py results/2026-11-24-h100
    python scripts/report.py results/2026-11-25-h200 --title "Gemma 3 270M QLoRA (nf4), dataset v2, H200"
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from dotlightning.data.records import read_jsonl
from dotlightning.metrics.graph_metrics import SCORE_KEYS as KEYS


def row(label: str, scores: dict) -> str:
    return f"| {label} | {int(scores['n'])} | " + " | ".join(f"{scores[k]:.3f}" for k in KEYS) + " |"


def table(rows: list[tuple[str, dict]], first: str) -> str:
    head = f"| {first} | n | " + " | ".join(KEYS) + " |\n|" + "---|" * (len(KEYS) + 2)
    return "\n".join([head, *(row(label, scores) for label, scores in rows)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--title", default="Gemma 3 270M QLoRA (nf4), shipped data, 3 epochs, H100",
                        help="loss-curve plot title: say the data, epochs and device of the runs in the folder")
    args = parser.parse_args()
    folder = Path(args.folder)
    runs = {r["run"]: r for r in read_jsonl(folder / "results.jsonl") if "error" not in r}
    for split in ("test", "smcat_fixtures", "train_sample"):
        print(f"\n### {split}\n")
        print(table([(name, r[split]) for name, r in runs.items() if split in r], "run"))
    for name, r in runs.items():
        if name == "base":
            continue
        for group in ("kind", "source"):
            print(f"\n### {name}: test by {group}\n")
            base = runs.get("base", {}).get("test", {}).get("groups", {}).get(group, {})
            rows = []
            for value, scores in r["test"]["groups"][group].items():
                rows.append((value, scores))
            print(table(rows, group))
            if base:
                print(f"\n(base, same prompts: every {group} scores parse_rate "
                      f"{max(s['parse_rate'] for s in base.values()):.3f} at best)")
    curves = sorted(folder.glob("losses-*.csv"))
    if curves:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for path in curves:
            with path.open() as handle:
                points = [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(handle)]
            window = 20  # running mean over 20 optimizer steps: single-batch losses are noisy
            smooth = [sum(l for _, l in points[max(0, i - window + 1): i + 1]) / len(points[max(0, i - window + 1): i + 1])
                      for i in range(len(points))]
            ax.plot([s for s, _ in points], smooth, label=path.stem.removeprefix("losses-"))
        ax.set_xlabel("optimizer step (batch 16)")
        ax.set_ylabel("train loss (completion tokens), running mean of 20")
        ax.set_yscale("log")
        ax.legend()
        ax.set_title(args.title)
        fig.tight_layout()
        fig.savefig(folder / "loss_curves.png", dpi=110)
        print(f"\nwrote {folder / 'loss_curves.png'}")


if __name__ == "__main__":
    main()
