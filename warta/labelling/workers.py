"""Preparation for `warta label`: articles to encoded sentences, in worker processes.

A unit of input is prepared into (position, payload, problem, notes). The
payload is either
- `Sentences(prefixes, texts)`: the encoded sentence fields of each output
  line (see warta.labelling.output) and the text to label (None for a heading,
  which gets no prediction); the main process labels these in buffers
  (transformer models: batching across articles matters there), or
- `Encoded(data, sentences, predicted)`: finished output lines, when the
  stage's labeller runs beside preparation (TF-IDF: its predictions are row by
  row, so labelling each transport batch gives the same bytes as labelling
  any other grouping, and both cores then run the whole pipeline).
An article with no sentence besides headings becomes a problem, like in
`warta corpus build`.

`WorkerPool` runs preparation in separate processes: batches go round-robin
to the workers and come back in the same order, so output order is input
order, and at most `2 x workers` batches are in flight (flat memory). The
workers import no torch (a TF-IDF labeller brings scikit-learn only).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import signal
import sys
import threading
import types
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple, Union

from warta.errors import WartaError
from warta.labelling.items import Item, Problem
from warta.labelling.output import encoder_for, prefix_function
from warta.text.corpus import article_sentences


class Sentences(NamedTuple):
    """One article's sentences, encoded up to the model's fields; texts[i] None: no prediction (heading)."""

    prefixes: list[str]
    texts: list[Union[str, None]]
    dropped: int = 0  # lines cleaning removed from the article


class Encoded(NamedTuple):
    """One article's finished output lines."""

    data: bytes
    sentences: int
    predicted: int
    dropped: int = 0


Prepared = tuple[int, Union[Sentences, Encoded, None], Union[Problem, None], list[str]]


class Stage:
    """What preparation does: encode for `format`, and label with `labeller` when given.

    A stage is sent to each worker process by pickling; a labeller's model was
    loaded from safe formats by the main process, and pickle only carries it
    between this run's own processes.
    """

    def __init__(self, format: str, labeller=None):
        self.format = format
        self.labeller = labeller

    def __getstate__(self):
        return {"format": self.format, "labeller": self.labeller}

    def __setstate__(self, state) -> None:
        self.__init__(state["format"], state["labeller"])

    @property
    def encoder(self):
        if not hasattr(self, "_encoder"):
            self._encoder = encoder_for(self.format, self.labeller.labels, self.labeller.model_id)
        return self._encoder

# Units per message to a worker, and characters of text per message: enough to
# amortise inter-process overhead, few enough to keep memory flat.
TRANSPORT_UNITS = 64
TRANSPORT_CHARS = 1 << 18
# How long to wait on a worker before checking that it is still alive.
_POLL_SECONDS = 1.0


def prepare_item(position: int, item: Item, format: str) -> Prepared:
    """Clean, de-duplicate, segment and encode one unit."""
    if isinstance(item, Problem):
        return position, None, item, []
    where = item.source or item.article_id
    file = re.sub(r":\d+$", "", where)  # a JSONL record's source is file:line
    dropped: list = []
    try:
        records = article_sentences(item, dropped)
    except Exception as exc:  # one article the text pipeline cannot handle must not end the run
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        return position, None, Problem(f"{where}: could not be cleaned and segmented ({reason})", file), item.notes
    if not any(record["role"] != "heading" for record in records):
        return position, None, Problem(f"{where}: no sentences found after cleaning", file), item.notes
    prefix = prefix_function(format)
    prefixes = [prefix(record) for record in records]
    texts = [None if record["role"] == "heading" else record["text"] for record in records]
    return position, Sentences(prefixes, texts, len(dropped)), None, item.notes


def prepare_batch(batch: list[tuple[int, Item]], stage: Stage) -> list[Prepared]:
    """Prepare a batch of units; with a labeller, label all its sentences in one call and encode them."""
    prepared = [prepare_item(position, item, stage.format) for position, item in batch]
    if stage.labeller is None:
        return prepared
    texts = [text for _, sentences, _, _ in prepared if sentences for text in sentences.texts if text is not None]
    rows, winners = stage.labeller.label(texts) if texts else ([], [])
    out: list[Prepared] = []
    k = 0
    for position, sentences, problem, notes in prepared:
        if sentences is None:
            out.append((position, None, problem, notes))
            continue
        unit_rows, unit_winners = [], []
        for text in sentences.texts:
            if text is None:
                unit_rows.append(None)
                unit_winners.append(None)
            else:
                unit_rows.append(rows[k])
                unit_winners.append(winners[k])
                k += 1
        data = stage.encoder.encode(sentences.prefixes, unit_rows, unit_winners)
        predicted = sum(1 for text in sentences.texts if text is not None)
        out.append((position, Encoded(data, len(sentences.texts), predicted, sentences.dropped), None, notes))
    return out


def _exit_with_parent() -> None:
    """End this worker as soon as its parent is gone (killed with -9 included).

    A worker holds both ends of its task pipe, so a dead parent never shows up
    as end-of-file, and a parent killed in the middle of sending a batch
    leaves the worker blocked on a half-written message: a watcher thread
    waits on the parent's sentinel and exits the process.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="warta-parent-watch", daemon=True).start()


def _worker_main(tasks, results, stage: Stage) -> None:
    """Worker process: prepare batches until told to stop (None)."""
    # Ctrl-C is the main process's to handle; the workers stop when it does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    # Results not yet flushed when the pool is closed belong to an ended run.
    results.cancel_join_thread()
    while True:
        try:
            batch = tasks.get()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        results.put(prepare_batch(batch, stage))


def transport_batches(items: Iterable[tuple[int, Item]]) -> Iterator[list[tuple[int, Item]]]:
    batch: list = []
    chars = 0
    for position, item in items:
        batch.append((position, item))
        chars += len(getattr(item, "text", ""))
        if len(batch) >= TRANSPORT_UNITS or chars >= TRANSPORT_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


@contextmanager
def _caller_main_hidden():
    """Hide the caller's __main__ while workers start.

    A spawned process re-imports the parent's main script before running
    anything; for a script without a __main__ guard (or code read from stdin,
    or a notebook) that would re-run the caller's program in every worker.
    The workers need only this module, so they start against an empty main.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def start_method(stage: Stage) -> str:
    """How to start workers: fork where it is safe, else spawn.

    A TF-IDF labeller needs scikit-learn in every worker: spawning re-imports
    it and unpickles the model (~1.5 s of CPU per worker), forking shares the
    loaded model for free. Forking is only safe while this process runs a
    single thread (no lock can be held mid-operation); a transformer run has
    used torch's thread pools by now, and its workers need no model anyway.
    """
    if stage.labeller is not None and sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


class WorkerPool:
    """`workers` preparation processes, started by `start_method`."""

    def __init__(self, workers: int, stage: Stage):
        context = multiprocessing.get_context(start_method(stage))
        self.tasks = [context.Queue() for _ in range(workers)]
        self.results = [context.Queue() for _ in range(workers)]
        self.processes = [
            context.Process(target=_worker_main, args=(t, r, stage), daemon=True, name=f"warta-prepare-{i}")
            for i, (t, r) in enumerate(zip(self.tasks, self.results))
        ]
        with _caller_main_hidden():
            for process in self.processes:
                process.start()

    def _result(self, worker: int) -> list[Prepared]:
        while True:
            try:
                return self.results[worker].get(timeout=_POLL_SECONDS)
            except queue.Empty:
                process = self.processes[worker]
                if not process.is_alive():
                    raise WartaError(
                        f"preparation worker {worker} died (exit code {process.exitcode}); "
                        "rerun with --resume to continue, or --workers 0 to prepare in-process"
                    ) from None

    def map(self, items: Iterable[tuple[int, Item]]) -> Iterator[Prepared]:
        """Prepared units in input order."""
        n = len(self.processes)
        pending: deque[int] = deque()
        for i, batch in enumerate(transport_batches(items)):
            worker = i % n
            self.tasks[worker].put(batch)
            pending.append(worker)
            if len(pending) >= 2 * n:
                yield from self._result(pending.popleft())
        while pending:
            yield from self._result(pending.popleft())

    def close(self) -> None:
        """Stop the workers (they finish nothing more: pending work belongs to an ended run)."""
        for process, tasks in zip(self.processes, self.tasks):
            if process.is_alive():
                try:
                    tasks.put(None)
                except (OSError, ValueError):
                    pass
        for process in self.processes:
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()
                process.join(timeout=2)
        for q in (*self.tasks, *self.results):
            q.cancel_join_thread()
            q.close()


def prepared_units(items: Iterable[tuple[int, Item]], stage: Stage, pool: WorkerPool | None) -> Iterator[Prepared]:
    """Prepared units in input order, in the worker pool when there is one (same batches either way)."""
    if pool is not None:
        yield from pool.map(items)
        return
    for batch in transport_batches(items):
        yield from prepare_batch(batch, stage)


def start_pool(workers: int, stage: Stage) -> WorkerPool | None:
    return WorkerPool(workers, stage) if workers > 0 else None
