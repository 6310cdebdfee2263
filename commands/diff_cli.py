"""The commands ``diff`` (what changed for one employer between two views, and why) and
``changes`` (every employer whose status reads differently as known at two times).

Both fold the employers' streams with :func:`projections.diff.diff`. ``changes`` reads only
the employers that events recorded in the interval touched (:meth:`LedgerStore.touched`, one
range scan of the ``ledger_recorded`` index): an employer nothing was recorded for cannot
read differently at one as-of date as known at two times.

A view is ``AS_OF[@KNOWN_AT]``: a date (empty: today, in the configured time zone), and
optionally a transaction time as
``status --known-at`` takes it (a bare date is the end of that UTC day; none: everything
recorded). The clock is read here, at the edge.

Like every query, both take the ledger's own time axis (``--ledger-at``, ``--tree-size``:
:mod:`commands.receipts`): both views are then folded from only the events the ledger had
appended by that moment, so a published diff or changes report replays exactly.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click
from rich.console import Console

from commands.csvout import render as render_csv
from commands.options import check_interval
from commands.receipts import ledger_axis_options, pinned_size, pinned_text
from commands.session import console, emit_json
from commands.status_cli import parse_date, parse_known_at
from ledger.events import PARTNERS
from projections.diff import View, diff, recorded_between

CSV_COLUMNS = ("employer", "partner", "as_of", "status_before", "status_after", "fields",
               "events")


def _session() -> Any:
    return click.get_current_context().obj


def _today() -> date:
    """Today in the configured time zone (see the README's "Today")."""
    today: date = _session().today()
    return today


def parse_view(_ctx: click.Context | None, param: click.Parameter | None,
               value: str | None) -> View | None:
    """``AS_OF[@KNOWN_AT]``: the as-of date (empty: today) and the optional known-at."""
    if value is None:
        return None
    as_of_text, _, known_text = value.partition("@")
    as_of = parse_date(None, param, as_of_text.strip()) if as_of_text.strip() else None
    known_at = parse_known_at(None, param, known_text) if known_text.strip() else None
    if "@" in value and known_at is None:
        raise click.BadParameter(f"{value!r}: nothing after '@' (give a known-at time, or "
                                 "leave out the '@')", param=param)
    return View(as_of or _today(), known_at)


@click.command("diff")
@click.argument("employer")
@click.option("--from", "before", callback=parse_view, required=True,
              metavar="AS_OF[@KNOWN_AT]", help="the first view (e.g. 2016-07-01@2016-07-01)")
@click.option("--to", "after", callback=parse_view, metavar="AS_OF[@KNOWN_AT]",
              help="the second view (default: today, as known now)")
@click.option("--year", type=click.IntRange(1900, 9999), metavar="YEAR",
              help="also compare the incentive decision for this certification year")
@ledger_axis_options
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def diff_command(employer: str, before: View, after: View | None, year: int | None,
                 ledger_at: datetime | None, tree_size: int | None, as_json: bool) -> None:
    """What differs in EMPLOYER's status between two views, and the events and rules (or
    the calendar) behind each difference."""
    store = _session().store()
    result, events = diff_document(store, employer, before, after or View(_today(), None),
                                   year, _today(), pinned_size(store, ledger_at, tree_size))
    if as_json:
        emit_json(result)
        return
    if not events:
        Console(stderr=True).print(f"{employer}: not registered in this ledger",
                                   markup=False, highlight=False, soft_wrap=True)
    _print_diff(console(), result)


def diff_document(store: Any, employer: str, before: View, after: View, year: int | None,
                  today: date, tree_size: int | None = None,
                  ) -> tuple[dict[str, Any], list[Any]]:
    """The ``diff --json`` document (and ``GET /v1/employers/E/diff``), of the first
    ``tree_size`` events of the log when pinned (it then names the pin), with the events
    folded."""
    events = store.stream(employer, tree_size)
    reference = store.reference(tree_size) if year is not None else []
    result = diff(events, employer=employer, before=before, after=after,
                  reference=reference, year=year, today=today)
    if tree_size is not None:
        result["tree_size"] = tree_size
    return result, events


def _view_text(view: dict[str, Any]) -> str:
    known = view["known_at"] or "now"
    return f"{view['as_of']} as known at {known}"


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def _print_diff(out: Console, result: dict[str, Any]) -> None:
    head = (f"{result['employer']}: {_view_text(result['from'])} -> "
            f"{_view_text(result['to'])}{pinned_text(result.get('tree_size'))}")
    out.print(head, markup=False, highlight=False, soft_wrap=True)
    if result["unchanged"]:
        out.print("  unchanged: every field reads the same in both views", highlight=False)
        return
    for change in result["changes"]:
        out.print(f"  {change['field']}: {_value(change['from'])} -> {_value(change['to'])}",
                  markup=False, highlight=False, soft_wrap=True)
        for cause in change["because"]:
            out.print(f"    {_cause_text(cause)}", markup=False, highlight=False,
                      soft_wrap=True)
            for rule in cause["rules"]:
                out.print(f"      {rule['rule'] or '-'}: {rule['says']}", markup=False,
                          highlight=False, soft_wrap=True)


def _cause_text(cause: dict[str, Any]) -> str:
    axis = f"[{cause['time']} time]"
    if cause["event"] is None and cause["type"] == "calendar":
        return f"{axis} the calendar, {cause['effective']}"
    text = (f"{axis} {cause['type']} {cause['event'] or '(no id)'} effective "
            f"{cause['effective']}, recorded {cause['recorded_at']}")
    if cause["voided"]:
        v = cause["voided"]
        text += f"; voids {v['type']} {v['event']} effective {v['effective']}"
    if cause.get("jointly"):
        text += " (jointly with the others listed)"
    return text


# --- changes ----------------------------------------------------------------------------------


def changed_employers(store: Any, since: datetime, until: datetime | None, as_of: date,
                      partner: str | None = None, tree_size: int | None = None,
                      ) -> tuple[int, list[dict[str, Any]]]:
    """How many employers events recorded in (since, until] touched, and the entries of
    those whose status on ``as_of`` reads differently as known at the two times. With
    ``tree_size``, only the first ``tree_size`` events of the log count, touching included:
    an employer touched only by events appended later was not touched then."""
    touched = 0
    entries = []
    for employer in store.touched(since, until, partner):
        events = store.stream(employer, tree_size)
        if tree_size is not None and not recorded_between(events, since, until):
            continue
        touched += 1
        result = diff(events, employer=employer, before=View(as_of, since),
                      after=View(as_of, until))
        if result["unchanged"]:
            continue
        entries.append(_entry(employer, result))
    return touched, entries


def changes_document(store: Any, since: datetime, until: datetime | None, as_of: date,
                     partner: str | None = None, tree_size: int | None = None,
                     ) -> dict[str, Any]:
    """The ``changes --json`` document (and ``GET /v1/changes``); with ``tree_size`` (the
    ledger's own axis), as the first ``tree_size`` events of the log read, which it names."""
    touched, entries = changed_employers(store, since, until, as_of, partner, tree_size)
    document = {"since": View(as_of, since).label()["known_at"],
                "until": View(as_of, until).label()["known_at"], "as_of": as_of.isoformat(),
                "partner": partner, "touched": touched, "changed": entries}
    if tree_size is not None:
        document["tree_size"] = tree_size
    return document


def changes_csv(entries: list[dict[str, Any]], day: date) -> str:
    """The ``changes --csv`` text (and ``GET /v1/changes`` as CSV): one row per employer
    that changed, through the one CSV writer, so an event id or other text a partner sent
    that starts like a formula opens as text."""
    return render_csv(CSV_COLUMNS, ({
        "employer": e["employer"], "partner": e["partner"], "as_of": day.isoformat(),
        "status_before": e["status_before"], "status_after": e["status_after"],
        "fields": ";".join(c["field"] for c in e["changes"]),
        "events": ";".join(e["events"])} for e in entries))


def _entry(employer: str, result: dict[str, Any]) -> dict[str, Any]:
    """One employer of ``changes``: the before, the after, the changes and their events."""
    causes: list[str] = []
    for change in result["changes"]:
        for cause in change["because"]:
            name = cause["event"] or f"{cause['type']}@{cause['effective']}"
            if name not in causes:
                causes.append(name)
    before, after = result["before"], result["after"]
    return {"employer": employer, "partner": after["partner"] or before["partner"],
            "status_before": before["status"], "status_after": after["status"],
            "before": before, "after": after, "changes": result["changes"], "events": causes}


@click.command()
@click.option("--since", callback=parse_known_at, required=True, metavar="KNOWN_AT",
              help="the earlier transaction time (e.g. the last report's)")
@click.option("--until", callback=parse_known_at, metavar="KNOWN_AT",
              help="the later transaction time (default: everything recorded)")
@click.option("--as-of", callback=parse_date, metavar="DATE",
              help="the date the status is for (default: today)")
@click.option("--partner", type=click.Choice(PARTNERS), help="only this partner's employers")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.option("--csv", "as_csv", is_flag=True, help="print one CSV row per employer")
@ledger_axis_options
def changes(since: datetime, until: datetime | None, as_of: date | None, partner: str | None,
            as_json: bool, as_csv: bool, ledger_at: datetime | None, tree_size: int | None,
            ) -> None:
    """Every employer whose status on a date reads differently as known at two times: the
    roll's changes since the last report, with the events that made each difference."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    try:
        check_interval(since, until)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--until'") from None
    day = as_of or _today()
    store = _session().store()
    document = changes_document(store, since, until, day, partner,
                                pinned_size(store, ledger_at, tree_size))
    entries = document["changed"]
    touched = document["touched"]
    if as_json:
        emit_json(document)
        return
    if as_csv:
        click.echo(changes_csv(entries, day), nl=False)
        return
    out = console()
    pinned = pinned_text(document.get("tree_size"))
    out.print(f"{len(entries)} of {touched} employers touched since "
              f"{document['since']} read differently on {day}{pinned}",
              markup=False, highlight=False, soft_wrap=True)
    for e in entries:
        fields = ", ".join(c["field"] for c in e["changes"])
        out.print(f"  {e['employer']}  {e['partner'] or '-'}  {e['status_before']} -> "
                  f"{e['status_after']}  ({fields}) because {', '.join(e['events'])}",
                  markup=False, highlight=False, soft_wrap=True)


COMMANDS = [diff_command, changes]
