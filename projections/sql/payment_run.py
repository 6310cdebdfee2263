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
from collections.abc import Callable, Iterator, Sequence
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
