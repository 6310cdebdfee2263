"""The options every command shares, kept free of heavy imports: ``corledger --help`` and
the lazy command group (:mod:`commands.cli`) use them before any command is loaded."""

from __future__ import annotations

import click

DB_HELP = ("database URL (default: $CORLEDGER_DB, else sqlite:///corledger.db); "
           "sqlite:///PATH for a file")


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        from commands.session import Session

        ctx.find_object(Session).db_url = value  # type: ignore[union-attr]


def db_option(command: click.Command) -> click.Command:
    """Lets ``--db`` follow the command name too (``corledger status X --db URL``)."""
    command.params.append(click.Option(["--db"], metavar="URL", expose_value=False,
                                       callback=_set_db, is_eager=True, help=DB_HELP))
    return command
