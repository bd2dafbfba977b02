"""Helpers for the hand-written v2 evaluation set (results/handwritten/prompts-v2.jsonl)."""
ITEMS = []


def G(body, undirected=False):
    head = "graph G {" if undirected else "digraph G {"
    out, depth = [head], 1
    for raw in body.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("}"):
            depth -= 1
        out.append("  " * depth + line)
        if line.endswith("{"):
            depth += 1
    out.append("}")
    return "\n".join(out)


def add(kind, source, prompt, body, undirected=False):
    ITEMS.append({"kind": kind, "source": source, "prompt": prompt.strip("\n"),
                  "completion": G(body, undirected)})
