"""The import graph of warta.* (static AST parse, function-level imports included): no cycles, no upward edges.

Layers, lowest first (a module may import only its own layer or lower ones):

    core       warta.errors, warta.schema < warta.records, warta.jsonl < warta.text
               < warta.gold < warta.metrics < warta.runfolder
    models     warta.models
    config     warta.config (the run config is assembled from the model kinds' signatures)
    train      warta.train
    eval       warta.eval
    apps       warta.labelling, warta.outlets, warta.annotate
    cli        warta.cli, warta.__main__

Run as a script for a summary: ``python tests/test_imports.py`` (edges, layers, largest module).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Source folder -> package it installs as (pyproject [tool.setuptools.package-dir]).
ROOTS = {"warta": "warta", "train": "warta.train", "models": "warta.models", "eval": "warta.eval"}
# (module prefix, rank): the longest matching prefix decides.
RANKS = [
    ("warta", 0),
    ("warta.errors", 0),
    ("warta.schema", 0),
    ("warta.records", 1),
    ("warta.jsonl", 1),
    ("warta.config", 15),
    ("warta.text", 3),
    ("warta.gold", 4),
    ("warta.metrics", 5),
    ("warta.runfolder", 6),
    ("warta.models", 10),
    ("warta.train", 20),
    ("warta.eval", 30),
    ("warta.labelling", 40),
    ("warta.outlets", 40),
    ("warta.annotate", 40),
    ("warta.cli", 50),
    ("warta.__main__", 50),
]


def modules() -> dict[str, Path]:
    """warta module name -> source file."""
    found = {}
    for folder, package in ROOTS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The known module an imported name refers to (a module, or the module defining the attribute)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """module -> the warta modules it imports (anywhere in the file)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                names = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for name in names:
                if name == "warta" or name.startswith("warta."):
                    target = _resolve(name, known)
                    if target and target != module:
                        edges.add(target)
        graph[module] = edges
    return graph


def rank(module: str) -> int:
    matches = [(len(prefix), r) for prefix, r in RANKS if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1]


def upward_edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, targets in graph.items() for b in targets if rank(b) > rank(a))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def largest_modules(n: int = 5) -> list[tuple[int, str]]:
    sizes = [(len(path.read_text(encoding="utf-8").splitlines()), str(path.relative_to(REPO))) for path in modules().values()]
    return sorted(sizes, reverse=True)[:n]


def test_every_module_has_a_layer():
    assert all(rank(module) >= 0 for module in modules())


def test_import_graph_has_no_cycles():
    assert cycles(import_graph()) == []


def test_no_module_imports_a_higher_layer():
    assert upward_edges(import_graph()) == []


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    tree = ast.parse("def f():\n    from warta.train.run import train\n")
    found = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert found and found[0].module == "warta.train.run"
    graph = {"warta.models.x": {"warta.train.run"}, "warta.train.run": {"warta.models.x"}}
    assert upward_edges(graph) == [("warta.models.x", "warta.train.run")]
    assert cycles(graph) == [["warta.models.x", "warta.train.run"]]


if __name__ == "__main__":
    graph = import_graph()
    print(f"{len(graph)} modules, {sum(len(t) for t in graph.values())} import edges")
    print(f"cycles: {cycles(graph) or 'none'}")
    print(f"upward edges: {upward_edges(graph) or 'none'}")
    for lines, path in largest_modules():
        print(f"{lines:6d}  {path}")
