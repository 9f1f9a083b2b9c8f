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
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from warta.errors import WartaError
from warta.jsonl import write_json
from warta.labelling.items import UnitLedger
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

CHECKPOINT_VERSION = 2


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
    # A checkpoint beside a finished output and no partial file: killed between the rename and its removal.
    unfinished = os.path.lexists(partial) or (os.path.lexists(ckpt) and not out.exists())
    if out.exists() and not force and not (resume and unfinished):
        if resume:
            raise WartaError(f"{out}: already complete, nothing to resume (use --force to label again)")
        raise WartaError(f"{out}: already exists (use --force to overwrite, or --resume to continue an unfinished run)")
    if unfinished and not resume and not force:
        raise WartaError(
            f"{partial}: an unfinished run of this output exists (use --resume to continue it, or --force to start over)"
        )


class PartialOutput:
    """FILE.partial and its checkpoint: append, commit, resume, finish.

    The checkpoint records, besides the progress, a hash of the committed
    bytes of FILE.partial, the hash of the input units done (`ledger`, a
    UnitLedger the input walk feeds), the run fingerprint (model content,
    options) and a checksum over all of it. `--resume` refuses, in one line,
    a checkpoint that is edited, damaged or inconsistent, a partial file that
    is not what was committed, and a run with another model or options; the
    walk refuses inputs whose labelled part changed.
    """

    def __init__(self, out: Path, fingerprint: dict[str, Any], header: bytes, resume: bool,
                 count_lines: bool = True):
        self.out = out
        self.partial, self.ckpt = partial_paths(out)
        self.fingerprint = fingerprint
        self.count_lines = count_lines  # one line per record (JSON Lines): the count is checked on resume
        self.fd = -1
        self._hash = hashlib.sha256()
        self._written = 0
        self._digests: dict[int, str] = {}
        # FILE.partial is never opened through a link: a fresh run replaces whatever is
        # there with a new, exclusively created file; a resumed run needs a plain file.
        fresh = not (resume and os.path.lexists(self.ckpt))
        if fresh:
            self._check_not_busy()
        elif not os.path.lexists(self.partial):
            raise WartaError(f"{self.partial}: missing, though its checkpoint {self.ckpt.name} is there; "
                             "use --force to start over")
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
        saved = self._resume_state(len(header)) if resume else None
        if saved is None:
            os.ftruncate(self.fd, 0)
            os.lseek(self.fd, 0, os.SEEK_SET)
            self.ledger = UnitLedger()
            self.append(header)
            self.state = Progress(bytes=len(header))
            self.commit(self.state)
            _fsync_dir(self.partial.parent)
        else:
            self.state, inputs_digest = saved
            self.ledger = UnitLedger(skip=self.state.units, expected=inputs_digest)
            os.ftruncate(self.fd, self.state.bytes)  # the torn tail after the checkpoint, if any
            os.lseek(self.fd, self.state.bytes, os.SEEK_SET)

    def _resume_state(self, header_bytes: int) -> tuple[Progress, str] | None:
        """(committed state, hash of the input units done) of an interrupted run, or None to start from scratch."""
        if not os.path.lexists(self.ckpt):
            return None
        try:
            saved = json.loads(read_small_file(self.ckpt, 1 << 20))  # no link followed, no FIFO waited on
            if saved.get("version") != CHECKPOINT_VERSION:
                raise WartaError(f"{self.ckpt}: checkpoint from another warta version; use --force to start over")
            if saved.get("checksum") != _checksum(saved):
                raise WartaError(f"{self.ckpt}: checkpoint was edited or damaged (its checksum does not match); "
                                 "use --force to start over")
            progress = Progress(**saved["progress"])
            fingerprint, inputs_digest, output_digest = saved["run"], saved["inputs"], saved["output"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            reason = describe_os_error(exc) if isinstance(exc, OSError) else " ".join(str(exc).split())[:200]
            raise WartaError(f"{self.ckpt}: unreadable checkpoint ({reason}); use --force to start over") from None
        _check_progress(self.ckpt, progress, header_bytes)
        self._check_fingerprint(fingerprint)
        self._check_output(progress, output_digest)
        return progress, inputs_digest

    def _check_fingerprint(self, fingerprint: dict[str, Any]) -> None:
        if self.fingerprint.get("model_digest") is None:
            raise WartaError(f"{self.ckpt}: a model given already loaded cannot be verified for --resume; "
                             "pass its run folder, or use --force to start over")
        for key in sorted(set(fingerprint) | set(self.fingerprint)):
            if fingerprint.get(key) != self.fingerprint.get(key):
                if key in _CHANGED:
                    raise WartaError(f"{self.ckpt}: {_CHANGED[key]} since the interrupted run; resume with the "
                                     "same one, or use --force to start over")
                if key == "inputs":
                    then, now = fingerprint.get(key) or [], self.fingerprint.get(key) or []
                    raise WartaError(f"{self.ckpt}: the interrupted run had other inputs ({len(then)} INPUT "
                                     f"argument(s), now {len(now)}); resume with the same arguments, or use --force "
                                     "to start over")
                raise WartaError(
                    f"{self.ckpt}: the interrupted run had {key} = {fingerprint.get(key)!r}, this one "
                    f"{self.fingerprint.get(key)!r}; resume with the same arguments, or use --force to start over"
                )

    def _check_output(self, progress: Progress, digest: str) -> None:
        """FILE.partial up to the checkpoint is exactly what was committed (hash, and record count)."""
        size = os.fstat(self.fd).st_size
        if size < progress.bytes:
            raise WartaError(
                f"{self.partial}: shorter ({size} bytes) than its checkpoint ({progress.bytes}); use --force to start over"
            )
        os.lseek(self.fd, 0, os.SEEK_SET)
        left, lines = progress.bytes, 0
        while left:
            chunk = os.read(self.fd, min(left, 1 << 20))
            if not chunk:
                break
            self._hash.update(chunk)
            lines += chunk.count(b"\n")
            left -= len(chunk)
        if self._hash.hexdigest() != digest:
            raise WartaError(f"{self.partial}: not what its checkpoint recorded (edited or damaged); "
                             "use --force to start over")
        if self.count_lines and lines != progress.sentences:
            raise WartaError(f"{self.partial}: holds {lines} record(s), its checkpoint says {progress.sentences}; "
                             "use --force to start over")
        self._written = progress.bytes
        self._digests = {progress.bytes: digest}

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def append(self, data: bytes) -> None:
        self._write(data)
        self._hash.update(data)
        self._written += len(data)
        self._digests[self._written] = self._hash.hexdigest()

    def commit(self, progress: Progress) -> None:
        """Make everything appended so far durable, then record it (atomically) as the resume point."""
        os.fsync(self.fd)
        payload = {"version": CHECKPOINT_VERSION, "run": self.fingerprint, "progress": asdict(progress),
                   "inputs": self.ledger.digest_after(progress.units), "output": self._digests[progress.bytes]}
        payload["checksum"] = _checksum(payload)
        write_json(self.ckpt, payload, indent=None, fsync=True)
        self._digests = {at: digest for at, digest in self._digests.items() if at >= progress.bytes}

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


# What a fingerprint key that differs means, in the one line a refused resume prints.
_CHANGED = {
    "model_digest": "the model's files changed (retrained, or another model under the same name)",
    "manifest_digest": "the manifest's content changed",
}


def _checksum(payload: dict[str, Any]) -> str:
    """A hash of the checkpoint's content (all but the checksum itself): a hand edit shows."""
    body = {key: value for key, value in payload.items() if key != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _check_progress(ckpt: Path, progress: Progress, header_bytes: int) -> None:
    """Counts that no run can have written (negative, not whole numbers, more articles than units, ...)."""
    values = asdict(progress)
    bad = [f"{key} {value!r}" for key, value in values.items()
           if isinstance(value, bool) or not isinstance(value, int) or value < 0]
    if not bad:
        if progress.bytes < header_bytes:
            bad.append(f"bytes {progress.bytes} (the header alone is {header_bytes})")
        if progress.articles + progress.skipped > progress.units:
            bad.append(f"articles {progress.articles} + skipped {progress.skipped} > units {progress.units}")
        if progress.predicted > progress.sentences or progress.articles > progress.sentences:
            bad.append(f"sentences {progress.sentences} (articles {progress.articles}, predicted {progress.predicted})")
    if bad:
        raise WartaError(f"{ckpt}: inconsistent checkpoint ({bad[0]}); use --force to start over")
