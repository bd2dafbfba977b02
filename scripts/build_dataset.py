"""Build the shipped prompt -> DOT dataset: data/{train,val,test}.jsonl, deterministically from a seed.

    python scripts/build_dataset.py --out data            # what ships (default seed 0)
    python scripts/build_dataset.py --out /tmp/d --check-tokens   # also measure lengths with the Gemma tokenizer

The generator is the package dotlightning.data.synth (its pipeline, read top to bottom: dotlightning/data/synth/
build.py); this entry point only runs it, from this checkout: the data must come from the code committed next to
it, not from whichever dotlightning is installed.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dotlightning.data.synth.build import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
