"""`warta outlets` at national scale: today's code (a git worktree of an older commit) and this checkout,
in one run, on the same synthetic inputs.

    nice -n 10 python bench/outlets_scale.py --before /work/before            # 5, 100, 1000, 1700 outlets
    python bench/outlets_scale.py --before /work/before --sizes 5 100 --old-timeout 600

Inputs (random labels with a per-outlet lean, so some outlets really differ; `warta label` record
layout with probabilities and a model id): N outlets x 60 sentences on average (1-11 articles of 10
sentences each); the 5-outlet case is the issue's 27,400 sentences (5 x 274 articles x 20 sentences).
Each command runs as a child process; wall time, CPU (user+sys) and peak RSS of the child are
measured, and the ratio old / new printed. The old code runs with `--old-timeout` seconds at most
(killed beyond: reported as "> limit").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TYPES = ("fact", "quote", "opinion", "speculation")
STANCES = ("pro", "against", "neutral")
FRAMES = ("economic", "human_interest", "responsibility", "conflict", "morality", "none")
# Placeholder words (not news text): 4,000 random three-syllable words, so sentences share character
# n-grams about as much as real prose does (a tiny vocabulary would make every sentence look syndicated).
_SYLLABLES = [c + v for c in "bcdgjklmnprstw" for v in "aeiou"]
WORDS = sorted({"".join(random.Random(k).sample(_SYLLABLES, 3)) for k in range(4000)})


def _probs(rng: random.Random, labels: tuple[str, ...], chosen: str) -> dict[str, float]:
    raw = {label: rng.random() * 0.3 for label in labels}
    raw[chosen] += 1.0
    total = sum(raw.values())
    return {label: round(v / total, 6) for label, v in raw.items()}


def write_outlets(path: Path, n: int, seed: int = 0) -> int:
    """N outlets; returns the number of sentence records written."""
    rng = random.Random(seed)
    rows = 0
    with path.open("w", encoding="utf-8") as fh:
        for o in range(n):
            outlet = f"outlet{o:04d}"
            if n == 5:
                articles, per_article = 274, 20
            else:
                articles, per_article = rng.randint(1, 11), 10
            lean = rng.choice((0.2, 0.33, 0.33, 0.33, 0.5))  # P(pro): a few outlets lean
            for a in range(articles):
                art = f"{outlet}-a{a:03d}"
                for i in range(per_article):
                    t = rng.choice(TYPES)
                    s = "pro" if rng.random() < lean else rng.choice(("against", "neutral"))
                    f = rng.choice(FRAMES)
                    fh.write(json.dumps({
                        "id": f"{art}-{i:03d}", "article_id": art, "outlet": outlet, "role": "body", "index": i,
                        "date": f"2025-{1 + a % 12:02d}-{1 + i % 28:02d}",
                        "text": " ".join(rng.choice(WORDS) for _ in range(12)) + ".",
                        "type": t, "stance": s, "frame": f,
                        "probs": {"type": _probs(rng, TYPES, t), "stance": _probs(rng, STANCES, s),
                                  "frame": _probs(rng, FRAMES, f)},
                        "model": "synthetic/tfidf",
                    }) + "\n")
                    rows += 1
    return rows


def run_one(repo: Path, data: Path, out: Path, timeout: float) -> dict:
    """`python -m warta outlets` from REPO (its own warta package first on the path)."""
    cmd = [sys.executable, "-m", "warta", "outlets", str(data), "--out", str(out), "--force"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"wall": None, "cpu": None, "rss_mb": None, "timeout": timeout}
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{repo}: warta outlets failed on {data}: {proc.stderr.strip()[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: children run largest-last is not
    # guaranteed, so each run's peak is read from its own /usr/bin/time-free measurement below.
    return {"wall": wall, "cpu": cpu, "rss_mb": after.ru_maxrss / 1024}


def measured(repo: Path, data: Path, out: Path, timeout: float) -> dict:
    """run_one in a fresh child interpreter so ru_maxrss is this run's own peak."""
    code = (
        "import json,sys;sys.path.insert(0,%r);from outlets_scale import run_one;from pathlib import Path;"
        "print(json.dumps(run_one(Path(%r),Path(%r),Path(%r),%r)))" % (str(Path(__file__).parent), str(repo), str(data), str(out), timeout)
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr.strip()[-800:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cell(r: dict, key: str, unit: str, digits: int = 1) -> str:
    if r.get("timeout"):
        return f"> {r['timeout']:.0f} s (killed)" if key == "wall" else "–"
    return f"{r[key]:.{digits}f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the old code (git worktree)")
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 100, 1000, 1700])
    parser.add_argument("--old-timeout", type=float, default=600.0, help="seconds the old code may run per size")
    parser.add_argument("--skip-old", type=int, nargs="*", default=[], help="sizes the old code is not run on")
    parser.add_argument("--keep", type=Path, help="write inputs/outputs here instead of a temporary folder")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="outlets_scale_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.1f}; old = {args.before}, new = {args.after}")
    print("| outlets | sentences | old wall | old CPU | old peak RSS | new wall | new CPU | new peak RSS | wall old/new | CPU old/new | RSS old/new |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in args.sizes:
        data = workdir / f"o{n}.jsonl"
        rows = write_outlets(data, n)
        new = measured(args.after, data, workdir / f"new{n}", 3600)
        if n in args.skip_old:
            old = {"skipped": True}
        else:
            old = measured(args.before, data, workdir / f"old{n}", args.old_timeout)
        if old.get("skipped"):
            old_wall = old_cpu = old_rss = ratio = cpu_ratio = rss_ratio = "not run"
        else:
            old_wall, old_cpu, old_rss = _cell(old, "wall", "s"), _cell(old, "cpu", "s"), _cell(old, "rss_mb", "MB", 0)
            ratio = f"> {old['timeout'] / new['wall']:.0f}x" if old.get("timeout") else f"{old['wall'] / new['wall']:.1f}x"
            cpu_ratio = "–" if old.get("timeout") else f"{old['cpu'] / new['cpu']:.1f}x"
            rss_ratio = "–" if old.get("timeout") else f"{old['rss_mb'] / new['rss_mb']:.1f}x"
        print(f"| {n:,} | {rows:,} | {old_wall} | {old_cpu} | {old_rss} | {_cell(new, 'wall', 's')} | {_cell(new, 'cpu', 's')} | "
              f"{_cell(new, 'rss_mb', 'MB', 0)} | {ratio} | {cpu_ratio} | {rss_ratio} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
