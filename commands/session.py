"""What every command shares at the edge: the session (database URL, store, clock) and output.

Command modules import from here, never from :mod:`commands.cli`, which imports them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import click
import orjson
from rich.console import Console

from commands.config import ConfigError, configured_zone
from storage.store import LedgerStore, StoreError, open_store

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

    def today(self) -> date:
        """Today in the configured time zone: every command's default as-of date."""
        try:
            zone = configured_zone(os.environ)
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from exc
        return today_in(self.now(), zone)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def today_in(now: datetime, zone: tzinfo) -> date:
    """The calendar date of the moment ``now`` in ``zone`` (the one way "today" is read)."""
    return now.astimezone(zone).date()


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


def console() -> Console:
    """A console for stdout; a pipe or file has no width to respect, so tables aren't cut."""
    out = Console()
    return out if out.is_terminal else Console(width=120)
