"""Build results/handwritten/prompts-v2.jsonl from the hand-written items in this folder.
Usage: python scripts/hw2/build.py"""
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
import common
for mod in ("code1", "code2", "extra", "tables", "docs", "nl"):
    __import__(mod)
root = os.path.join(os.path.dirname(__file__), "..", "..")
out = os.path.join(root, "results", "handwritten", "prompts-v2.jsonl")
with open(out, "w") as f:
    for i, it in enumerate(common.ITEMS, 1):
        rec = {"id": f"hw2-{i:03d}", **it}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(f"wrote {len(common.ITEMS)} items to {os.path.normpath(out)}")
