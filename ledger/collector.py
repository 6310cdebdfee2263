"""Pausing Python's cyclic garbage collector while a stream is read or folded.

Reading and folding one employer's history allocate two or three container objects an
event and make no reference cycles: reference counting frees all of it. The cyclic
collector still counts those allocations and, every few hundred, re-traverses the young
objects, and every so often all of them: a quarter of the CPU of ``status --known-at`` at
50k events (docs/benchmarks.md), a tenth of an import's main thread. Paused for such a
unit of work (a read, a fold, an import), it runs as usual after.
``tests/test_stream_decoding.py`` pins that reading, folding and importing leave no cyclic
garbage (a refused import a little, bounded by the cap on its errors).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Runs the block with the cyclic collector paused, then restores it as it was (left
    paused when the caller, or another thread meanwhile, had paused it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
