"""Every figure in README.md and docs/*.md comes from here, so none can go stale.

A figure block in a Markdown file looks like

    <!-- figures:NAME -->
    ... text this script writes ...
    <!-- /figures -->

and NAME is one of ``RENDERERS`` below. Each renderer reads its figures from one place: the
repository's own files (pyproject.toml, configs/, seeds/), a bench script's results file
(``bench/*_results.md`` / ``.json``, written by the script that measured them) or a cheap
computation on the bundled seeds (agreement). Nothing is retrained here.

    python bench/readme_figures.py            # rewrite the blocks in place
    python bench/readme_figures.py --check    # exit 1 (and name the blocks) if a block is out of date

tests/test_readme_figures.py runs the check, so a results file rerun, a new supplement part or a
new extra fails the suite until this script is rerun. The README's shell blocks are read here too
(``shell_blocks``), for tests/test_readme.py and the fresh-clone measurement.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the extras block needs 3.11's tomllib
    tomllib = None

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
README = REPO / "README.md"
DOCS_WITH_FIGURES = ("docs/cli.md", "docs/models.md", "docs/layout.md")
BLOCK = re.compile(r"(?P<open><!-- figures:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(?P<close><!-- /figures -->)", re.S)
FENCE = re.compile(r"^(?P<marks>(?:<!--[^\n]*-->\n)*)```(?:bash|sh|shell)\n(?P<code>.*?)^```$", re.S | re.M)
SKIP = re.compile(r"<!-- skip-test: (?P<reason>.+?) -->")
MAIN_JOB = "<!-- main-job -->"
# Lines of the main job that set up the environment (the README test runs in the suite's own venv).
REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9_.-]+")
SETUP_PREFIXES = ("python3 -m venv", ". .venv/bin/activate", "source .venv/bin/activate", "pip install")


# --- the README's shell blocks -----------------------------------------------------------------

@dataclass(frozen=True)
class ShellBlock:
    code: str
    line: int  # 1-based line of the opening fence in the file
    main_job: bool
    skip_reason: str | None

    def commands(self) -> list[str]:
        """Command lines, comments and blank lines left out, backslash continuations joined."""
        joined = self.code.replace("\\\n", " ")
        return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.strip().startswith("#")]

    def without_setup(self) -> list[str]:
        return [c for c in self.commands() if not c.startswith(SETUP_PREFIXES)]


def shell_blocks(text: str) -> list[ShellBlock]:
    """The ```bash blocks of a Markdown text, with the HTML comments right above each."""
    blocks = []
    for m in FENCE.finditer(text):
        marks = m.group("marks")
        skip = SKIP.search(marks)
        line = text.count("\n", 0, m.start("marks") + len(marks)) + 1
        blocks.append(ShellBlock(m.group("code"), line, MAIN_JOB in marks, skip.group("reason") if skip else None))
    return blocks


def main_job_block(text: str | None = None) -> ShellBlock:
    text = README.read_text(encoding="utf-8") if text is None else text
    found = [b for b in shell_blocks(text) if b.main_job]
    if len(found) != 1:
        raise SystemExit(f"README.md: expected one block marked {MAIN_JOB}, found {len(found)}")
    return found[0]


def main_job_config(text: str | None = None) -> Path:
    """The config the README's main job trains (`warta train CONFIG ...`)."""
    for command in main_job_block(text).commands():
        words = command.split()
        if words[:2] == ["warta", "train"]:
            return REPO / words[2]
    raise SystemExit("README.md: the main job has no `warta train CONFIG` line")


# --- reading results files ---------------------------------------------------------------------

def md_tables(path: Path) -> list[list[dict[str, str]]]:
    """Every pipe table of a Markdown file, as rows keyed by the header cells."""
    tables, header, rows = [], None, []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if header is None:
                header = cells
            elif not all(set(c) <= set("-: ") for c in cells):
                rows.append(dict(zip(header, cells)))
            continue
        if header is not None:
            tables.append(rows)
        header, rows = None, []
    return tables


def missing(what: str, command: str) -> str:
    return f"_Not measured yet: {what} (`{command}`)._\n"


# --- renderers ---------------------------------------------------------------------------------

def render_extras() -> str:
    """Optional extras from pyproject.toml, each with the comment written above it there."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    extras = tomllib.loads(text)["project"]["optional-dependencies"]
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in section.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
        elif "=" in stripped:
            comments[stripped.split("=", 1)[0].strip()] = " ".join(pending)
            pending = []
    out = []
    for name in extras:
        packages = ", ".join(f"`{REQUIREMENT_NAME.match(p).group(0)}`" for p in extras[name])
        why = first_sentence(comments.get(name, ""), limit=400)
        if len(why) > 120:  # the README wants the gist; pyproject.toml keeps the details
            why = re.sub(r" \([^()]*\)", "", why)
        out.append(f"- `[{name}]`" + (f": {why.rstrip('.')}" if why else "") + f" ({packages})")
    return "\n".join(out) + "\n"


def render_bundled_configs() -> str:
    names = sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))
    return f"{len(names)} bundled configs: " + ", ".join(f"`{n}`" for n in names) + ".\n"


def seed_facts() -> dict[str, object]:
    seeds = REPO / "seeds"
    with (seeds / "manifest.csv").open(encoding="utf-8", newline="") as f:
        manifest = list(csv.DictReader(f))
    labels = [json.loads(ln) for ln in (seeds / "labels.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]
    config_path = main_job_config()
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    supplement = (config.get("data") or {}).get("supplement") or []
    supplement = [supplement] if isinstance(supplement, str) else supplement
    sizes = {}
    for rel in supplement:
        path = (config_path.parent / rel).resolve()
        sizes[path.name] = sum(1 for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip())
    return {"articles": len(manifest), "outlets": len({r["outlet"] for r in manifest}), "labelled": len(labels),
            "config": config_path.relative_to(REPO).as_posix(), "supplement": sizes}


def render_seeds() -> str:
    f = seed_facts()
    parts = " + ".join(f"{Path(name).stem} {n}" for name, n in f["supplement"].items())
    total = sum(f["supplement"].values())
    supplement = (f"plus {total:,} written training-only sentences (`seeds/written/`: {parts})" if total
                  else "without the written supplement")
    return (f"The bundled seed corpus: {f['articles']} articles from {f['outlets']} outlets (one of them `unknown`), "
            f"{f['labelled']} hand-labelled title and body sentences; the main job (`{f['config']}`) trains on them "
            f"{supplement}.\n")


def render_agreement() -> str:
    from warta.annotate.agreement import agreement, load_annotations

    files = [REPO / "seeds" / "labels.jsonl", REPO / "seeds" / "agreement" / "second_pass.jsonl"]
    result = agreement(load_annotations(files))
    alphas = ", ".join(f"{layer} {figures['alpha']:.3f}" for layer, figures in result["layers"].items())
    return (f"Agreement of the seed labels with a blind second labelling of {result['overlap']} of them "
            f"(`warta annotate agreement seeds/labels.jsonl seeds/agreement/second_pass.jsonl`): Krippendorff's α "
            f"{alphas}. The gold labels were corrected where review sided with the second pass after the "
            "comparison, so these overstate blind agreement; the figures of the two passes as made are in "
            "`docs/agreement-and-audit.md`.\n")


EXTERNAL = BENCH / "external_table_results.md"


def render_which_model() -> str:
    """The external-dev table of bench/external_table.py (ACC), the columns a reader chooses by."""
    if not EXTERNAL.is_file():
        return missing("every model on real unseen outlets", "python bench/external_table.py")
    tables = md_tables(EXTERNAL)
    if not tables:
        raise SystemExit(f"{EXTERNAL}: no table")
    main_config = main_job_config().stem
    head = ("| model | type macro-F1 [95% CI] | stance macro-F1 | frame macro-F1 | stance-index error, points [95% interval over outlets] | "
            "leave-one-outlet-out: macro-F1 type / stance / frame; stance-index error | train (s) | "
            "label (sentences/s, × TF-IDF) |")
    out = [head, "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    speed = next((k for k in tables[0][0] if k.startswith("label s/s")), None) if tables[0] else None
    names = [row["model"] for row in tables[0]]
    # The main job's row: the variant named after its config (the first one, when variants share the stem).
    main_row = next((n for n in names if n == main_config), None) or next(
        (n for n in names if n.startswith(main_config + " ")), None)
    for row in tables[0]:
        name = row["model"]
        shown = f"**{name}** (main job)" if name == main_row else name
        out.append(f"| {shown} | {row['type F1 [CI]']} | {row['stance F1 [CI]']} | {row['frame F1 [CI]']} | "
                   f"{row['SI err pts']} | {row['LOOO F1; SI']} | {row['train s']} | {row[speed] if speed else ''} |")
    if main_row is None:
        out.append(f"\nThe main job's config (`{main_config}`) is not among the models this table measured.")
    paragraphs = EXTERNAL.read_text(encoding="utf-8").split("\n\n")
    measured = re.search(r"on (\d{4}-\d{2}-\d{2})", paragraphs[1])
    size = re.search(r"External: (\d+) labelled sentences from (\d+) real articles / (\d+) outlets", paragraphs[1])
    notes = [" ".join(p.split()) for p in paragraphs if p.strip() and p.strip()[0] in "¹²³⁴"]
    source = ("\n\nExternal dev set: " + (f"{size.group(1)} hand-labelled sentences from {size.group(2)} real "
                                            f"articles in {size.group(3)} outlets the seeds lack. " if size else "")
              + "Train (s): `warta train CONFIG --refit all`; label: sentences per second of the model, ratio to "
              "TF-IDF in the same run; both on 2 CPU cores (the footnote says how loaded). "
              "Source: `bench/external_table_results.md` (`python bench/external_table.py`"
              + (f", measured {measured.group(1)}" if measured else "") + ").")
    return "\n".join(out) + source + "".join(f"\n\n{n}" for n in notes if n) + "\n"


def render_main_job_time() -> str:
    path = BENCH / "fresh_clone_results.json"
    if not path.is_file():
        return missing("the main job from a fresh clone", "python bench/fresh_clone.py")
    r = json.loads(path.read_text(encoding="utf-8"))
    return (f"From a fresh clone with only Python {r['python']} and pip ({r['machine']}): the install "
            f"{r['install_s'] / 60:.1f} min, the main job's `warta` commands {r['main_job_s'] / 60:.1f} min wall, "
            f"peak memory {r['peak_mb']:,.0f} MB; the environment takes {r['venv_size']} on disk "
            f"(torch {r['torch_size']}). Measured {r['date']} at {r['commit']} by `python bench/fresh_clone.py`"
            + (f"; caveat: {r['caveat']}" if r.get("caveat") else "") + ".\n")


def table_row(path: Path, key_prefix: str, exact: bool = False) -> dict[str, str]:
    """The first row of any table in `path` whose first cell starts with (or is) `key_prefix`, bold marks dropped."""
    for table in md_tables(path):
        for row in table:
            first = next(iter(row.values()), "")
            if first == key_prefix or (not exact and first.startswith(key_prefix)):
                return {k: v.replace("**", "") for k, v in row.items()}
    raise SystemExit(f"{path.relative_to(REPO)}: no table row starting {key_prefix!r} (the figure block reads it)")


def render_speed() -> str:
    """How fast and how big: each line from the results file of the bench script that measured it."""
    lines = []
    label = BENCH / "label_speed_results.md"
    if label.is_file():
        rate = table_row(label, "end to end, 2 workers (default)")
        memory = table_row(label, "1,000,015 sentences")
        lines.append(f"- `warta label` with the TF-IDF model: {rate['sentences/s']} sentences/s end to end on 2 CPU "
                     f"cores (quiet machine); 1 million sentences in {memory['peak PSS, all processes']} of memory "
                     "(peak PSS of all processes), flat in the input size (`bench/label_speed_results.md`).")
    else:
        lines.append("- " + missing("TF-IDF labelling speed", "python bench/label_speed.py tfidf").strip())
    encoder = BENCH / "encoder_speed_results.md"
    if encoder.is_file():
        # the first table (the latest run); later tables are earlier runs
        first = next((table for table in md_tables(encoder) if any(r.get("model") == "hybrid" for r in table)), [])
        rows = {r["path"]: r for r in first if r.get("model") == "hybrid"}
        if {"fp32", "torch bf16", "onnx fp32", "onnx int8"} <= set(rows):
            fp32, bf16, same, int8 = rows["fp32"], rows["torch bf16"], rows["onnx fp32"], rows["onnx int8"]
            # agreement on unseen text (the external dev set) where the run had it: on the corpus sentences,
            # which the models were trained on, every path agrees more
            column = next((k for k in ("agreement with fp32, external dev", "agreement with fp32 (type / stance / frame)")
                           if bf16.get(k, "—") != "—"), "agreement with fp32, corpus sentences (type / stance / frame)")
            where = "on unseen text" if "external" in column else "on training sentences"
            lines.append(f"- `warta label` with an e5 encoder (the hybrid, and so the main job's ensemble) is bound by the "
                         f"encoder: {fp32['sentences/s']} sentences/s in PyTorch fp32 on a quiet 2-core machine, "
                         f"{bf16['× fp32']}× that in bf16 (`warta label --backend torch-bf16`, on CPUs with bf16 "
                         f"instructions; label agreement with fp32 {where}, type / stance / frame "
                         f"{bf16[column]}), {same['× fp32']}× through ONNX "
                         f"Runtime fp32 (`--backend onnx`, the same labels; `[fast]` extra), {int8['× fp32']}× with "
                         f"ONNX int8 (`--backend onnx-int8` or `--quantize`; agreement {int8[column]}) "
                         "(`bench/encoder_speed_results.md`).")
    scale = BENCH / "outlets_scale_results.md"
    if scale.is_file():
        # the quiet re-run (a table without the old code's columns) where there is one, else the loaded run
        quiet = [t for t in md_tables(scale) if t and "old wall" not in t[0]
                 and {"5", "1,700"} <= {next(iter(r.values())) for r in t}]
        if quiet:
            by_size = {next(iter(r.values())): r for r in quiet[-1]}
            big, small, where = by_size["1,700"], by_size["5"], "on a quiet 2-core machine"
        else:
            big, small = table_row(scale, "1,700", exact=True), table_row(scale, "5", exact=True)
            where = "wall times on a shared 2-core machine under heavy load"
        lines.append(f"- `warta outlets`: {big['outlets']} outlets ({big['sentences']} sentences) in {big['new wall']} "
                     f"wall ({big['new CPU']} CPU), {big['new peak RSS']} peak; {small['outlets']} outlets with "
                     f"{small['sentences']} sentences in {small['new wall']} wall ({small['new CPU']} CPU), "
                     f"{small['new peak RSS']}; {where} (`bench/outlets_scale_results.md`).")
    return "\n".join(lines) + "\n"


PACKAGES = (("warta", "warta"), ("warta/text", "warta.text"), ("warta/gold", "warta.gold"),
            ("warta/labelling", "warta.labelling"), ("warta/outlets", "warta.outlets"),
            ("warta/annotate", "warta.annotate"), ("warta/cli", "warta.cli"), ("train", "warta.train"),
            ("models", "warta.models"), ("eval", "warta.eval"))


def first_sentence(doc: str | None, limit: int = 150) -> str:
    text = " ".join((doc or "").split("\n\n")[0].split())
    end = re.search(r"(?<=[a-z0-9)`])\. ", text)
    text = text[:end.start() + 1] if end else text
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def render_layout() -> str:
    """Every module with the first sentence of its docstring, so the layout cannot drift from the code."""
    import ast

    out = []
    for folder, package in PACKAGES:
        out.append(f"- `{folder}/` (`{package}`)")
        for path in sorted((REPO / folder).glob("*.py")):
            if path.name in ("__init__.py", "__main__.py"):
                continue
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            out.append(f"  - `{path.name}`" + (f": {first_sentence(doc)}" if doc else ""))
    return "\n".join(out) + "\n"


def render_layering() -> str:
    """The import layering as tests/test_imports.py enforces it (its RANKS list), lowest first."""
    import ast

    tree = ast.parse((REPO / "tests" / "test_imports.py").read_text(encoding="utf-8"))
    ranks = next(ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "RANKS")
    by_rank: dict[int, list[str]] = {}
    for module, rank in ranks:
        if module != "warta":
            by_rank.setdefault(rank, []).append(f"`{module}`")
    chain = " < ".join(", ".join(names) for _, names in sorted(by_rank.items()))
    return (f"Imports go one way only: {chain}; `tests/test_imports.py` fails on a cycle or an upward import, function-level imports "
            "included.\n")


RENDERERS: dict[str, Callable[[], str]] = {
    "layering": render_layering,
    "layout": render_layout,
    "speed": render_speed,
    "extras": render_extras,
    "bundled-configs": render_bundled_configs,
    "seeds": render_seeds,
    "agreement": render_agreement,
    "which-model": render_which_model,
    "main-job-time": render_main_job_time,
}


def render(text: str, cache: dict[str, str] | None = None) -> str:
    """`text` with every figure block rewritten by its renderer."""
    cache = {} if cache is None else cache

    def replace(m: re.Match) -> str:
        name = m.group("name")
        if name not in RENDERERS:
            raise SystemExit(f"unknown figure block {name!r} (known: {', '.join(RENDERERS)})")
        if name not in cache:
            cache[name] = RENDERERS[name]()
        return m.group("open") + cache[name] + m.group("close")

    return BLOCK.sub(replace, text)


def stale_blocks(text: str, rendered: str) -> list[str]:
    old = {m.start(): (m.group("name"), m.group("body")) for m in BLOCK.finditer(text)}
    new = [m.group("body") for m in BLOCK.finditer(rendered)]
    return [name for (name, body), fresh in zip(old.values(), new) if body != fresh]


def files_with_figures() -> list[Path]:
    return [README] + [REPO / p for p in DOCS_WITH_FIGURES if (REPO / p).is_file()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date blocks (exit 1 if any)")
    args = parser.parse_args(argv)
    cache: dict[str, str] = {}
    stale = []
    for path in files_with_figures():
        text = path.read_text(encoding="utf-8")
        rendered = render(text, cache)
        names = stale_blocks(text, rendered)
        stale += [f"{path.relative_to(REPO)}: {n}" for n in names]
        if names and not args.check:
            path.write_text(rendered, encoding="utf-8")
    if args.check:
        for s in stale:
            print(f"out of date: {s} (run python bench/readme_figures.py)")
        return 1 if stale else 0
    print("\n".join(f"rewrote {s}" for s in stale) or "all figure blocks up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
