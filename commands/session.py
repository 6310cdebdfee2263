"""What every command shares at the edge: the session (database URL, store, clock) and output.

Command modules import from here, never from :mod:`commands.cli`, which imports them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import IO, TYPE_CHECKING, Any

import click
import orjson

from commands.config import Config, ConfigError, load_config
from commands.terminal import LiteralConsole, json_safe

if TYPE_CHECKING:  # the store (SQLAlchemy, eventsourcing) and the importer (marshmallow) are
    # loaded only by the commands that use them (see commands.cli: lazy loading)
    from commands.importer import ImportResult
    from storage.store import LedgerStore, Writer

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
            from storage.store import StoreError, open_store

            try:
                self._store = open_store(self.db_url, create=create)
            except StoreError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._store

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def today(self, config: Config | None = None) -> date:
        """Today in the configured time zone: every command's default as-of date. A command
        given ``--config FILE`` passes its configuration (``config``); the others read the
        environment's (``$CORLEDGER_TIMEZONE``, ``$CORLEDGER_CONFIG``)."""
        if config is None:
            try:
                config = load_config(None, os.environ)
            except ConfigError as exc:
                raise click.ClickException(f"configuration: {exc}") from exc
        return configured_today(self.now(), config)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def today_in(now: datetime, zone: tzinfo) -> date:
    """The calendar date of the moment ``now`` in ``zone`` (the one way "today" is read)."""
    return now.astimezone(zone).date()


def configured_today(now: datetime, config: Config) -> date:
    """Today for a command run with ``config`` (the file it was given, the environment
    over it): ``now`` in its ``scan.timezone``, which ``$CORLEDGER_TIMEZONE`` overrides,
    else UTC. The scheduler, ``scan`` and ``outbox --deliver`` all read "today" here."""
    return today_in(now, config.scan.zone)


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


class DigestingReader:
    """A binary stream that hashes (SHA-256) and counts what is read through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def readline(self, size: int = -1) -> bytes:
        data = self.stream.readline(size)
        self.digest.update(data)
        return data

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        return data

    def bytes_left(self) -> int | None:
        """What is left of the wrapped stream, if it can tell without reading (the
        importer's estimate of a file's length)."""
        from commands.importer import bytes_left

        return bytes_left(self.stream)


def batch_recorder(source: str, by: str | None, sha256: Callable[[], str], started: datetime,
                   clock: Callable[[], datetime]) -> Callable[[Writer, ImportResult], None]:
    """The importer's ``on_commit`` that puts the import on the record as a batch, in its
    transaction: the CLI's imports and the HTTP service's (``by``: the principal) alike."""

    from storage.log import ImportBatch

    def record(writer: Writer, result: ImportResult) -> None:
        writer.record_batch(ImportBatch(
            source=source, by=by, sha256=sha256(), lines=result.lines, added=result.added,
            skipped=result.skipped, started_at=started, finished_at=clock()))

    return record
