"""The commands ``incentive`` (one employer's decision for a year) and ``incentives`` (every
employer's, for the regulator's payment run, with totals): read the store, decide, print.

An employer the ledger has never registered is answered, not refused: state
``not_applicable`` with a ``because`` saying so, exit code 0 (as ``status`` answers
``unregistered``); the human output also warns on stderr.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from commands.catchup import catching_up
from commands.csvout import csv_options, render, write_csv
from commands.receipts import current_size, ledger_axis_options, pinned_size, receipt
from commands.session import console, emit_json, stderr
from commands.status_cli import check_employer, parse_known_at, partner_option
from commands.terminal import LiteralConsole, styled
from ledger.codec import format_time_or_none
from projections.incentive import asked_on, summarize
from projections.incentive import incentive as decide
from projections.sql.payment_run import payment_run

if TYPE_CHECKING:
    from storage.store import LedgerStore

DECIDING = ("deciding incentives (employers)", "deciding the incentives of {total} employers")

CSV_COLUMNS = ("employer", "partner", "state", "amount", "payable_in", "minimum_applied",
               "formula", "floor", "discount_percent", "paid_total", "difference")

year_option = click.option("--year", type=click.IntRange(1900, 9999), required=True,
                           metavar="YEAR", help="the certification year")
known_at_option = click.option("--known-at", callback=parse_known_at, metavar="DATETIME",
                               help="only what the ledger knew at this time (ISO date-time; "
                                    "a bare date is the end of that UTC day)")


def _store() -> Any:
    return click.get_current_context().obj.store()


def _asked_on(known_at: datetime | None) -> date:
    """The day the question is asked (see :func:`projections.incentive.asked_on`)."""
    return asked_on(click.get_current_context().obj.today(), known_at)


def incentive_document(store: LedgerStore, employer: str, year: int,
                       known_at: datetime | None, asked: date,
                       tree_size: int | None = None) -> dict[str, Any]:
    """The ``incentive --json`` document, its receipt included, of the first ``tree_size``
    log entries (default: the whole log), asked on ``asked``: the CLI's and the API's."""
    size = current_size(store) if tree_size is None else tree_size
    doc = decide(store.stream(employer, size), store.reference(size), year=year,
                 employer=employer, known_at=known_at, asked_on=asked)
    return {**doc, "receipt": receipt(store, size, doc["because"])}


@click.command()
@click.argument("employer", callback=check_employer)
@year_option
@known_at_option
@ledger_axis_options
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def incentive(employer: str, year: int, known_at: datetime | None, ledger_at: datetime | None,
              tree_size: int | None, as_json: bool) -> None:
    """Incentive eligibility and amount of EMPLOYER for a certification year."""
    doc = incentive_document(_store(), employer, year, known_at, _asked_on(known_at),
                             pinned_size(_store(), ledger_at, tree_size))
    if as_json:
        emit_json(doc)
        return
    if doc["partner"] is None:
        stderr.print(styled(f"{employer}: not registered in this ledger"))
    _print_decision(doc)


@click.command()
@year_option
@partner_option
@known_at_option
@ledger_axis_options
@csv_options("employer")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def incentives(year: int, partner: str | None, known_at: datetime | None,
               ledger_at: datetime | None, tree_size: int | None, csv_file: str | None,
               force: bool, as_json: bool) -> None:
    """Every employer's incentive decision for a year (the payment run), with totals."""
    if csv_file is not None and as_json:
        raise click.UsageError("choose one of --csv and --json")
    store = _store()
    size = pinned_size(store, ledger_at, tree_size)
    with catching_up(stderr, DECIDING) as report:
        docs = payment_run(store, store.employers(), year, known_at=known_at,
                           asked_on=_asked_on(known_at), tree_size=size, workers=None,
                           on_progress=report)
    docs = [doc for doc in docs if partner is None or doc["partner"] == partner]
    totals = summarize(docs)
    if as_json:
        emit_json({"year": year, "partner": partner,
                   "known_at": format_time_or_none(known_at),
                   "decisions": docs, "totals": totals})
        return
    if csv_file is not None:
        write_csv(csv_file, CSV_COLUMNS, docs, force)
        if csv_file != "-":
            stderr.print(styled(f"{csv_file}: {len(docs)} employers written"))
            _print_totals(stderr, totals)
        return
    out = console()
    table = Table("employer", "partner", "state", "amount", "payable", "minimum",
                  "paid", "difference", title=f"Incentives for {year}")
    for doc in docs:
        table.add_row(doc["employer"], doc["partner"], doc["state"],
                      doc["amount"] or doc["discount_percent"] and
                      f"{doc['discount_percent']}%" or "-",
                      str(doc["payable_in"] or "-"), "yes" if doc["minimum_applied"] else "",
                      doc["paid_total"], doc["difference"] or "-")
    out.print(table)
    _print_totals(out, totals)


def incentives_csv(docs: list[dict[str, Any]]) -> str:
    """The payment run as CSV, one row per employer (the CLI's columns, the one CSV writer):
    what the HTTP API serves too."""
    return render(CSV_COLUMNS, docs)


def _print_totals(out: LiteralConsole, totals: dict[str, Any]) -> None:
    states = ", ".join(f"{n} {state}" for state, n in totals["by_state"].items())
    undecided = totals["paid_undecided"]
    of_it = "" if Decimal(undecided) == 0 else \
        f" ({undecided} of it to employers not yet decided)"
    out.print(styled(f"{totals['employers']} employers: {states}; amount {totals['amount']}, "
                     f"paid {totals['paid']}{of_it}, difference {totals['difference']}"))


def _print_decision(doc: dict[str, Any]) -> None:
    out = console()
    head = ""
    if doc["amount"] is not None:
        head += f", {doc['amount']} payable in {doc['payable_in']}"
        if doc["minimum_applied"]:
            head += " (the minimum)"
    if doc["discount_percent"] is not None:
        head += f", PIR discount {doc['discount_percent']}%"
    out.print(styled((doc["employer"], "bold"), f" {doc['year']}: ", (doc["state"], "bold"),
                     head))
    for item in doc.get("outstanding", []):
        out.print(styled(f"  outstanding: {item}"))
    if doc["by_cu"]:
        table = Table("CU", "in scope", "payroll", "base rate", "base premium",
                      "premiums paid", "amount")
        for row in doc["by_cu"]:
            table.add_row(row["cu"], "yes" if row["in_scope"] else "no",
                          row["assessable_payroll"] or "-", row["base_rate"] or "-",
                          row["base_premium"] or "-", row["premiums_paid"],
                          row["amount"] or "-")
        out.print(table)
    if doc["paid"]:
        out.print(styled(f"  paid {doc['paid_total']} in {len(doc['paid'])} payment(s); "
                         f"difference {doc['difference'] or '-'}"))
    for b in doc["because"]:
        out.print(styled((f"  {b['effective']} {b['rule'] or '-'}: {b['says']}", "dim")))


COMMANDS = [incentive, incentives]
