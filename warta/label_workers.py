"""Preparation for `warta label`: articles to encoded sentences, in worker processes beside the model.

A unit of input is prepared into (position, sentences, problem, notes):
sentences = (prefixes, texts) where prefixes are the encoded sentence fields of
each output line (see warta.label_output) and texts[i] is the text to label,
or None for a heading (no prediction). An article with no sentence besides
headings becomes a problem, like in `warta corpus build`.

`WorkerPool` runs preparation in separate processes: batches go round-robin
to the workers and come back in the same order, so output order is input
order, and at most `2 x workers` batches are in flight (flat memory). This
module imports no model code: workers stay small and start fast.
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
from typing import Union

from warta.corpus import article_sentences
from warta.errors import WartaError
from warta.inputs import Item, Problem
from warta.label_output import prefix_function

# (prefixes, texts-or-None) of one article
Sentences = tuple[list[str], list[Union[str, None]]]
Prepared = tuple[int, Union[Sentences, None], Union[Problem, None], list[str]]

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
    records = article_sentences(item)
    if not any(record["role"] != "heading" for record in records):
        where = item.source or item.article_id
        file = re.sub(r":\d+$", "", where)  # a JSONL record's source is file:line
        return position, None, Problem(f"{where}: no sentences found after cleaning", file), item.notes
    prefix = prefix_function(format)
    prefixes = [prefix(record) for record in records]
    texts = [None if record["role"] == "heading" else record["text"] for record in records]
    return position, (prefixes, texts), None, item.notes


def prepare_batch(batch: list[tuple[int, Item]], format: str) -> list[Prepared]:
    return [prepare_item(position, item, format) for position, item in batch]


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


def _worker_main(tasks, results, format: str) -> None:
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
        results.put(prepare_batch(batch, format))


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


class WorkerPool:
    """`workers` preparation processes (spawned: forking a process that holds torch threads is unsafe)."""

    def __init__(self, workers: int, format: str):
        context = multiprocessing.get_context("spawn")
        self.tasks = [context.Queue() for _ in range(workers)]
        self.results = [context.Queue() for _ in range(workers)]
        self.processes = [
            context.Process(target=_worker_main, args=(t, r, format), daemon=True, name=f"warta-prepare-{i}")
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


def prepared_units(items: Iterable[tuple[int, Item]], format: str, pool: WorkerPool | None) -> Iterator[Prepared]:
    """Prepared units in input order, in the worker pool when there is one."""
    if pool is None:
        return (prepare_item(position, item, format) for position, item in items)
    return pool.map(items)


def start_pool(workers: int, format: str) -> WorkerPool | None:
    return WorkerPool(workers, format) if workers > 0 else None
