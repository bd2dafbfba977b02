"""smcat -> DOT through the real state-machine-cat renderer, behind a committed cache so builds need no node.

    data/smcat-renders.jsonl.gz   one JSON line per program: {"key": sha256(source), "dot": ...} or {..., "error": ...}

``SmcatRenderer.render(src)`` looks the program up in the cache first; only a miss starts ONE node process
(smcat-renderer/render.mjs next to this file, state-machine-cat pinned to 14.0.8 in its package.json) that renders every later
miss too, one JSON line in, one out. Parser rejections are cached as {"error"} so the build's "regenerate on
reject" path replays without node as well. With a miss and no node / no installed package the build stops with one
line naming the install command (``cd dotlightning/data/synth/smcat-renderer && npm ci``).

The cache is written gzip-compressed with a fixed header (mtime 0) and keys sorted, so it is byte-reproducible.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from dotlightning.data.records import read_jsonl

ROOT = Path(__file__).resolve().parents[3]  # the repository: data/ holds the committed cache
NODE_DIR = Path(__file__).resolve().parent / "smcat-renderer"
CACHE_PATH = ROOT / "data" / "smcat-renders.jsonl.gz"
SMCAT_VERSION = "14.0.8"
INSTALL_HINT = "cd dotlightning/data/synth/smcat-renderer && npm ci"


class SmcatUnavailable(RuntimeError):
    """A cache miss with no way to render it (node or the pinned package missing)."""


def source_key(src: str) -> str:
    return hashlib.sha256(src.encode("utf-8")).hexdigest()


def load_cache(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    out = {}
    for row in read_jsonl(path):
        out[row.pop("key")] = row
    return out


def save_cache(path: Path, entries: dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps({"key": k, **entries[k]}, ensure_ascii=False, sort_keys=True) + "\n"
                    for k in sorted(entries))
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(lines.encode("utf-8"))


class SmcatRenderer:
    """Cache-first smcat renderer. ``render(src)`` -> {"dot": str} or {"error": str}."""

    def __init__(self, cache_path: Path | None = CACHE_PATH, node_dir: Path | None = None):
        self.cache_path = Path(cache_path) if cache_path else None
        self.node_dir = Path(node_dir) if node_dir else NODE_DIR
        self.cache = load_cache(self.cache_path) if self.cache_path else {}
        self.used: set[str] = set()
        self.new: dict[str, dict] = {}
        self._proc: subprocess.Popen | None = None

    def render(self, src: str) -> dict:
        key = source_key(src)
        self.used.add(key)
        hit = self.cache.get(key) or self.new.get(key)
        if hit is None:
            hit = self._node_render(src)
            self.new[key] = hit
        return hit

    # ------------------------------------------------------------------ node bridge (cache misses only)
    def _start(self) -> subprocess.Popen:
        node = shutil.which("node")
        pkg = self.node_dir / "node_modules" / "state-machine-cat" / "package.json"
        if node is None or not pkg.exists():
            missing = "node is not on PATH" if node is None else f"{pkg.parent} is not installed"
            raise SmcatUnavailable(f"smcat render cache miss and {missing}: install the pinned renderer with "
                                   f"`{INSTALL_HINT}` (node >= 20.12), or restore {self.cache_path}")
        version = json.loads(pkg.read_text(encoding="utf-8")).get("version")
        if version != SMCAT_VERSION:
            raise SmcatUnavailable(f"state-machine-cat {version} installed, the dataset pins {SMCAT_VERSION}: "
                                   f"run `{INSTALL_HINT}`")
        return subprocess.Popen([node, str(self.node_dir / "render.mjs")], cwd=self.node_dir, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)

    def _node_render(self, src: str) -> dict:
        if self._proc is None:
            self._proc = self._start()
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps({"src": src}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise SmcatUnavailable(f"{self.node_dir / 'render.mjs'} exited early; check `{INSTALL_HINT}`")
        return json.loads(line)

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
            self._proc = None

    def save(self, prune: bool = False) -> bool:
        """Write the cache when something new was rendered (or, with prune, when it holds unused entries).

        prune=True keeps exactly the entries this run looked up (what ships); otherwise old entries are kept too, so
        a build with another seed only adds. Returns whether the file was written."""
        if self.cache_path is None:
            return False
        merged = {**self.cache, **self.new}
        if prune:
            merged = {k: v for k, v in merged.items() if k in self.used}
        if merged.keys() == self.cache.keys() and not self.new:
            return False
        save_cache(self.cache_path, merged)
        self.cache, self.new = merged, {}
        return True
