"""The package layout: no module imports itself back through others, and the subpackages depend on each other in one
direction only (metrics <- data <- model <- train <- cli), with function-level (lazy) imports counted too."""

from __future__ import annotations

import ast
from pathlib import Path

import dotlightning

PACKAGE = Path(dotlightning.__file__).resolve().parent
LAYERS = ("metrics", "data", "model", "train", "cli")  # each may import only the ones before it (and itself)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every package module that ``path`` imports, anywhere in the file (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def test_no_module_of_the_package_imports_itself_back_through_others():
    edges = graph()
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(node):] + [node]))
        if node in done:
            return
        for target in sorted(edges[node]):
            visit(target, stack + [node])
        done.add(node)

    for node in sorted(edges):
        visit(node, [])


def test_subpackages_import_only_the_layers_before_them():
    wrong = []
    for source, targets in graph().items():
        layer = source.split(".")[1] if source.count(".") else None
        if layer not in LAYERS:
            continue
        allowed = set(LAYERS[: LAYERS.index(layer) + 1])
        for target in targets:
            target_layer = target.split(".")[1] if target.count(".") else None
            if target_layer in LAYERS and target_layer not in allowed:
                wrong.append(f"{source} imports {target}")
    assert not wrong, wrong
