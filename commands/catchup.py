"""No silent waiting: what a command shows on stderr while it works through a long list
(read models catching up before a query, a payment run deciding every employer).

On a terminal, a progress bar (done of total) that disappears when done; elsewhere (a pipe, a
log) one line when the work is at least :data:`NOTICE_EVENTS` long, so a script's stderr is
not filled by every small catch-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

NOTICE_EVENTS = 10_000  # a catch-up this long is worth a line in a log


CATCH_UP = ("read models catching up (events)",
            "read models are {total} events behind the ledger: catching up before answering")
"""The label of the bar and the line of a log, for the read models' catch-up."""


class CatchUpReport:
    """An ``on_progress(done, total)`` callback that shows the progress: of the read-model
    queries' catch-up (see :func:`projections.sql.projector.catch_up`) unless told what
    else (``words``: the bar's label and the log line, ``{total}`` filled in)."""

    def __init__(self, console: Console, words: tuple[str, str] = CATCH_UP) -> None:
        self.console = console
        self.label, self.notice = words
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
            self.console.print(self.notice.format(total=total), highlight=False, markup=False)

    def _show_bar(self, done: int, total: int) -> None:
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total)
        self._bar.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@contextmanager
def catching_up(console: Console | None = None, words: tuple[str, str] = CATCH_UP
                ) -> Iterator[CatchUpReport]:
    """A report for one query (or other long work), closed (its bar removed) when the block
    ends."""
    report = CatchUpReport(console or Console(stderr=True), words)
    try:
        yield report
    finally:
        report.close()
