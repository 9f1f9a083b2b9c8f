"""Run the `warta` command line in this process (click's test isolation), or as a real subprocess.

`run_warta` is the one helper tests call: in this process unless the test needs a real process.
In-process runs go through the console entry point `warta.cli.main` (so user
errors become one line and an exit code exactly as on the command line) and
pay the import cost of the CLI once per test session instead of once per call.
`run_subprocess` is kept for what needs a real process: `python -m warta`
itself, signals, and environment variables read at import time (HF_HUB_OFFLINE).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner


def run_subprocess(*args: str, cwd: Path | None = None, env: dict | None = None, stdin: bytes | str | None = None,
                   text: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warta", *args], capture_output=True, text=text, cwd=cwd, env=env,
                          input=stdin, timeout=timeout)


def run_in_process(*args: str, cwd: Path | None = None, stdin: bytes | str | None = None,
                   text: bool = True) -> subprocess.CompletedProcess:
    """`warta ARGS` run by `warta.cli.main` here; returns what a subprocess run would (exit code, stdout, stderr)."""
    from warta.cli import main

    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    old_argv, old_cwd = sys.argv, os.getcwd()
    runner = CliRunner()
    with runner.isolation(input=stdin) as streams:
        stdout, stderr = streams[0], streams[1]
        sys.argv = ["warta", *args]
        try:
            if cwd is not None:
                os.chdir(cwd)
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = old_argv
            os.chdir(old_cwd)
        out, err = stdout.getvalue(), stderr.getvalue()
    if text:
        out, err = out.decode("utf-8"), err.decode("utf-8")
    return subprocess.CompletedProcess(["warta", *args], code, out, err)


def run_warta(*args: str | Path, cwd: Path | None = None, stdin: bytes | str | None = None, text: bool = True,
              env: dict | None = None, process: bool = False, timeout: int = 300) -> subprocess.CompletedProcess:
    """`warta ARGS` -> CompletedProcess (returncode, stdout, stderr; bytes with text=False).

    In this process by default; as `python -m warta` in a subprocess with `process=True`, or when `env`
    is given (environment variables such as HF_HUB_OFFLINE are read at import time)."""
    argv = [str(arg) for arg in args]
    if process or env is not None:
        return run_subprocess(*argv, cwd=cwd, env=env, stdin=stdin, text=text, timeout=timeout)
    return run_in_process(*argv, cwd=cwd, stdin=stdin, text=text)
