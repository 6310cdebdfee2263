"""How a command that cannot answer says so: one clear line on stderr and a non-zero exit.

:class:`LedgerGroup` is the ``corledger`` group: what a command raises that the user can act
on (a database that cannot be opened or read, a file that cannot be written, a store
refusal) becomes one ``Error:`` line naming what failed, and every message is made visible
(:func:`commands.terminal.visible`), since it may quote stored or typed data. Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import click
from eventsourcing.persistence import PersistenceError
from sqlalchemy.exc import SQLAlchemyError

from commands.terminal import visible
from storage.store import StoreError

try:  # the PostgreSQL driver is a dependency, but its absence must not break SQLite users
    from psycopg import Error as PsycopgError
except ImportError:  # pragma: no cover
    PsycopgError = StoreError  # type: ignore[misc,assignment]

# What the database layers raise when a ledger cannot be opened or read as asked.
DATABASE_ERRORS: tuple[type[Exception], ...] = (StoreError, PersistenceError, SQLAlchemyError,
                                                sqlite3.Error, PsycopgError)


def first_line(exc: BaseException) -> str:
    """The gist of an exception: its first line, without SQLAlchemy's background link."""
    original = getattr(exc, "orig", None)
    if isinstance(exc, SQLAlchemyError) and isinstance(original, BaseException):
        exc = original
    text = str(exc).strip().removeprefix("connection failed: ")
    return text.splitlines()[0] if text else type(exc).__name__


class LedgerGroup(click.Group):
    """The command group whose failures are messages, not tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            exc.message = visible(exc.message)  # type: ignore[misc]  # click's Final
            raise
        except DATABASE_ERRORS as exc:
            raise click.ClickException(visible(f"database: {first_line(exc)}")) from exc
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            raise click.ClickException(
                visible(f"cannot use{where}: {exc.strerror or first_line(exc)}")) from exc
