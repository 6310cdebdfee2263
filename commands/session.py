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

from commands.config import ConfigError, configured_zone
from commands.terminal import LiteralConsole, json_safe
from storage.store import LedgerStore, StoreError, open_store

stderr = LiteralConsole(stderr=True)


class Session:
    """What every command shares: the database URL, the opened store and the clock."""

    def __init__(self, db_url: str | None, clock: Callable[[], datetime]) -> None:
        self.db_url = db_url
        self.clock = clock
        self._store: LedgerStore | None = None

    def store(self, create: bool = False) -> LedgerStore:
        """The opened ledger; unless ``create``, one that does not exist yet is refused, so a
        mistyped path or a cron job in the wrong directory gets an error, not "unregistered".
        Only ``init``, ``import`` and ``demo`` create a ledger."""
        if self._store is None:
            try:
                self._store = open_store(self.db_url, create=create)
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
    """Prints one JSON document on stdout, and nothing else. orjson escapes C0 controls; the
    other characters that could act on a terminal (DEL, C1, bidi controls) are escaped too,
    as ``\\u009b``: the same JSON value, never a raw control on the reader's screen."""
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()
    click.echo(json_safe(text))


def console() -> LiteralConsole:
    """The console for stdout (see :mod:`commands.terminal`: data is printed literally); a
    pipe or file has no width to respect (unless $COLUMNS gives one), so tables aren't cut."""
    out = LiteralConsole()
    if out.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return out
    return LiteralConsole(width=120)
