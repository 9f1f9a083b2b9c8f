"""Structure figures of the package (warta/ train/ models/ eval/), read from the source with `ast`.

    python bench/code_metrics.py [REPO] [--top 15]

Prints, for the tree at REPO (default: this checkout):
  - modules and lines (physical lines of every .py file),
  - the largest functions (lines from `def` to the last line of the body),
  - places that spell a run-folder file name (string literals, f-string parts included, whose path parts
    are one of RUN_FILES; warta/runfolder.py, which owns the layout, is listed but not counted),
  - bootstrap candidates: functions that draw resamples (a call to `.integers`, `.choice`, `.dirichlet`,
    `.poisson` or `.multinomial`, or a name containing "bootstrap"). Which of them is a bootstrap
    *implementation* (as opposed to a caller or a permutation test) is judged by reading them; the list
    is what to read,
  - hyperparameter default places: for each keyword parameter of a model constructor (models/*.py,
    `__init__` of a class), the places in the package that give the same name a default value
    (a parameter default in any signature, or a class-level annotated field with a value),
  - private names imported across warta/outlets/ modules (`from .x import _y` / `from warta.outlets.x
    import _y`, counted per imported name).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGES = ("warta", "train", "models", "eval")
HYPER_HOMES = ("models/", "train/", "warta/config.py")  # where a model hyperparameter may have its default
RUNFOLDER = "warta/runfolder.py"
# File and folder names of the run-folder layout (warta/runfolder.py's docstring); the model card inside
# model/ (model.json) belongs to the model folder's own layout (models/base.py) and is not counted.
RUN_FILES = {
    "config.yaml", "data.json", "sentences.jsonl", "labels.json", "metrics.json", "train.log", "env.json",
    "oof.jsonl", "outlet_error.json", "model-eval",
}
RUN_FILE_PREFIXES = ("eval-data-", "eval-")  # eval-<split>.json, eval-data-<name>.json (f-strings)
# Folder names of the layout, counted where they are joined onto a path (`run / "model"`, `.joinpath("cv")`):
# as bare strings they are common words (a "model" key, the "cv" split).
RUN_DIRS = {"model", "cv", "predictions", "seeds", "model-eval", "checkpoints"}
RESAMPLE_CALLS = {"integers", "choice", "dirichlet", "poisson", "multinomial"}


def modules(repo: Path) -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (repo / pkg).rglob("*.py") if "__pycache__" not in p.parts)


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def functions(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def qualified_names(tree: ast.Module) -> dict[ast.AST, str]:
    names: dict[ast.AST, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                names[child] = name
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return names


def run_file_literals(tree: ast.Module) -> list[tuple[int, str]]:
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            if parts and any(parts[0].startswith(p) for p in RUN_FILE_PREFIXES) and parts[-1].endswith(".json"):
                hits.append((node.lineno, "f'" + "{}".join(parts) + "'"))
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            components = set(node.value.split("/"))
            if components & RUN_FILES:
                hits.append((node.lineno, repr(node.value)))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            right = node.right
            if isinstance(right, ast.Constant) and right.value in RUN_DIRS:
                hits.append((node.lineno, f"/ {right.value!r}"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "joinpath":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and arg.value in RUN_DIRS:
                    hits.append((node.lineno, f"joinpath({arg.value!r})"))
    return sorted(set(hits))


def resample_functions(tree: ast.Module, names: dict[ast.AST, str]) -> list[tuple[int, str, str]]:
    found = []
    for fn in functions(tree):
        calls = {
            n.func.attr
            for n in ast.walk(fn)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in RESAMPLE_CALLS
        }
        if calls or "bootstrap" in fn.name.lower():
            # only the innermost function that draws (skip a function whose drawing is all in a nested def)
            nested = [n for n in ast.walk(fn) if n is not fn and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            own = {
                n.func.attr
                for n in ast.walk(fn)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in RESAMPLE_CALLS
                and not any(n in set(ast.walk(inner)) for inner in nested)
            }
            if own or "bootstrap" in fn.name.lower():
                found.append((fn.lineno, names.get(fn, fn.name), ",".join(sorted(own)) or "-"))
    return found


def constructor_params(repo: Path) -> set[str]:
    params: set[str] = set()
    for path in sorted((repo / "models").glob("*.py")):
        tree = parse(path)
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":
                    args = fn.args
                    positional = args.posonlyargs + args.args
                    with_default = positional[len(positional) - len(args.defaults):] if args.defaults else []
                    kw = [a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
                    params.update(a.arg for a in [*with_default, *kw] if a.arg != "self")
    return params


def default_places(tree: ast.Module, wanted: set[str]) -> list[tuple[int, str]]:
    places = []
    for fn in functions(tree):
        args = fn.args
        positional = args.posonlyargs + args.args
        with_default = positional[len(positional) - len(args.defaults):] if args.defaults else []
        kw = [a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        for arg in [*with_default, *kw]:
            if arg.arg in wanted:
                places.append((fn.lineno, arg.arg))
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for stmt in cls.body:
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
                if stmt.target.id in wanted:
                    places.append((stmt.lineno, stmt.target.id))
    return places


def private_outlet_imports(repo: Path) -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted((repo / "warta" / "outlets").glob("*.py")):
        tree = parse(path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            module = node.module or ""
            inside = node.level > 0 or module.startswith("warta.outlets")
            if not inside:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append((path.name, node.lineno, "." * node.level + module, alias.name))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    repo = Path(args.repo).resolve()
    paths = modules(repo)
    trees = {p: parse(p) for p in paths}
    rel = {p: p.relative_to(repo).as_posix() for p in paths}

    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in paths)
    print(f"tree: {repo}")
    print(f"modules: {len(paths)}  lines: {lines}  (.py files under {', '.join(PACKAGES)})")

    sizes = []
    for p, tree in trees.items():
        names = qualified_names(tree)
        for fn in functions(tree):
            sizes.append((fn.end_lineno - fn.lineno + 1, f"{rel[p]}:{fn.lineno} {names.get(fn, fn.name)}"))
    sizes.sort(key=lambda item: (-item[0], item[1]))
    print(f"\nlargest functions (top {args.top}; lines def..end):")
    for size, where in sizes[: args.top]:
        print(f"  {size:4d}  {where}")
    print(f"  functions over 80 lines: {sum(1 for s, _ in sizes if s > 80)}")

    print("\nrun-folder file names spelled out (outside warta/runfolder.py):")
    counted_files, counted = set(), 0
    for p, tree in trees.items():
        hits = run_file_literals(tree)
        if not hits:
            continue
        owner = rel[p] == RUNFOLDER
        for line, text in hits:
            print(f"  {'(owner) ' if owner else ''}{rel[p]}:{line} {text}")
        if not owner:
            counted_files.add(rel[p])
            counted += len(hits)
    print(f"  places: {counted} literals in {len(counted_files)} modules (+ the owner, {RUNFOLDER})")

    print("\nbootstrap candidates (functions that draw resamples; read them to count implementations):")
    for p, tree in trees.items():
        for line, name, calls in resample_functions(tree, qualified_names(tree)):
            print(f"  {rel[p]}:{line} {name} [{calls}]")

    wanted = constructor_params(repo)
    per_param: dict[str, list[str]] = defaultdict(list)
    for p, tree in trees.items():
        for line, name in default_places(tree, wanted):
            per_param[name].append(f"{rel[p]}:{line}")
    multi = {k: v for k, v in per_param.items() if len(v) > 1}
    total = sum(len(v) for v in per_param.values())
    core = {k: [w for w in v if w.startswith(HYPER_HOMES)] for k, v in per_param.items()}
    core_multi = {k: v for k, v in core.items() if len(v) > 1}
    print(f"\nhyperparameter defaults: {len(per_param)} constructor parameters with a default, {total} places"
          f" in the package; within {', '.join(HYPER_HOMES)}: {sum(len(v) for v in core.values())} places,"
          f" {len(core_multi)} parameters defaulted in more than one place there.")
    both = sorted(k for k, v in per_param.items()
                  if any(w.startswith("warta/config.py") for w in v) and any(w.startswith("models/") for w in v))
    print(f"  defaulted both in warta/config.py and in models/: {len(both)} ({', '.join(both)})")
    print("  (the name alone is matched: `seed`, `labels`, `batch_size`, `device` also name non-model settings)")
    print(f"  all places, for the {len(multi)} parameters defaulted in more than one place:")
    for name in sorted(multi):
        print(f"  {name}: {len(multi[name])}  {' '.join(multi[name])}")

    private = private_outlet_imports(repo)
    print(f"\nprivate names imported across warta/outlets/ modules: {len(private)}")
    for file, line, module, name in private:
        print(f"  outlets/{file}:{line} from {module} import {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
