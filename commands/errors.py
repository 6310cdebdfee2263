"""How a command that cannot answer says so: one clear line on stderr and a non-zero exit.

:class:`LedgerGroup` is the ``corledger`` group: what a command raises that the user can act
on (a database that cannot be opened or read, a file that cannot be written, a store
refusal) becomes one ``Error:`` line naming what failed, and every message is made visible
(:func:`commands.terminal.visible`), since it may quote stored or typed data. Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

# What the database layers raise when a ledger cannot be opened or read as asked: (module,
# class) pairs, looked up only once a command has failed. A layer that was never imported
# cannot have raised, so a command that never loaded SQLAlchemy or psycopg (``--help``, a
# read-model ``status``) does not import them to catch their errors.
_DATABASE_ERRORS = (("storage.store", "StoreError"), ("storage.log", "LogDamaged"),
                    ("eventsourcing.persistence",
                    "PersistenceError"), ("sqlalchemy.exc", "SQLAlchemyError"),
                    ("sqlite3", "Error"), ("psycopg", "Error"))


def database_errors() -> tuple[type[Exception], ...]:
    """The database exception classes of every layer this process has loaded."""
    found: list[type[Exception]] = []
    for module, name in _DATABASE_ERRORS:
        loaded = sys.modules.get(module)
        error = getattr(loaded, name, None)
        if isinstance(error, type) and issubclass(error, Exception):
            found.append(error)
    return tuple(found)


def first_line(exc: BaseException) -> str:
    """The gist of an exception: its first line, without SQLAlchemy's background link."""
    original = getattr(exc, "orig", None)
    if isinstance(original, BaseException) and _is_sqlalchemy_error(exc):
        exc = original
    text = str(exc).strip().removeprefix("connection failed: ")
    return text.splitlines()[0] if text else type(exc).__name__


def _is_sqlalchemy_error(exc: BaseException) -> bool:
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)


class LedgerGroup(click.Group):
    """The command group whose failures are messages, not tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        from commands.terminal import visible

        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            exc.message = visible(exc.message)  # type: ignore[misc]  # click's Final
            raise
        except Exception as exc:
            if isinstance(exc, database_errors()):
                raise click.ClickException(visible(f"database: {first_line(exc)}")) from exc
            if isinstance(exc, OSError):
                where = f" {exc.filename}" if exc.filename else ""
                raise click.ClickException(
                    visible(f"cannot use{where}: {exc.strerror or first_line(exc)}")) from exc
            raise
