"""Shared pieces of the hostile-input tests (tests/test_hostile_*.py): a real TF-IDF run (also for test_label,
test_models, test_ray_engine), CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SEED_TXT = SEEDS / "000_f1aba28e426cfe17.txt"
BODY = (
    "Perusahaan teknologi itu mengganti ratusan pekerja dengan sistem kecerdasan buatan tahun ini.\n"
    "Serikat pekerja menyebut langkah itu merugikan karyawan yang sudah lama bekerja.\n"
    "Direktur perusahaan mengatakan otomatisasi membuat layanan lebih cepat dan murah.\n"
)


def make_tfidf_run(tmp_path_factory) -> Path:
    """A real TF-IDF run folder (C fixed: a few seconds); each module wraps it in a fixture."""
    from warta.config import load_config
    from warta.train.run import train

    config = load_config(REPO / "configs" / "tfidf.yaml", ["model.c_values=[1.0]"])
    return train(config, out=tmp_path_factory.mktemp("runs") / "tfidf", progress=False, n_boot=0).run_dir


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run `warta ARGS` in-process through the real entry point's error handling: (exit code, stdout, stderr)."""
    from warta.cli import run

    capsys.readouterr()  # what ran before (a fixture saving a model prints transformers' bars) is not the command's
    code = run([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def warta_process(*args: str, stdin=None, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`python -m warta ARGS` as a real process."""
    if "stdout" not in kwargs and "stderr" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run(
        [sys.executable, "-m", "warta", *map(str, args)], stdin=stdin, timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1"}, **kwargs,
    )


def one_line(text: str) -> str:
    """The text is exactly one line without a traceback; returns it."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def snapshot(paths) -> dict[Path, bytes]:
    return {Path(p): Path(p).read_bytes() for p in paths}
