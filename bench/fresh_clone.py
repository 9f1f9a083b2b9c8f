"""The README's main job on a fresh clone, in a fresh environment: wall time and peak memory.

Clones the repository (its committed HEAD) into an empty folder and runs the README's main-job
block there exactly as written, in two timed parts under ``/usr/bin/time -v``: the set-up lines
(venv, pip) and the ``warta`` lines. The interpreter is the first ``python3`` on PATH with any
active virtual environment taken off PATH, so nothing but Python and pip is there before the
block runs. Peak memory is the largest resident set of any one process of a part (getrusage of
the children). Writes bench/fresh_clone_results.json (read by bench/readme_figures.py for the
README) and prints the figures.

    python bench/fresh_clone.py [--source /work/main] [--dest /tmp/fresh] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from readme_figures import main_job_block  # noqa: E402

RESULTS = REPO / "bench" / "fresh_clone_results.json"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if not p.startswith(venv))
    return env


def timed(script: str, cwd: Path, env: dict[str, str], log: Path) -> dict[str, float]:
    """Run `script` with bash under /usr/bin/time -v; wall seconds and peak RSS (MB) of its processes."""
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        result = subprocess.run(["/usr/bin/time", "-v", "bash", "-e", "-o", "pipefail", "-c", script],
                                cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - started
    text = log.read_text(encoding="utf-8", errors="replace")
    if result.returncode != 0:
        raise SystemExit(f"failed (exit {result.returncode}); see {log}:\n{text[-2000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return {"wall_s": round(wall, 1), "peak_mb": round(peak_kb / 1024, 1)}


def du(path: Path) -> str:
    return subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(REPO), help="repository to clone (its HEAD)")
    parser.add_argument("--dest", type=Path, default=Path("/tmp/fresh"))
    parser.add_argument("--no-write", action="store_true", help="print only; do not write the results file")
    args = parser.parse_args()
    if args.dest.exists():
        shutil.rmtree(args.dest)
    env = clean_env()
    # warta's caches live outside the clone (~/.cache/warta): point them at an empty folder, so the main job
    # pays the e5 encoder pass a new user pays (the first measurement had a warm cache; see its caveat)
    cache = args.dest.parent / f"{args.dest.name}-cache"
    if cache.exists():
        shutil.rmtree(cache)
    env["WARTA_CACHE_DIR"] = str(cache)
    subprocess.run(["git", "clone", "-q", args.source, str(args.dest)], check=True, env=env)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.dest, capture_output=True, text=True,
                            check=True).stdout.strip()
    block = main_job_block((args.dest / "README.md").read_text(encoding="utf-8"))
    commands = block.commands()
    warta = block.without_setup()
    setup = [c for c in commands if c not in warta]
    activate = next(c for c in setup if "activate" in c)
    load_before = os.getloadavg()[0]
    install = timed("\n".join(setup), args.dest, env, args.dest.parent / f"{args.dest.name}-install.log")
    job = timed("\n".join([activate, *warta]), args.dest, env, args.dest.parent / f"{args.dest.name}-main-job.log")
    python = subprocess.run([str(args.dest / ".venv" / "bin" / "python"), "-c",
                             "import platform; print(platform.python_version())"],
                            capture_output=True, text=True, check=True).stdout.strip()
    torch_dir = next((args.dest / ".venv" / "lib").glob("python*/site-packages/torch"))
    result = {
        "date": time.strftime("%Y-%m-%d"), "commit": commit, "python": python,
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, load {load_before:.1f} at start",
        "install_s": install["wall_s"], "install_peak_mb": install["peak_mb"],
        "main_job_s": job["wall_s"], "peak_mb": job["peak_mb"],
        "venv_size": du(args.dest / ".venv"), "torch_size": du(torch_dir),
        "main_job": commands,
    }
    print(json.dumps(result, indent=1))
    if not args.no_write:
        RESULTS.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(REPO)}; now run python bench/readme_figures.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
