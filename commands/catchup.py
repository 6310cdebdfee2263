"""No silent waiting: what a query shows on stderr while the read models catch up first.

On a terminal, a progress bar (events applied of events behind) that disappears when done;
elsewhere (a pipe, a log) one line when the read models are at least :data:`NOTICE_EVENTS`
behind, so a script's stderr is not filled by every small catch-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

NOTICE_EVENTS = 10_000  # a catch-up this long is worth a line in a log


class CatchUpReport:
    """An ``on_progress`` callback for the read-model queries (see
    :func:`projections.sql.projector.catch_up`)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar: Any = None
        self._task: Any = None
        self._said = False

    def __call__(self, done: int, total: int) -> None:
        if done >= total and self._bar is None and not self._said:
            return  # nothing was behind
        if self.console.is_terminal:
            self._show_bar(done, total)
        elif not self._said and total >= NOTICE_EVENTS:
            self._said = True
            self.console.print(f"read models are {total} events behind the ledger: catching "
                               "up before answering", highlight=False)

    def _show_bar(self, done: int, total: int) -> None:
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("read models catching up (events)", total=total)
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@contextmanager
def catching_up(console: Console | None = None) -> Iterator[CatchUpReport]:
    """A report for one query, closed (its bar removed) when the block ends."""
    report = CatchUpReport(console or Console(stderr=True))
    try:
        yield report
    finally:
        report.close()
