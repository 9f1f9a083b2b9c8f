"""FILE.partial and FILE.partial.ckpt of `warta label`: refuse to clobber, append, commit, resume, finish.

Crash safety and resume. A buffer closes as soon as it holds
`buffer_sentences` sentences (or `buffer_units` input units), always at an
article boundary, so buffer boundaries are a function of the input alone:
starting from any boundary gives the same later boundaries, hence the same
batches and the same bytes. After a buffer's bytes are written (and at most
every `checkpoint_seconds`), the data is fsync'ed and FILE.partial.ckpt is
replaced atomically with {units done, byte offset, counts, run fingerprint}.
A run killed at any moment leaves FILE.partial whose bytes up to the
checkpoint offset are complete records (at worst one torn line after it);
`--resume` checks the fingerprint (model, inputs, format, options), truncates
FILE.partial to the offset, skips the units already done and appends; the
finished file is renamed to FILE. The result is byte-identical to an
uninterrupted run: no duplicates, no gaps. Parquet runs grow a JSON Lines
partial file and convert it at the end (see warta.labelling.output).
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from warta.errors import WartaError
from warta.jsonl import write_json
from warta.labelling.output import jsonl_to_parquet
from warta.safe_io import (
    check_output_path,
    open_private_file,
    peek_lock_holder,
    read_small_file,
    temporary_file,
)
from warta.safe_io import describe as describe_os_error
from warta.safe_io import fsync_dir as _fsync_dir

CHECKPOINT_VERSION = 1


@dataclass
class Progress:
    """The committed state written to the checkpoint file."""

    units: int = 0
    bytes: int = 0
    articles: int = 0
    sentences: int = 0
    predicted: int = 0
    skipped: int = 0
    dropped: int = 0  # lines removed by cleaning (furniture, duplicates), reported in the summary


def partial_paths(out: Path) -> tuple[Path, Path]:
    """(FILE.partial, FILE.partial.ckpt) of an output file."""
    return out.with_name(out.name + ".partial"), out.with_name(out.name + ".partial.ckpt")


def check_output(out: Path, resume: bool, force: bool) -> None:
    """Refuse to clobber finished or unfinished output before any work (and before loading a model)."""
    check_output_path(out)  # empty, a folder, under a file, on a read-only file system: one line, before any work
    partial, ckpt = partial_paths(out)
    unfinished = os.path.lexists(partial) or os.path.lexists(ckpt)
    if out.exists() and not force and not (resume and unfinished):
        if resume:
            raise WartaError(f"{out}: already complete, nothing to resume (use --force to label again)")
        raise WartaError(f"{out}: already exists (use --force to overwrite, or --resume to continue an unfinished run)")
    if unfinished and not resume and not force:
        raise WartaError(
            f"{partial}: an unfinished run of this output exists (use --resume to continue it, or --force to start over)"
        )


class PartialOutput:
    """FILE.partial and its checkpoint: append, commit, resume, finish."""

    def __init__(self, out: Path, fingerprint: dict[str, Any], header: bytes, resume: bool):
        self.out = out
        self.partial, self.ckpt = partial_paths(out)
        self.fingerprint = fingerprint
        self.fd = -1
        # FILE.partial is never opened through a link: a fresh run replaces whatever is
        # there with a new, exclusively created file; a resumed run needs a plain file.
        fresh = not (resume and os.path.lexists(self.ckpt))
        if fresh:
            self._check_not_busy()
        self.fd = open_private_file(self.partial, fresh=fresh)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = -1
            raise WartaError(f"{self.partial}: another warta label run is writing this output") from None
        try:
            self._open(header, resume)
        except BaseException:
            self.close()
            raise
        self.resumed_units = self.state.units

    def _check_not_busy(self) -> None:
        """Refuse to replace a partial file that a live run holds locked."""
        fd = peek_lock_holder(self.partial)
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WartaError(f"{self.partial}: another warta label run is writing this output") from None
        finally:
            os.close(fd)

    def _open(self, header: bytes, resume: bool) -> None:
        self.state = self._resume_state() if resume else None
        if self.state is None:
            os.ftruncate(self.fd, 0)
            os.lseek(self.fd, 0, os.SEEK_SET)
            self._write(header)
            self.state = Progress(bytes=len(header))
            self.commit(self.state)
            _fsync_dir(self.partial.parent)
        else:
            os.ftruncate(self.fd, self.state.bytes)
            os.lseek(self.fd, self.state.bytes, os.SEEK_SET)

    def _resume_state(self) -> Progress | None:
        """The committed state of an interrupted run, or None to start from scratch."""
        if not os.path.lexists(self.ckpt):
            return None
        try:
            saved = json.loads(read_small_file(self.ckpt, 1 << 20))  # no link followed, no FIFO waited on
            progress = Progress(**saved["progress"])
            fingerprint = saved["run"]
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            reason = describe_os_error(exc) if isinstance(exc, OSError) else " ".join(str(exc).split())[:200]
            raise WartaError(f"{self.ckpt}: unreadable checkpoint ({reason}); use --force to start over") from None
        if saved.get("version") != CHECKPOINT_VERSION:
            raise WartaError(f"{self.ckpt}: checkpoint from another warta version; use --force to start over")
        for key in sorted(set(fingerprint) | set(self.fingerprint)):
            if fingerprint.get(key) != self.fingerprint.get(key):
                raise WartaError(
                    f"{self.ckpt}: the interrupted run had {key} = {fingerprint.get(key)!r}, this one "
                    f"{self.fingerprint.get(key)!r}; resume with the same arguments, or use --force to start over"
                )
        size = os.fstat(self.fd).st_size
        if size < progress.bytes:
            raise WartaError(
                f"{self.partial}: shorter ({size} bytes) than its checkpoint ({progress.bytes}); use --force to start over"
            )
        return progress

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def append(self, data: bytes) -> None:
        self._write(data)

    def commit(self, progress: Progress) -> None:
        """Make everything appended so far durable, then record it (atomically) as the resume point."""
        os.fsync(self.fd)
        payload = {"version": CHECKPOINT_VERSION, "run": self.fingerprint, "progress": asdict(progress)}
        write_json(self.ckpt, payload, indent=None, fsync=True)

    def finish(self, format: str, labels: dict[str, list[str]]) -> None:
        """Put the finished output in place under its name; remove the partial file and checkpoint."""
        os.fsync(self.fd)
        if format == "parquet":
            fd, tmp = temporary_file(self.out)
            try:
                with open(fd, "wb") as handle:
                    jsonl_to_parquet(self.partial, handle, labels)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(tmp, 0o644)
                os.replace(tmp, self.out)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            self.partial.unlink()
        else:
            os.replace(self.partial, self.out)
        _fsync_dir(self.out.parent)
        self.ckpt.unlink(missing_ok=True)
        self.close()

    def abandon(self) -> None:
        """Nothing was labelled: leave no output behind."""
        self.partial.unlink(missing_ok=True)
        self.ckpt.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
