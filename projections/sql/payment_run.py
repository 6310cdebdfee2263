"""The payment run: every listed employer's incentive decision for a year, in one place for
the ``incentives`` command, the API's ``/incentives`` and the web page.

No read model holds incentive decisions (one depends on what was known when, and on the day
the question is asked), so each employer's stream is folded. Streams are read in slices;
past :data:`PARALLEL_FROM` employers, and when the caller allows it, the slices are decided in
worker processes (one per CPU, as the rebuild folds), each reading its own streams and the
reference data once. The decisions come back in the employers' order, and ``on_progress``
hears how many employers are decided so far.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.rulebooks import RULES
from projections.incentive import incentive
from projections.sql.read_models import cached
from storage.store import LedgerStore, chunks
from storage.workers import ordered_results, worker_pool, worker_store

PARALLEL_FROM = 2_000  # employers: below this, starting workers costs more than it saves
SLICE = 250  # employers decided per task

OnProgress = Callable[[int, int], None]
"""Told (employers decided, employers listed) as the run goes."""


def payment_run(store: LedgerStore, employers: Sequence[str], year: int, *,
                known_at: datetime | None, asked_on: date, tree_size: int | None = None,
                workers: int | None = 1, on_progress: OnProgress | None = None
                ) -> list[dict[str, Any]]:
    """The ``incentive --json`` decision of each of ``employers`` for ``year`` (as
    :func:`projections.incentive.incentive`), in their order. ``workers`` above 1 lets a
    long run use that many processes (None: one per CPU)."""
    total = len(employers)
    if on_progress is not None:
        on_progress(0, total)
    docs: list[dict[str, Any]] = []
    for part in _decided_slices(store, employers, year, known_at, asked_on, tree_size,
                                workers or os.cpu_count() or 1):
        docs.extend(part)
        if on_progress is not None:
            on_progress(len(docs), total)
    return docs


def _decided_slices(store: LedgerStore, employers: Sequence[str], year: int,
                    known_at: datetime | None, asked_on: date, tree_size: int | None,
                    workers: int) -> Iterator[list[dict[str, Any]]]:
    parts = list(chunks(employers, SLICE))
    if workers <= 1 or len(employers) < PARALLEL_FROM:
        for part in parts:
            yield _decide(store, part, year, known_at, asked_on, tree_size)
        return
    url = store.url.render_as_string(hide_password=False)
    with worker_pool(workers) as pool:
        yield from ordered_results(
            pool, _decide_in_worker,
            ((url, part, year, known_at, asked_on, tree_size) for part in parts),
            in_flight=2 * workers)


def _decide(store: LedgerStore, employers: Sequence[str], year: int,
            known_at: datetime | None, asked_on: date, tree_size: int | None
            ) -> list[dict[str, Any]]:
    """The decisions of a slice of employers, read from ``store`` (the rulebooks each
    asks for built once, as the rebuild's are)."""
    reference, registry = store.reference(tree_size), cached(RULES)
    return [incentive(store.stream(e, tree_size), reference, year=year, employer=e,
                      known_at=known_at, asked_on=asked_on, registry=registry)
            for e in employers]


def _decide_in_worker(url: str, employers: Sequence[str], year: int,
                      known_at: datetime | None, asked_on: date, tree_size: int | None
                      ) -> list[dict[str, Any]]:
    """A worker's task: :func:`_decide` with the worker's own store (opened once)."""
    return _decide(worker_store(url), employers, year, known_at, asked_on, tree_size)


@dataclass
class _Run:
    """One kept run: its decisions by employer, and the log as they were read from it."""

    position: int  # the log position read before the folds (their events may be later)
    reference: int  # how many reference events (base rates) there were then
    docs: dict[str, dict[str, Any]]


class DecisionCache:
    """Payment runs kept between calls by log position, for a long-running process (the
    service): a run asked again re-decides only the employers whose streams took events
    since the kept one, and every employer when the reference data changed.

    A run is kept per (year, known at, asked on); at most :data:`KEPT_RUNS` of them, the
    least recently asked dropped first. The position is read before the folds, so an event
    appended meanwhile is seen again by the next call, never missed: an answer is at least
    as new as the ledger when the call began.
    """

    def __init__(self, kept: int | None = None) -> None:
        self._kept = kept or KEPT_RUNS
        self._runs: OrderedDict[tuple[int, datetime | None, date], _Run] = OrderedDict()
        self._lock = threading.Lock()
        self.last_decided: list[str] = []  # the employers the last call folded

    def run(self, store: LedgerStore, employers: Sequence[str], year: int, *,
            known_at: datetime | None, asked_on: date) -> list[dict[str, Any]]:
        """:func:`payment_run` (in this process), from the kept run where it still holds."""
        key = (year, known_at, asked_on)
        position, reference = store.position(), len(store.reference())
        with self._lock:
            kept = self._runs.get(key)
        if kept is None or kept.reference != reference:
            docs: dict[str, dict[str, Any]] = {}
            touched: set[str] = set()
        else:
            docs = dict(kept.docs)
            touched = _touched_between(store, kept.position, position)
        stale = [e for e in employers if e not in docs or e in touched]
        docs.update(zip(stale, payment_run(store, stale, year, known_at=known_at,
                                           asked_on=asked_on), strict=True))
        with self._lock:
            self._runs[key] = _Run(position, reference, docs)
            self._runs.move_to_end(key)
            while len(self._runs) > self._kept:
                self._runs.popitem(last=False)
            self.last_decided = stale
        return [docs[e] for e in employers]


KEPT_RUNS = 8
TOUCHED_PAGE = 50_000  # events read at a time for the employers touched since a kept run


def _touched_between(store: LedgerStore, after: int, until: int) -> set[str]:
    """The employers whose streams took an event after log position ``after``, up to
    ``until``, read from the log without decoding events."""
    touched: set[str] = set()
    while after < until:
        page = store.touched_after(after, min(TOUCHED_PAGE, until - after))
        if not page.events:
            break
        touched |= page.employers
        after = page.last
    return touched
