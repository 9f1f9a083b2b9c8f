"""Batch-label new articles with a trained model: streaming, resumable, in input order.

Pipeline: the input walk (warta.labelling.inputs) yields units lazily; preparation
workers (separate processes, so cleaning and segmentation run beside the
model on another core) turn them into sentence records; the main process
collects whole articles into bounded buffers, labels each buffer (length-
sorted batches for the transformer), encodes it and appends it to FILE.partial.

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
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from warta.errors import InputError, WartaError
from warta.jsonl import write_json
from warta.labelling.inputs import STDIN, InputOptions, Problem, WalkStats, iter_items
from warta.labelling.output import encoder_for, format_for, jsonl_to_parquet
from warta.labelling.workers import (
    Encoded,
    Prepared,
    Sentences,
    Stage,
    prepared_units,
    start_pool,
)
from warta.safe_io import (
    OutputError,
    check_output_path,
    open_private_file,
    peek_lock_holder,
    read_small_file,
    temporary_file,
)
from warta.safe_io import describe as describe_os_error
from warta.safe_io import fsync_dir as _fsync_dir
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES

CHECKPOINT_VERSION = 1
# Problems are printed as they happen; the summary keeps only the first ones.
MAX_KEPT_PROBLEMS = 1000


@dataclass
class LabelSummary:
    """What a `label_articles` run did (counts include the part done before a resume)."""

    out: Path
    format: str
    model_id: str
    articles: int = 0
    sentences: int = 0
    predicted: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored_files: int = 0
    dropped_lines: int = 0
    resumed_units: int = 0
    units: int = 0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0: every input labelled; 1: some inputs skipped (a run that labels nothing raises instead)."""
        return 1 if self.skipped else 0

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Progress:
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
            self.state = _Progress(bytes=len(header))
            self.commit(self.state)
            _fsync_dir(self.partial.parent)
        else:
            os.ftruncate(self.fd, self.state.bytes)
            os.lseek(self.fd, self.state.bytes, os.SEEK_SET)

    def _resume_state(self) -> _Progress | None:
        """The committed state of an interrupted run, or None to start from scratch."""
        if not os.path.lexists(self.ckpt):
            return None
        try:
            saved = json.loads(read_small_file(self.ckpt, 1 << 20))  # no link followed, no FIFO waited on
            progress = _Progress(**saved["progress"])
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

    def commit(self, progress: _Progress) -> None:
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


# --- preparation ----------------------------------------------------------------


def default_workers(kind: str, device: str) -> int:
    """Preparation processes: all cores beside a CPU TF-IDF model, one beside a CPU transformer
    (torch uses the cores), most cores feeding a GPU."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if kind in ("transformer", "hybrid"):  # an encoder uses the cores
        return max(1, min(cores - 1, 8)) if device == "cuda" else 1
    return max(1, min(cores, 8))


# --- the run -------------------------------------------------------------------


def _fingerprint(
    inputs: Sequence[str | Path], options: InputOptions, format: str, model_id: str, labeller, buffer_sentences: int,
    buffer_units: int,
) -> dict[str, Any]:
    cap = {} if options.max_article_bytes == DEFAULT_MAX_ARTICLE_BYTES else {"max_article_bytes": options.max_article_bytes}
    return {
        **cap,
        "model": model_id,
        "inputs": [STDIN if str(given) == STDIN else str(Path(given).resolve()) for given in inputs],
        "outlet": options.outlet,
        "manifest": str(options.manifest.resolve()) if options.manifest else None,
        "format": format,
        "buffer_sentences": buffer_sentences,
        "buffer_units": buffer_units,
        "batch_size": getattr(labeller, "batch_size", None),
    }


def label_articles(
    model: str | Path | Any,
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    format: str | None = None,
    outlet: str | None = None,
    manifest: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    batch_size: int | None = None,
    device: str = "auto",
    quantize: bool = False,
    workers: int | None = None,
    buffer_sentences: int | None = None,
    buffer_units: int = 4096,
    checkpoint_seconds: float = 1.0,
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    progress: bool = False,
    on_problem: Callable[[Problem], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    stdin: BinaryIO | None = None,
) -> LabelSummary:
    """Label every sentence of `inputs` with `model` (a run folder, a model folder or a loaded model) into `out`.

    Raises WartaError for unusable arguments or output state, and InputError
    when no article at all could be labelled (no output is left behind then).
    Problems with single inputs go to `on_problem` and are counted, never raised.
    """
    from warta.fast_inference import load_labeller

    out = Path(out)
    fmt = format_for(out, format)
    _check_numbers(workers=workers, batch_size=batch_size, max_article_bytes=max_article_bytes,
                   buffer_sentences=buffer_sentences, buffer_units=buffer_units)
    check_output(out, resume, force)
    if not inputs:
        raise WartaError("no INPUT given (files, folders or - for stdin)")
    own_files = frozenset(path.resolve() for path in (out, *partial_paths(out)))
    for given in inputs:
        if str(given) != STDIN and Path(given).resolve() in own_files:
            raise WartaError(f"{given}: is this run's own output (--out {out}); write the output elsewhere")
    options = InputOptions(
        outlet=outlet or None,
        manifest=Path(manifest) if manifest else None,
        exclude=own_files,
        max_article_bytes=max_article_bytes,
    )
    if options.manifest is not None and not options.manifest.is_file():
        raise InputError(f"{options.manifest}: manifest not found")

    with ExitStack() as stack:
        labeller = load_labeller(model, device=device, batch_size=batch_size, quantize=quantize)
        if isinstance(model, (str, Path)) and (Path(model) / "model" / "model.json").is_file():
            from warta.models.safety import check_labels_agree

            check_labels_agree(model, labeller.labels)  # a run folder whose labels.json was altered
        n_workers = default_workers(labeller.kind, labeller.device) if workers is None else workers
        # TF-IDF labels beside preparation (in each worker); a transformer labels buffers here.
        stage = Stage(fmt, labeller if labeller.in_preparation else None)
        pool = start_pool(n_workers, stage)
        if pool is not None:
            stack.callback(pool.close)
        buffer_sentences = buffer_sentences or labeller.buffer_sentences
        fingerprint = _fingerprint(inputs, options, fmt, labeller.model_id, labeller, buffer_sentences, buffer_units)
        encoder = encoder_for(fmt, labeller.labels, labeller.model_id)
        partial = PartialOutput(out, fingerprint, encoder.header, resume)
        stack.callback(partial.close)

        summary = LabelSummary(out=out, format=fmt, model_id=labeller.model_id, resumed_units=partial.resumed_units)
        start = time.perf_counter()
        stats = WalkStats()
        items = iter_items(inputs, options, skip=partial.state.units, stats=stats, stdin=stdin)
        bar = _progress_bar(progress, partial.state)
        stack.callback(bar.close)
        writer = _BufferedWriter(labeller, encoder, partial, summary, bar, buffer_sentences, buffer_units,
                                 checkpoint_seconds, on_problem, on_note)
        try:
            for prepared in prepared_units(items, stage, pool):
                writer.add(prepared)
            writer.finish()
            partial.commit(writer.state)
        except KeyboardInterrupt:
            # Record what was fully written, so --resume loses nothing already done.
            partial.commit(writer.state)
            raise
        except OSError as exc:  # a full disk, a quota, an I/O error while writing the output
            try:
                partial.commit(writer.state)
                kept = f"{writer.state.articles} finished article(s) are kept in {partial.partial}"
            except OSError:
                kept = f"articles up to the last checkpoint are kept in {partial.partial}"
            where = exc.filename or partial.partial
            raise OutputError(
                f"{where}: cannot write ({describe_os_error(exc)}); {kept}; fix the cause and rerun with --resume"
            ) from None

        state = writer.state
        summary.units = state.units
        summary.articles, summary.sentences, summary.predicted = state.articles, state.sentences, state.predicted
        summary.skipped = state.skipped
        summary.ignored_files = stats.ignored_files
        summary.dropped_lines = state.dropped
        if state.articles == 0:
            partial.abandon()
            ignored = f", {stats.ignored_files} file(s) in folders ignored: not .txt or .jsonl" if stats.ignored_files else ""
            excluded = (f", {stats.excluded_files} file(s) not read because they are this run's own output"
                        if stats.excluded_files else "")
            raise InputError(f"nothing could be labelled ({state.skipped} input(s) skipped{ignored}{excluded})")
        partial.finish(fmt, labeller.labels)
        summary.seconds = time.perf_counter() - start
        return summary


def _check_numbers(**values: int | None) -> None:
    """Numeric options the library refuses (the CLI checks them too): one line each, before any work."""
    minimum = {"workers": 0, "batch_size": 1, "max_article_bytes": 1, "buffer_sentences": 1, "buffer_units": 1}
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum[name]):
            raise WartaError(f"--{name.replace('_', '-')} {value}: must be a whole number >= {minimum[name]}")


class _BufferedWriter:
    """Collects prepared units into buffers (whole articles), labels and writes each, checkpoints.

    A labeller that works on whole buffers (transformer) runs in a background
    thread, one buffer ahead: while the model (GPU or torch's CPU threads,
    both outside the GIL) labels buffer k+1, this thread encodes and writes
    buffer k and collects the next one. Buffers are written in order.
    """

    def __init__(self, labeller, encoder, partial: PartialOutput, summary: LabelSummary, bar, buffer_sentences: int,
                 buffer_units: int, checkpoint_seconds: float, on_problem, on_note):
        self.labeller, self.encoder, self.partial, self.summary, self.bar = labeller, encoder, partial, summary, bar
        self.buffer_sentences, self.buffer_units = buffer_sentences, buffer_units
        self.checkpoint_seconds = checkpoint_seconds
        self.on_problem, self.on_note = on_problem, on_note
        self.state = _Progress(**asdict(partial.state))
        self.last_commit = time.monotonic()
        self.buffer: list[Prepared] = []
        self.buffered = 0
        self.pending: tuple[list[Prepared], _Background] | None = None
        self.background = not labeller.in_preparation

    def add(self, prepared: Prepared) -> None:
        _, payload, problem, notes = prepared
        for note in notes:
            if len(self.summary.notes) < MAX_KEPT_PROBLEMS:
                self.summary.notes.append(note)
            if self.on_note:
                self.on_note(note)
        if problem:
            if len(self.summary.problems) < MAX_KEPT_PROBLEMS:
                self.summary.problems.append(problem.message)
            if self.on_problem:
                self.on_problem(problem)
        self.buffer.append(prepared)
        self.buffered += _sentence_count(payload)
        # Boundaries depend on the input alone, so a resumed run cuts the same buffers.
        if self.buffered >= self.buffer_sentences or len(self.buffer) >= self.buffer_units:
            self.flush()

    def flush(self) -> None:
        """Hand the current buffer on (label it, or start labelling it) and write what is ready."""
        buffer, self.buffer, self.buffered = self.buffer, [], 0
        if not self.background:
            if buffer:
                self._write(buffer, _encoded_buffer(buffer))
            return
        if buffer:
            # One buffer in the model at a time: wait for the previous one, start this one,
            # then encode and write the previous one while the model works.
            previous, self.pending = self.pending, None
            ready = (previous[0], previous[1].result()) if previous else None
            self.pending = (buffer, _Background(_label_buffer, buffer, self.labeller))
            if ready:
                self._write(ready[0], self._encode(*ready[1]))

    def finish(self) -> None:
        """Flush the last buffer and write everything still being labelled."""
        self.flush()
        if self.pending is not None:
            buffer, task = self.pending
            self.pending = None
            self._write(buffer, self._encode(*task.result()))

    def _encode(self, prefixes: list[str], rows: list, winners: list) -> tuple[bytes, int, int]:
        return self.encoder.encode(prefixes, rows, winners), len(rows), sum(1 for row in rows if row is not None)

    def _write(self, buffer: list[Prepared], encoded: tuple[bytes, int, int]) -> None:
        data, n_sentences, n_predicted = encoded
        state = self.state
        self.partial.append(data)
        # One assignment after the bytes are written: an interruption sees the old or the new state.
        self.state = _Progress(
            units=state.units + len(buffer),
            bytes=state.bytes + len(data),
            articles=state.articles + sum(1 for _, payload, _, _ in buffer if payload is not None),
            sentences=state.sentences + n_sentences,
            predicted=state.predicted + n_predicted,
            skipped=state.skipped + sum(1 for _, _, problem, _ in buffer if problem),
            dropped=state.dropped + sum(getattr(payload, "dropped", 0) for _, payload, _, _ in buffer if payload),
        )
        self.bar.set_postfix(articles=self.state.articles, skipped=self.state.skipped, refresh=False)
        self.bar.update(n_sentences)
        if time.monotonic() - self.last_commit >= self.checkpoint_seconds:
            self.partial.commit(self.state)
            self.last_commit = time.monotonic()


class _Background:
    """A call running in a daemon thread (an interrupted run exits without waiting for the model)."""

    def __init__(self, function, *args):
        self._outcome: tuple[bool, Any] | None = None
        self._thread = threading.Thread(target=self._run, args=(function, args), name="warta-label-model", daemon=True)
        self._thread.start()

    def _run(self, function, args) -> None:
        try:
            self._outcome = (True, function(*args))
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._outcome = (False, exc)

    def result(self):
        self._thread.join()
        ok, value = self._outcome
        if not ok:
            raise value
        return value


def _sentence_count(payload: Sentences | Encoded | None) -> int:
    if payload is None:
        return 0
    return payload.sentences if isinstance(payload, Encoded) else len(payload.texts)


def _encoded_buffer(buffer: list[Prepared]) -> tuple[bytes, int, int]:
    """(output bytes, sentences, sentences with a prediction) of a buffer labelled during preparation."""
    payloads = [payload for _, payload, _, _ in buffer if payload is not None]
    return (
        b"".join(payload.data for payload in payloads),
        sum(payload.sentences for payload in payloads),
        sum(payload.predicted for payload in payloads),
    )


def _label_buffer(buffer: list[Prepared], labeller) -> tuple[list[str], list, list]:
    """(prefixes, probability rows, winners) of every sentence of a buffer; None rows for headings."""
    payloads = [payload for _, payload, _, _ in buffer if payload is not None]
    prefixes = [prefix for payload in payloads for prefix in payload.prefixes]
    texts = [text for payload in payloads for text in payload.texts]
    predict_at = [i for i, text in enumerate(texts) if text is not None]
    rows: list = [None] * len(texts)
    winners: list = [None] * len(texts)
    if predict_at:
        probabilities, best = labeller.label([texts[i] for i in predict_at])
        for j, i in enumerate(predict_at):
            rows[i] = probabilities[j]
            winners[i] = best[j]
    return prefixes, rows, winners


def _progress_bar(enabled: bool, start: _Progress):
    from tqdm import tqdm

    return tqdm(
        disable=not enabled, desc="labelling", unit=" sent", unit_scale=True, file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
        postfix={"articles": start.articles, "skipped": start.skipped},
    )
