"""``corledger import``: a JSONL file appended whole or not at all, with progress and a summary.

The import itself is :class:`commands.importer.Importer`; this module is its edge: the
progress bar (rate and time left computed over the time elapsed since the start, which a
bursty reader cannot fool), the summary with the elapsed time, ``--dry-run`` and the refusal,
as text on stderr or, with ``--json``, as one JSON document on stdout.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, ProgressColumn, Task
from rich.text import Text

from commands.importer import Importer, ImportRefused, ImportResult, LineError
from commands.session import Session, emit_json, stderr
from storage.store import LedgerStore, StoreError


class ElapsedRateColumn(ProgressColumn):
    """Bytes per second over the whole time elapsed (rich's own speed is a recent window)."""

    def render(self, task: Task) -> Text:
        rate = _rate(task)
        return Text("?" if rate is None else f"{rate / 1e6:.1f} MB/s", style="progress.data.speed")


class TimeLeftColumn(ProgressColumn):
    """What is left at the rate so far: remaining bytes over the elapsed-time rate."""

    def render(self, task: Task) -> Text:
        rate = _rate(task)
        if rate is None or task.total is None:
            return Text("-:--:--", style="progress.remaining")
        left = max(task.total - task.completed, 0) / rate
        return Text(_clock(left), style="progress.remaining")


def _rate(task: Task) -> float | None:
    elapsed = task.elapsed
    if not elapsed or elapsed < 0.5 or not task.completed:
        return None
    return task.completed / elapsed


def _clock(seconds: float) -> str:
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class Refusal(click.ClickException):
    """An import that wrote nothing: the line errors, or the one reason it could not run."""

    def __init__(self, label: str, errors: list[LineError], truncated: bool = False,
                 store_error: str | None = None) -> None:
        self.label, self.errors, self.truncated = label, errors, truncated
        self.store_error = store_error
        super().__init__(self.text())

    def text(self) -> str:
        if self.store_error is not None:
            return f"{self.label}: not imported: {self.store_error}"
        lines = [f"{self.label}: refused, nothing was imported:"]
        lines += [f"  {error}" for error in self.errors]
        if self.truncated:
            lines.append(f"  (stopped after {len(self.errors)} errors)")
        return "\n".join(lines)

    def document(self) -> dict[str, Any]:
        return {"file": self.label, "refused": True, "imported": 0,
                "errors": [{"line": e.line, "field": e.field, "message": e.message}
                           for e in self.errors]
                + ([{"line": None, "field": None, "message": self.store_error}]
                   if self.store_error is not None else []),
                "truncated": self.truncated}


def run_import(session: Session, store: LedgerStore, stream: IO[bytes], size: int | None,
               label: str, dry_run: bool = False) -> ImportResult:
    """Runs one import, with a progress bar on a terminal; raises :class:`Refusal`."""
    importer = Importer(store, now=session.now(), dry_run=dry_run)
    try:
        if stderr.is_terminal:
            with Progress("[progress.description]{task.description}", BarColumn(),
                          DownloadColumn(), ElapsedRateColumn(), TimeLeftColumn(),
                          console=stderr, transient=True) as progress:
                task = progress.add_task(f"importing {label}", total=size)
                importer.on_bytes = lambda n: progress.advance(task, n)
                return importer.run(stream)
        return importer.run(stream)
    except StoreError as exc:
        raise Refusal(label, [], store_error=str(exc)) from exc
    except ImportRefused as refused:
        raise Refusal(label, refused.errors, refused.truncated) from refused


def _opened(session: Session, label: str) -> LedgerStore:
    try:
        return session.store(create=True)
    except click.ClickException as exc:
        raise Refusal(label, [], store_error=exc.message) from exc


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True,
              help="check every line (against the ledger too) and write nothing")
@click.option("--json", "as_json", is_flag=True,
              help="print the summary, or the refusal, as one JSON document")
@click.pass_obj
def import_(session: Session, file: str, dry_run: bool, as_json: bool) -> None:
    """Validate and append a JSONL file of events, whole or not at all (- for stdin)."""
    started = time.monotonic()
    try:
        if file == "-":
            result = run_import(session, _opened(session, "stdin"), sys.stdin.buffer, None,
                                "stdin", dry_run)
        else:
            path = Path(file)
            if not path.exists():
                raise Refusal(file, [], store_error="no such file")
            store = _opened(session, file)
            with path.open("rb") as stream:
                result = run_import(session, store, stream, path.stat().st_size, file,
                                    dry_run)
    except Refusal as refusal:
        if as_json:
            emit_json(refusal.document())
        raise
    elapsed = time.monotonic() - started
    if as_json:
        emit_json({"file": file, "added": result.added, "skipped": result.skipped,
                   "lines": result.lines, "dry_run": dry_run,
                   "elapsed_s": round(elapsed, 3)})
    elif dry_run:
        click.echo(f"{file}: dry run, nothing written: {result.added} events would be added, "
                   f"{result.skipped} skipped (already in the ledger), {result.lines} lines "
                   f"read in {elapsed:.1f} s")
    else:
        click.echo(f"{file}: {result.added} events added, {result.skipped} skipped "
                   f"(already in the ledger), {result.lines} lines read in {elapsed:.1f} s")


COMMANDS = [import_]
