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

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from commands.csvout import csv_options, write_csv
from commands.options import MAX_WITHIN_DAYS, read_known_at
from commands.options import check_reach as reach
from commands.receipts import current_size, ledger_axis_options, pinned_size, receipt
from commands.session import console, emit_json, stderr
from commands.terminal import styled
from ledger.events import PARTNERS
from ledger.ids import EMPLOYER_ID

if TYPE_CHECKING:
    from ledger.events import LedgerEvent
    from projections.sql.projector import OnProgress
    from storage.store import LedgerStore

# A command imports what only it needs when it runs (see commands.cli: lazy loading): the
# quick read-model status never loads SQLAlchemy, the folds or the store.


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
    """An ISO date-time (offset optional, UTC assumed); a bare date is the end of that day
    (:func:`commands.options.read_known_at`, the rule the HTTP API reads it by too)."""
    if value is None:
        return None
    try:
        return read_known_at(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


as_of_option = click.option("--as-of", callback=parse_date, metavar="DATE",
                            help="the date the status is for (default: today)")
known_at_option = click.option("--known-at", callback=parse_known_at, metavar="DATETIME",
                               help="only what the ledger knew at this time")
partner_option = click.option("--partner", type=click.Choice(PARTNERS, case_sensitive=False),
                              metavar="PARTNER",
                              help=f"only this partner's employers ({', '.join(PARTNERS)})")


def check_employer(_ctx: click.Context | None, param: click.Parameter | None,
                   value: str) -> str:
    """An EMPLOYER argument in the one id format; anything else is refused, not answered
    ``unregistered`` (a leading space or a lookalike letter would name no one)."""
    if not EMPLOYER_ID.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not an employer id: 1 to 64 ASCII letters, digits, '.', '_' or "
            "'-', starting and ending with a letter or digit", param=param)
    return value


def check_reach(as_of: date, within: int = 0) -> None:
    """Refuses an as-of date whose window (and what a fold looks at around it) leaves the
    calendar's years 1 to 9999 (:func:`commands.options.check_reach`, the rule the HTTP
    API's parameters follow too), in one line rather than an overflow."""
    try:
        reach(as_of, within)
    except ValueError as exc:
        raise click.ClickException(f"--as-of {exc}") from None


def employer_argument(command: Any) -> Any:
    """The EMPLOYER argument, checked by :func:`check_employer`."""
    return click.argument("employer", callback=check_employer)(command)


def _as_of(as_of: date | None, within: int = 0) -> date:
    day = as_of or _today()
    check_reach(day, within)
    return day


@click.command()
@employer_argument
@as_of_option
@known_at_option
@ledger_axis_options
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def status(employer: str, as_of: date | None, known_at: datetime | None,
           ledger_at: datetime | None, tree_size: int | None, as_json: bool) -> None:
    """Certification status of EMPLOYER on a date, as known at a time."""
    if known_at is None and ledger_at is None and tree_size is None:
        from commands.receipts import log_receipt
        from projections.sql.quick import quick_status

        quick = quick_status(_session().db_url, employer, lambda: _as_of(as_of),
                             name=not as_json, receipt=log_receipt if as_json else None)
        if quick is not None:  # the read models were current: answered without the store
            if as_json:
                emit_json({**quick.document, "receipt": quick.receipt})
            else:
                _print_status(quick.document, quick.name)
            return
    from commands.catchup import catching_up
    from commands.names import name_in
    from projections.sql.queries import status_stream

    store = _session().store()
    size = pinned_size(store, ledger_at, tree_size)
    with catching_up() as report:
        doc, events = status_document(store, employer, _as_of(as_of), known_at, size,
                                      on_progress=report)
    if as_json:
        emit_json(doc)
        return
    _print_status(doc, name_in(events if events is not None
                               else status_stream(store, employer), known_at)
                  if doc["partner"] else None)


def status_document(store: LedgerStore, employer: str, as_of: date,
                    known_at: datetime | None, tree_size: int | None = None,
                    on_progress: OnProgress | None = None,
                    ) -> tuple[dict[str, Any], list[LedgerEvent] | None]:
    """The ``status --json`` document, its receipt included, of the first ``tree_size`` log
    entries (default: the whole log; known now, from the read models): the CLI's and the
    API's. Also the employer's events when they were read for it (else None)."""
    from projections.sql.queries import status_from_read_model, status_stream
    from projections.status import render
    from projections.timeline import fold

    def folded(events: list[LedgerEvent], at: datetime | None) -> dict[str, Any]:
        return render(fold(events, as_of=as_of, known_at=at, employer=employer))

    size = tree_size
    events: list[LedgerEvent] | None = None  # what a status fold reads, when read here anyway
    if known_at is None and size is None:
        before = current_size(store)
        doc = status_from_read_model(store, employer, as_of, on_progress=on_progress)
        size = current_size(store)
        if size != before:  # a write landed meanwhile: answer from exactly `size` events
            doc = folded(status_stream(store, employer, size), None)
    elif size is None:
        size = current_size(store)
        events = status_stream(store, employer, size)
        doc = folded(events, known_at)
    else:
        doc = folded(status_stream(store, employer, size), known_at)
    return {**doc, "receipt": receipt(store, size, doc["because"])}, events


def _print_status(doc: dict[str, Any], name: str | None) -> None:
    """The status document as ``status`` prints it to read."""
    out = console()
    view = (f" (as the ledger knew it at {doc['known_at']}: later records are not counted)"
            if doc["known_at"] else "")
    out.print(styled((doc["employer"], "bold"), f" ({name})" if name else None, ": ",
                     (doc["status"], "bold"), f" on {doc['as_of']}", view))
    if doc["certificate"]:
        c = doc["certificate"]
        out.print(styled(f"  certificate issued {c['issued']}, expires {c['expires']}, "
                         f"cycle year {c['cycle_year']}"))
    if doc["next_audit"]:
        n = doc["next_audit"]
        out.print(styled(f"  next audit: {n['kind']}, due {n['due'] or '-'}, "
                         f"auditor {n['auditor']}"))
    if doc["flags"]:
        out.print(styled(f"  flags: {', '.join(doc['flags'])}"))
    for b in doc["because"][-3:]:
        out.print(styled((f"  {b['effective']} {b['rule']}: {b['says']}", "dim")))


def explained(store: LedgerStore, employer: str, as_of: date, known_at: datetime | None,
              tree_size: int | None = None) -> dict[str, Any]:
    """The ``explain --json`` document (the account and its receipt) of the first
    ``tree_size`` log entries (default: the whole log): the CLI's and the API's."""
    from commands.explain import account
    from projections.timeline import fold

    size = current_size(store) if tree_size is None else tree_size
    events = store.stream(employer, size)
    timeline = fold(events, as_of=as_of, known_at=known_at, employer=employer)
    document = account(timeline, events)
    document["receipt"] = receipt(store, size, document["status"]["because"])
    return document


@click.command()
@employer_argument
@as_of_option
@known_at_option
@ledger_axis_options
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def explain(employer: str, as_of: date | None, known_at: datetime | None,
            ledger_at: datetime | None, tree_size: int | None, as_json: bool) -> None:
    """The status of EMPLOYER and everything behind it: flags, certificates, audits, voids,
    revocations and every decision with its rule, to read (or as JSON), with the receipt of
    the log it was computed from."""
    from commands.explain import render_account
    from commands.receipts import receipt_lines

    store = _session().store()
    document = explained(store, employer, _as_of(as_of), known_at,
                         pinned_size(store, ledger_at, tree_size))
    if as_json:
        emit_json(document)
        return
    out = console()
    out.print(render_account(document))
    for text in receipt_lines(document["receipt"]):
        out.print(styled(text))


LAPSE_COLUMNS = ("employer", "name", "partner", "status", "due", "days_left", "level",
                 "reasons", "grace_end")
"""The columns of the lapses as CSV: ``lapses --csv``'s and ``GET /v1/lapses``'s."""


def named_lapses(store: LedgerStore, entries: list[dict[str, Any]],
                 known_at: datetime | None = None, tree_size: int | None = None,
                 ) -> list[dict[str, Any]]:
    """The lapse entries as the CSV's rows (:data:`LAPSE_COLUMNS`): each with the name of
    its employer's standing registration (as known at ``known_at``, among the first
    ``tree_size`` log entries)."""
    from commands.names import registered_names

    names = registered_names(store, known_at, tree_size) if entries else {}
    return [{**e, "name": names.get(e["employer"])} for e in entries]


def lapse_entries(store: LedgerStore, day: date, within: int, partner: str | None,
                  known_at: datetime | None = None, tree_size: int | None = None,
                  on_progress: OnProgress | None = None) -> list[dict[str, Any]]:
    """The ``lapses --json`` entries (and ``GET /v1/lapses``'): from the read models for the
    present, else by folding each employer's events as known at ``known_at`` among the
    first ``tree_size`` log entries (the read models hold only the present)."""
    from projections.lapses import lapses as fold_lapses
    from projections.sql.queries import lapses_from_read_model, status_stream

    if known_at is None and tree_size is None:
        return lapses_from_read_model(store, day, within, partner, on_progress=on_progress)
    return [e for e in fold_lapses((status_stream(store, e, tree_size)
                                    for e in store.employers()), day, within, known_at)
            if partner is None or e["partner"] == partner]


@click.command()
@as_of_option
@click.option("--within", type=click.IntRange(0, MAX_WITHIN_DAYS), default=90,
              show_default=True, metavar="DAYS",
              help="how many days ahead (and back, for missed ones)")
@partner_option
@known_at_option
@ledger_axis_options
@csv_options("employer")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def lapses(as_of: date | None, within: int, partner: str | None, known_at: datetime | None,
           ledger_at: datetime | None, tree_size: int | None, csv_file: str | None,
           force: bool, as_json: bool) -> None:
    """Employers whose next required audit falls due within DAYS, or was missed."""
    from commands.catchup import catching_up
    from commands.names import registered_names
    from commands.receipts import pinned_text
    from ledger.codec import format_time_or_none

    if csv_file is not None and as_json:
        raise click.UsageError("choose one of --csv and --json")
    day = _as_of(as_of, within)
    store = _session().store()
    size = pinned_size(store, ledger_at, tree_size)
    with catching_up() as report:
        entries = lapse_entries(store, day, within, partner, known_at, size,
                                on_progress=report)
    if as_json:
        emit_json(entries)
        return
    if csv_file is not None:
        write_csv(csv_file, LAPSE_COLUMNS, named_lapses(store, entries, known_at, size), force)
        if csv_file != "-":
            stderr.print(styled(f"{csv_file}: {len(entries)} employers written"))
        return
    names = registered_names(store, known_at, size) if entries else {}
    out = console()
    view = f", as known at {format_time_or_none(known_at)}" if known_at else ""
    out.print(styled((f"Due or missed within {within} days of {day}{view}{pinned_text(size)}: "
                      f"{len(entries)} employers", "bold")))
    for e in entries:
        extra = f" ({', '.join(e['reasons'])})" if e["reasons"] else ""
        out.print(styled((f"{e['level']:>8}", LEVEL_STYLE.get(e["level"], "")),
                         f"  {e['employer']} ", (names.get(e["employer"], ""), "dim"),
                         f"  {e['partner']}  {e['status']}  due {e['due']}  "
                         f"{e['days_left']:+d} days{extra}"))


LEVEL_STYLE = {"missed": "bold red", "critical": "red", "warning": "yellow", "notice": ""}


COMMANDS = [status, explain, lapses]

