"""The options every command shares, kept free of heavy imports: ``corledger --help`` and
the lazy command group (:mod:`commands.cli`) use them before any command is loaded."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

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


# --- query times and dates: the one reading of them, for the command line and the HTTP API ---

# The widest lapse window: ten years either side is more than any rulebook looks ahead.
MAX_WITHIN_DAYS = 3653
# How far a query may reach beyond its as-of date and window (grace periods, cycles).
REACH = timedelta(days=4 * 366)


def read_known_at(value: str) -> datetime:
    """A known-at time: an ISO date-time (offset optional, UTC assumed), in UTC; a bare date
    is the end of that UTC day. A text that is not one, or a time whose offset puts it
    outside the years 1 to 9999 in UTC, is a :class:`ValueError` saying so (``--known-at``,
    ``--since``, ``?known_at=``, ``?since=`` and ``AS_OF@KNOWN_AT`` all read it here)."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date-time (e.g. 2016-07-01T00:00:00Z)"
                         ) from None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} falls outside years 1 to 9999 in UTC") from None


def check_interval(since: datetime, until: datetime | None) -> None:
    """Refuses a transaction-time interval that ends before it starts (a
    :class:`ValueError` saying so): ``changes --since/--until`` and ``GET /v1/changes``."""
    if until is not None and until < since:
        raise ValueError(f"{until.isoformat()} is before since {since.isoformat()}")


def check_reach(as_of: date, within: int = 0) -> None:
    """Refuses an as-of date whose window (and what a fold looks at around it, :data:`REACH`)
    leaves the calendar's years 1 to 9999: a :class:`ValueError` naming the dates that may
    be asked, rather than an overflow inside the query."""
    try:
        as_of - timedelta(days=within) - REACH
        as_of + timedelta(days=within) + REACH
    except OverflowError:
        raise ValueError(
            f"{as_of} with a window of {within} days reaches outside years 1 to 9999; use a "
            f"date from {date.min + REACH + timedelta(days=within)} to "
            f"{date.max - REACH - timedelta(days=within)}") from None
