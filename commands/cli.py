"""The ``corledger`` command line: the edge where the clock is read and the store is opened."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click
import orjson
from rich.console import Console

from commands.importer import Importer, ImportRefused, ImportResult
from ledger.codec import event_to_state
from ledger.store import DEFAULT_DB, LedgerStore, StoreError, open_store

stderr = Console(stderr=True)


class Session:
    """What every command shares: the database URL, the opened store and the clock."""

    def __init__(self, db_url: str | None, clock: Callable[[], datetime]) -> None:
        self.db_url = db_url
        self.clock = clock
        self._store: LedgerStore | None = None

    def store(self) -> LedgerStore:
        if self._store is None:
            try:
                self._store = open_store(self.db_url)
            except StoreError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._store

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.find_object(Session).db_url = value  # type: ignore[union-attr]


DB_HELP = ("database URL (default: $CORLEDGER_DB, else sqlite:///corledger.db); "
           "sqlite:///PATH for a file")


def db_option(command: click.Command) -> click.Command:
    """Lets ``--db`` follow the command name too (``corledger status X --db URL``)."""
    command.params.append(click.Option(["--db"], metavar="URL", expose_value=False,
                                       callback=_set_db, is_eager=True, help=DB_HELP))
    return command


def emit_json(document: Any) -> None:
    """Prints one JSON document on stdout, and nothing else."""
    click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", envvar="CORLEDGER_DB", default=None, help=DB_HELP)
@click.version_option(package_name="corledger")
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """corledger: an event-sourced ledger of COR and SECOR certifications."""
    session = Session(db or DEFAULT_DB, clock=lambda: datetime.now(UTC))
    ctx.obj = session
    ctx.call_on_close(session.close)


@main.command()
@click.option("--create-database", is_flag=True,
              help="create the PostgreSQL database named in the URL if it does not exist")
@click.pass_obj
def init(session: Session, create_database: bool) -> None:
    """Create the schema (every other command also does so on first use).

    With --create-database, a PostgreSQL database named in the URL that does not exist yet
    is created first (through the server's ``postgres`` database); for SQLite the file is
    created anyway. The SQL tables registered in ``ledger.sqlmeta`` (read models, jobs) are
    created too, so a new database is complete; an existing one is upgraded with Alembic.
    """
    from ledger.sqlengine import engine_for
    from ledger.sqlmeta import metadata
    from ledger.store import StoreError
    from ledger.store import create_database as create_db

    if create_database:
        try:
            created = create_db(session.db_url)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        if created:
            click.echo("database created")
    store = session.store()
    if metadata.tables:
        metadata.create_all(engine_for(store.url.render_as_string(hide_password=False)))
    click.echo(f"ledger ready at {store.url.render_as_string(hide_password=True)}")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.pass_obj
def import_(session: Session, file: str, as_json: bool) -> None:
    """Validate and append a JSONL file of events, whole or not at all (- for stdin)."""
    store = session.store()
    if file == "-":
        result = _import_stream(session, store, sys.stdin.buffer, None, "stdin")
    else:
        path = Path(file)
        if not path.exists():
            raise click.ClickException(f"{file}: no such file")
        with path.open("rb") as stream:
            result = _import_stream(session, store, stream, path.stat().st_size, file)
    if as_json:
        emit_json({"file": file, "added": result.added, "skipped": result.skipped,
                   "lines": result.lines})
    else:
        click.echo(f"{file}: {result.added} events added, {result.skipped} skipped "
                   f"(already in the ledger), {result.lines} lines read")


def _import_stream(session: Session, store: LedgerStore, stream: IO[bytes],
                   size: int | None, label: str) -> ImportResult:
    importer = Importer(store, now=session.now())
    try:
        if stderr.is_terminal:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            with Progress("[progress.description]{task.description}", BarColumn(),
                          DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                          console=stderr, transient=True) as progress:
                task = progress.add_task(f"importing {label}", total=size)
                importer.on_bytes = lambda n: progress.advance(task, n)
                return importer.run(stream)
        return importer.run(stream)
    except ImportRefused as refused:
        lines = [f"{label}: refused, nothing was imported:"]
        lines += [f"  {error}" for error in refused.errors]
        if refused.truncated:
            lines.append(f"  (stopped after {len(refused.errors)} errors)")
        raise click.ClickException("\n".join(lines)) from refused


@main.command()
@click.argument("employer")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_obj
def history(session: Session, employer: str, as_json: bool) -> None:
    """Every event of an employer, in the order the ledger received them, with both times."""
    events = session.store().stream(employer)
    rows = [{"position": e.originator_version, "type": type(e).__name__, **event_to_state(e)}
            for e in events]
    if as_json:
        emit_json({"employer": employer, "events": rows})
        return
    if not rows:
        stderr.print(f"{employer}: no events in this ledger (never registered)")
        return
    out = Console()
    out.print(f"[bold]History of {employer}[/]: {len(rows)} events, in the order received")
    for row in rows:
        recorded = row["recorded_at"][:19] + "Z"
        out.print(f"[bold]{row['position']:>4}[/]  {row['effective']}  [cyan]{row['type']}[/]"
                  f"  id={row['id'] or '-'}  recorded {recorded}  by {row['by'] or '-'}",
                  highlight=False)
        details = "  ".join(f"{k}={_plain(v)}" for k, v in row["data"].items() if v is not None)
        out.print(f"      [dim]{details}[/]", highlight=False)


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def _register_optional_commands() -> None:
    """Adds the query commands that live in their own modules."""
    for module_name in ("commands.status_cli", "commands.demo_cli", "commands.incentive_cli",
                        "commands.projections_cli", "commands.scheduler_cli"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for command in module.COMMANDS:
            main.add_command(command)


_register_optional_commands()
for _command in main.commands.values():
    db_option(_command)


if __name__ == "__main__":
    main()
