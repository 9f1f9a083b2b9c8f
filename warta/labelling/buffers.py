"""Buffers of whole articles for `warta label`: label each (in a background thread for a transformer),
encode it, append it to the partial file in input order and checkpoint (see warta.labelling.engine)."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import asdict
from typing import Any

from warta.labelling.checkpoint import PartialOutput, Progress
from warta.labelling.output import label_present
from warta.labelling.workers import Encoded, Prepared, Sentences

# Problems are printed as they happen; the summary keeps only the first ones.
MAX_KEPT_PROBLEMS = 1000


class BufferedWriter:
    """Collects prepared units into buffers (whole articles), labels and writes each, checkpoints.

    A labeller that works on whole buffers (transformer) runs in a background
    thread, one buffer ahead: while the model (GPU or torch's CPU threads,
    both outside the GIL) labels buffer k+1, this thread encodes and writes
    buffer k and collects the next one. Buffers are written in order.
    """

    def __init__(self, labeller, encoder, partial: PartialOutput, summary, bar, buffer_sentences: int,
                 buffer_units: int, checkpoint_seconds: float, hooks):
        self.labeller, self.encoder, self.partial, self.summary, self.bar = labeller, encoder, partial, summary, bar
        self.buffer_sentences, self.buffer_units = buffer_sentences, buffer_units
        self.checkpoint_seconds = checkpoint_seconds
        self.on_problem, self.on_note, self.on_commit = hooks.on_problem, hooks.on_note, hooks.on_commit
        self.state = Progress(**asdict(partial.state))
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
        self.state = Progress(
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
            if self.on_commit:
                self.on_commit(self.state.units)


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
    rows, winners = label_present(texts, labeller.label)
    return prefixes, rows, winners


def progress_bar(enabled: bool, start: Progress):
    from tqdm import tqdm

    return tqdm(
        disable=not enabled, desc="labelling", unit=" sent", unit_scale=True, file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
        postfix={"articles": start.articles, "skipped": start.skipped},
    )
