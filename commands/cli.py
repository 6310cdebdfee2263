"""The ``corledger`` command line: the edge where the clock is read and the store is opened.

Commands live in their own modules (``commands/*_cli.py``, ``service/cli.py``) and are
loaded lazily: :data:`COMMANDS` names each command's module and its one-line help, so
``corledger --help`` imports click alone and a command imports only what it uses (``status``
never loads the importer or marshmallow). Command modules import what they share from
:mod:`commands.session`, never from this module.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from commands.errors import LedgerGroup
from commands.lazy import Lazy, LazyGroup
from commands.options import DB_HELP, db_option
from storage.sqlite_file import DEFAULT_DB

if TYPE_CHECKING:
    from commands.session import Session

# Every command but ``init``: its module, the attribute defining it, and the one line
# ``corledger --help`` lists for it (its docstring's first sentence; a test keeps them equal).
COMMANDS: dict[str, Lazy] = {
    "history": Lazy("commands.history_cli", "history",
                 "Every event of an employer, in the order the ledger received them, with both "
                 "times."),
    "import": Lazy("commands.import_cli", "import_",
                 "Validate and append a JSONL file of events, whole or not at all (- for stdin)."),
    "status": Lazy("commands.status_cli", "status",
                 "Certification status of EMPLOYER on a date, as known at a time."),
    "explain": Lazy("commands.status_cli", "explain",
                 "The status of EMPLOYER and everything behind it: flags, certificates, audits, "
                 "voids, revocations and every decision with its rule, to read (or as JSON), "
                 "with the receipt of the log it was computed from."),
    "lapses": Lazy("commands.status_cli", "lapses",
                 "Employers whose next required audit falls due within DAYS, or was missed."),
    "projections": Lazy("commands.projections_cli", "projections_group",
                 "The read models behind status, lapses and roll: position, lag, rebuild."),
    "roll": Lazy("commands.projections_cli", "roll",
                 "Every registered employer's status on a date: the regulator's list."),
    "incentive": Lazy("commands.incentive_cli", "incentive",
                 "Incentive eligibility and amount of EMPLOYER for a certification year."),
    "incentives": Lazy("commands.incentive_cli", "incentives",
                 "Every employer's incentive decision for a year (the payment run), with totals."),
    "diff": Lazy("commands.diff_cli", "diff_command",
                 "What differs in EMPLOYER's status between two views, and the events and rules "
                 "(or the calendar) behind each difference."),
    "changes": Lazy("commands.diff_cli", "changes",
                 "Every employer whose status on a date reads differently as known at two times:"
                 " the roll's changes since the last report, with the events that made each "
                 "difference."),
    "keys": Lazy("commands.tamper_cli", "keys", "The log's signing keys."),
    "checkpoint": Lazy("commands.tamper_cli", "checkpoint",
                 "Sign and store the log's current tree head; print the checkpoint note to keep."),
    "verify": Lazy("commands.tamper_cli", "verify",
                 "Recompute the log from the stored events; check every checkpoint."),
    "proof": Lazy("commands.tamper_cli", "proof",
                 "An inclusion proof of EVENT_ID (the sender's id) against a checkpoint, or with"
                 " --consistency OLD NEW a proof that NEW extends OLD; JSON, for `corledger "
                 "verify-proof`."),
    "verify-proof": Lazy("commands.tamper_cli", "verify_proof",
                 "Check a proof offline: needs only the public key, the checkpoint and the "
                 "proof."),
    "batches": Lazy("commands.tamper_cli", "batches",
                 "The imports on record: who, file SHA-256, lines, added, skipped, log indexes, "
                 "times."),
    "scan": Lazy("commands.scheduler_cli", "scan",
                 "Flag every employer at lapse risk on a date, once per employer, due date and "
                 "level."),
    "scheduler": Lazy("commands.scheduler_cli", "scheduler_group",
                 "The long-running lapse-scan scheduler."),
    "outbox": Lazy("commands.scheduler_cli", "outbox",
                 "Notifications of lapse flags that are pending (or, with --failed, dead)."),
    "rules": Lazy("commands.rules_cli", "rules",
                 "Every rule: id, partners, versions with their in-force dates, sources, "
                 "statement."),
    "demo": Lazy("commands.demo_cli", "demo",
                 "Import the bundled sample ledger (a few dozen employers) and show the roll for"
                 " today."),
    "tokens": Lazy("service.cli", "tokens",
                 "API tokens: create (shown once, only its hash is kept), list, revoke."),
    "serve": Lazy("service.cli", "serve",
                 "Serve the HTTP API (gunicorn): /v1, /openapi.json, /docs, /health."),
}


class CommandLine(LazyGroup, LedgerGroup):
    """The ``corledger`` group: commands loaded on use, failures printed as messages; every
    command also takes ``--db`` after its name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, lazy=COMMANDS, prepare=db_option, **kwargs)


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the installed version, and whether the fold runs compiled (a stale or
    missing compile costs speed, never answers: see ledger/compiled.py)."""
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    from ledger.compiled import state

    click.echo(f"corledger, version {version('corledger')} (fold: {state()})")
    ctx.exit()


@click.group(cls=CommandLine, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", envvar="CORLEDGER_DB", default=None, help=DB_HELP)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version,
              help="Show the version, and whether the fold runs compiled, and exit.")
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """corledger: an event-sourced ledger of COR and SECOR certifications."""
    from commands.session import Session

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
    from commands.terminal import visible
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


if __name__ == "__main__":
    # Run the importable module, not this copy: command modules import `commands.cli`, and a
    # second copy registering them would import them half-initialised.
    importlib.import_module("commands.cli").main()
