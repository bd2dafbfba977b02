"""The generator of the shipped dataset (data/{train,val,test}.jsonl), deterministic from a seed.

``build`` is the pipeline (mix, generate, filter, write; ``python scripts/build_dataset.py --out DIR`` runs it), read
top to bottom. What it draws on, in the order a record is made:

- ``vocab``: split-partitioned name pools (val/test never share a node ID with train) and naming styles;
- ``dot_writer``: the canonical DOT writer (``Graph``, ``Cluster``) every completion comes from;
- ``text``: phrasing (intros, instructions, the smcat prompt);
- ``kinds``: graph builders per kind; ``sources``: nl, docs, code and smcat records built from them;
- ``smcat``: random state-machine-cat programs, rendered by the real renderer through ``smcat_render`` (a committed
  cache, data/smcat-renders.jsonl.gz; ``smcat-renderer/`` is the pinned node package for cache misses);
- ``prose`` (v3) and ``formats`` / ``formats_code`` (v4): records drawn from their own random streams.

It needs the repository (the render cache and the data/ folder), so it is not part of what the wheel is used for.
"""
