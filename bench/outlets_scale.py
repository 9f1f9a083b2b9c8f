"""Time `warta outlets` on N synthetic outlets (3 articles x 5 labelled sentences each, random labels).

    python bench/outlets_scale.py                 # N = 100, 200, 1000
    python bench/outlets_scale.py --sizes 100 200 --n-boot 2000

Prints one table row per N: pairs, wall, CPU (user+sys of the child), peak RSS of the child,
and the 1-minute load average before and after (the machine is shared, so wall time varies).
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

TYPES = ("fact", "opinion", "quote")
STANCES = ("pro", "against", "neutral")
FRAMES = ("economic", "conflict", "none")


def write_outlets(path: Path, n: int, articles: int = 3, sentences: int = 5, seed: int = 0) -> int:
    rng = random.Random(seed)
    rows = 0
    with path.open("w", encoding="utf-8") as fh:
        for o in range(n):
            outlet = f"outlet{o:04d}"
            for a in range(articles):
                art = f"{outlet}-a{a}"
                for i in range(sentences):
                    fh.write(json.dumps({
                        "id": f"{art}-{i:03d}", "article_id": art, "outlet": outlet, "role": "body", "index": i,
                        "text": f"kalimat {i}", "type": rng.choice(TYPES), "stance": rng.choice(STANCES),
                        "frame": rng.choice(FRAMES),
                    }) + "\n")
                    rows += 1
    return rows


def run_one(n: int, n_boot: int, workdir: Path) -> dict:
    data = workdir / f"o{n}.jsonl"
    write_outlets(data, n)
    out = workdir / f"r{n}"
    warta = shutil.which("warta") or "warta"
    load_before = os.getloadavg()[0]
    cmd = [warta, "outlets", str(data), "--out", str(out), "--force", "--n-boot", str(n_boot)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"warta outlets failed for N={n}: {proc.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    called = 0
    pairs = json.loads((out / "outlets.json").read_text())["distances"]["pairs"]
    called = sum(1 for p in pairs if any(t.get("differs") for t in p.get("tests", {}).values()))
    return {"n": n, "pairs": n * (n - 1) // 2, "wall": wall, "cpu": cpu, "rss_mb": after.ru_maxrss / 1024,
            "load": (load_before, os.getloadavg()[0]), "called": called}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 1000])
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="write inputs/outputs here instead of a temporary folder")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="outlets_scale_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print("| outlets | pairs | wall | CPU | peak RSS | load avg (1 min, before/after) | pairs called different |")
    print("| ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for n in args.sizes:
        r = run_one(n, args.n_boot, workdir)
        print(f"| {r['n']:,} | {r['pairs']:,} | {r['wall']:.1f} s | {r['cpu']:.1f} s | {r['rss_mb']:.0f} MB | "
              f"{r['load'][0]:.1f} / {r['load'][1]:.1f} | {r['called']} |", flush=True)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
