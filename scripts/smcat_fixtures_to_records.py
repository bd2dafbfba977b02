"""Turn state-machine-cat test fixtures (.smcat + .dot pairs) into evaluation records.

    python scripts/smcat_fixtures_to_records.py ../shared/corpora/state-machine-cat --out /tmp/smcat_eval.jsonl

Each record: {"id", "kind": "state_machine", "source": "smcat", "prompt", "completion"}; the prompt is phrased by
the SAME function the dataset's smcat source uses (dotlightning.data.synth.text.smcat_prompt), so the model sees the familiar
instruction wording and the evaluation measures smcat -> DOT, not a new phrasing. The wording is chosen by a RNG
seeded with the fixture name, so the output is deterministic. This output is evaluation data: never ship or train
on it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's package

from dotlightning.data.synth.text import smcat_prompt  # noqa: E402


def fixture_records(fixtures_dir: Path, skip_empty: bool = False) -> tuple[list[dict], list[str]]:
    """Records for every NAME.smcat that has a NAME.dot beside it; returns (records, problems)."""
    if not fixtures_dir.is_dir():
        raise SystemExit(f"{fixtures_dir}: not a directory; pass a state-machine-cat fixtures folder "
                         f"(e.g. ../shared/corpora/state-machine-cat or a checkout's test/render/fixtures)")
    records, problems = [], []
    for smcat in sorted(fixtures_dir.glob("*.smcat")):
        dot = smcat.with_suffix(".dot")
        if not dot.exists():
            problems.append(f"{smcat}: no {dot.name} beside it; skipped (add the rendered .dot to use it)")
            continue
        text = smcat.read_text(encoding="utf-8")
        if skip_empty and not text.strip():
            problems.append(f"{smcat}: empty program; skipped (--skip-empty)")
            continue
        records.append({"id": f"smcat-fixture-{smcat.stem}", "kind": "state_machine", "source": "smcat",
                        "prompt": smcat_prompt(random.Random(smcat.stem), text, "train"),
                        "completion": dot.read_text(encoding="utf-8").strip()})
    return records, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fixtures_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    ap.add_argument("--skip-empty", action="store_true", help="leave out fixtures whose .smcat is blank")
    args = ap.parse_args(argv)
    records, problems = fixture_records(args.fixtures_dir, args.skip_empty)
    for p in problems:
        print(p, file=sys.stderr)
    if not records:
        raise SystemExit(f"{args.fixtures_dir}: no .smcat/.dot pairs found; nothing written")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(records)} records to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
