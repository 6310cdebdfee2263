"""Worker processes for CPU-bound Python (parsing an import, folding a rebuild).

Two traps of ``spawn``-started pools, handled once here:

- a spawned process imports the parent's ``__main__`` again; under ``python -m commands.cli``
  that re-imports the CLI and its command modules (slow, and circular). The pool is started
  with ``__main__`` hidden, since workers only need the module of their task function;
- a worker never learns that its parent was killed (the pool's pipes stay open at both
  ends), so each worker watches its parent and exits when it is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from storage.store import LedgerStore

T = TypeVar("T")


def _watch_parent(parent: int) -> None:
    """In a worker: exit as soon as the parent process is gone."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


@contextmanager
def _plain_main() -> Iterator[None]:
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` spawned processes that die with this one."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_watch_parent, initargs=(os.getpid(),))
    try:
        with _plain_main():  # workers start at the first submits
            for _ in range(workers):
                pool.submit(_nothing)
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _nothing() -> None:
    return None


def ordered_results(pool: ProcessPoolExecutor, task: Callable[..., T],
                    argument_lists: Iterable[tuple[Any, ...]], in_flight: int) -> Iterator[T]:
    """``task(*args)`` for each argument tuple, in order, with at most ``in_flight`` pending:
    memory holds a bounded number of results, however many tasks there are."""
    pending: deque[Future[T]] = deque()
    for args in argument_lists:
        pending.append(pool.submit(task, *args))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


_STORES: dict[str, LedgerStore] = {}


def worker_store(url: str) -> LedgerStore:
    """In a worker: the store of the ledger at ``url``, opened at the first task and kept
    for the worker's life (every task of a rebuild, catch-up or payment run reads it)."""
    from storage.store import open_store

    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = open_store(url)
    return store
