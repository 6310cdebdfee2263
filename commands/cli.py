"""The ``corledger`` command line: the edge where the clock is read and the store is opened.

Query and job commands live in their own modules (``commands/*_cli.py``) and are registered
here; they import what they share from :mod:`commands.session`, never from this module.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import click

from commands.csvout import force_option, write_csv
from commands.errors import LedgerGroup
from commands.receipts import ledger_axis_options, pinned_size
from commands.session import DB_HELP, Session, console, db_option, emit_json, stderr
from commands.status_cli import check_employer
from commands.terminal import styled, visible
from ledger.codec import event_to_state
from storage.store import DEFAULT_DB


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    created anyway. Every SQL table beside the events (read models, jobs, outbox) is created
    too, so a new database is complete, and it is stamped with the Alembic revision it is at;
    an existing one is upgraded with ``alembic upgrade head``.
    """
    from commands.schema import all_tables
    from storage.engine import engine_for
    from storage.schema import bootstrap
    from storage.store import StoreError
    from storage.store import create_database as create_db

    if create_database:
        try:
            created = create_db(session.db_url)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        if created:
            click.echo("database created")
    store = session.store(create=True)
    all_tables()
    stamped = bootstrap(engine_for(store.url.render_as_string(hide_password=False)))
    if stamped:
        click.echo(f"schema at migration {stamped}")
    click.echo(visible(f"ledger ready at {store.url.render_as_string(hide_password=True)}"))


HISTORY_COLUMNS = ("position", "type", "id", "effective", "recorded_at", "by", "data")


@main.command()
@click.argument("employer", callback=check_employer)
@click.option("--csv", "csv_file", metavar="FILE",
              help="write one row per event as CSV to FILE (- for stdout)")
@force_option
@ledger_axis_options
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_obj
def history(session: Session, employer: str, csv_file: str | None, force: bool,
            ledger_at: datetime | None, tree_size: int | None, as_json: bool) -> None:
    """Every event of an employer, in the order the ledger received them, with both times."""
    if csv_file is not None and as_json:
        raise click.UsageError("choose one of --csv and --json")
    store = session.store()
    events = store.stream(employer, pinned_size(store, ledger_at, tree_size))
    rows = [{"position": e.originator_version, "type": type(e).__name__, **event_to_state(e)}
            for e in events]
    if as_json:
        emit_json({"employer": employer, "events": rows})
        return
    if csv_file is not None:
        write_csv(csv_file, HISTORY_COLUMNS, ({**row, "data": _details(row["data"])}
                                             for row in rows), force)
        if csv_file != "-":
            stderr.print(styled(f"{csv_file}: {len(rows)} events written"))
        return
    if not rows:
        stderr.print(styled(f"{employer}: no events in this ledger (never registered)"))
        return
    out = console()
    out.print(styled((f"History of {employer}", "bold"),
                     f": {len(rows)} events, in the order received"))
    for row in rows:
        recorded = row["recorded_at"][:19] + "Z"
        out.print(styled((f"{row['position']:>4}", "bold"), f"  {row['effective']}  ",
                         (row["type"], "cyan"), f"  id={row['id'] or '-'}  recorded "
                         f"{recorded}  by {row['by'] or '-'}"))
        out.print(styled(("      " + _details(row["data"]), "dim")))


def _details(data: dict[str, Any]) -> str:
    return "  ".join(f"{k}={_plain(v)}" for k, v in data.items() if v is not None)


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def _register_optional_commands() -> None:
    """Adds the query commands that live in their own modules."""
    for module_name in ("commands.status_cli", "commands.demo_cli", "commands.incentive_cli",
                        "commands.projections_cli", "commands.scheduler_cli",
                        "commands.rules_cli", "service.cli", "commands.import_cli",
                        "commands.tamper_cli", "commands.diff_cli"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for command in module.COMMANDS:
            main.add_command(command)


if __name__ == "__main__":
    # Run the importable module, not this copy: command modules import `commands.cli`, and a
    # second copy registering them would import them half-initialised.
    importlib.import_module("commands.cli").main()
else:
    _register_optional_commands()
    for _command in main.commands.values():
        db_option(_command)
