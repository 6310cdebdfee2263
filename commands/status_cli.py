"""The query commands ``status``, ``explain`` and ``lapses``.

``status`` known now and ``lapses`` are answered from the read models (SQL), which catch up
with the event log first; ``status --known-at`` and ``explain`` fold the employer's stream,
since the read models hold only what is known now.

The clock is read here, at the edge: ``--as-of`` defaults to today in the configured time
zone (:meth:`commands.session.Session.today`, as every command). ``--known-at``
takes an ISO date-time; without an offset it is UTC, and a bare date means the end of that
UTC day (everything recorded on that date is known).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import click

from commands.catchup import catching_up
from commands.explain import explain as explain_renderable
from commands.session import console, emit_json
from projections.sql.queries import lapses_from_read_model, status_from_read_model
from projections.status import render
from projections.timeline import fold


def _session() -> Any:
    return click.get_current_context().obj


def _today() -> date:
    today: date = _session().today()
    return today


def parse_date(_ctx: click.Context | None, param: click.Parameter | None,
               value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` option value."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param=param) from None


def parse_known_at(_ctx: click.Context | None, param: click.Parameter | None,
                   value: str | None) -> datetime | None:
    """An ISO date-time (offset optional, UTC assumed); a bare date is the end of that day."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time (e.g. 2016-07-01T00:00:00Z)", param=param
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


as_of_option = click.option("--as-of", callback=parse_date, metavar="DATE",
                            help="the date the status is for (default: today)")
known_at_option = click.option("--known-at", callback=parse_known_at, metavar="DATETIME",
                               help="only what the ledger knew at this time")


def _timeline(employer: str, as_of: date | None, known_at: datetime | None) -> Any:
    events = _session().store().stream(employer)
    return fold(events, as_of=as_of or _today(), known_at=known_at, employer=employer)


@click.command()
@click.argument("employer")
@as_of_option
@known_at_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def status(employer: str, as_of: date | None, known_at: datetime | None,
           as_json: bool) -> None:
    """Certification status of EMPLOYER on a date, as known at a time."""
    if known_at is None:
        with catching_up() as report:
            doc = status_from_read_model(_session().store(), employer, as_of or _today(),
                                         on_progress=report)
    else:
        doc = render(_timeline(employer, as_of, known_at))
    if as_json:
        emit_json(doc)
        return
    out = console()
    out.print(f"[bold]{doc['employer']}[/]: [bold]{doc['status']}[/] on {doc['as_of']}",
              highlight=False)
    if doc["certificate"]:
        c = doc["certificate"]
        out.print(f"  certificate issued {c['issued']}, expires {c['expires']}, "
                  f"cycle year {c['cycle_year']}", highlight=False)
    if doc["next_audit"]:
        n = doc["next_audit"]
        out.print(f"  next audit: {n['kind']}, due {n['due'] or '-'}, auditor {n['auditor']}",
                  highlight=False)
    if doc["flags"]:
        out.print(f"  flags: {', '.join(doc['flags'])}", highlight=False)
    for b in doc["because"][-3:]:
        out.print(f"  [dim]{b['effective']} {b['rule']}: {b['says']}[/]", highlight=False)


@click.command()
@click.argument("employer")
@as_of_option
@known_at_option
def explain(employer: str, as_of: date | None, known_at: datetime | None) -> None:
    """The status of EMPLOYER and the events and rules behind it, to read."""
    console().print(explain_renderable(_timeline(employer, as_of, known_at)))


@click.command()
@as_of_option
@click.option("--within", type=click.IntRange(min=0), default=90, show_default=True,
              metavar="DAYS", help="how many days ahead (and back, for missed ones)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def lapses(as_of: date | None, within: int, as_json: bool) -> None:
    """Employers whose next required audit falls due within DAYS, or was missed."""
    with catching_up() as report:
        entries = lapses_from_read_model(_session().store(), as_of or _today(), within,
                                         on_progress=report)
    if as_json:
        emit_json(entries)
        return
    out = console()
    if not entries:
        out.print("no employer is due or missed within the window")
    for e in entries:
        extra = f" ({', '.join(e['reasons'])})" if e["reasons"] else ""
        out.print(f"{e['level']:>8}  {e['employer']}  {e['partner']}  {e['status']}  due "
                  f"{e['due']}  {e['days_left']:+d} days{extra}", highlight=False)


COMMANDS = [status, explain, lapses]
