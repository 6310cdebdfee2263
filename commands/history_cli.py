"""The ``history`` command: every event of an employer, in the order the ledger got them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from commands.csvout import csv_options, write_csv
from commands.receipts import ledger_axis_options, pinned_size
from commands.session import Session, console, emit_json, stderr
from commands.status_cli import check_employer
from commands.terminal import styled
from ledger.codec import event_to_state

HISTORY_COLUMNS = ("position", "type", "id", "effective", "recorded_at", "by", "data")


@click.command()
@click.argument("employer", callback=check_employer)
@csv_options("event")
@ledger_axis_options
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_obj
def history(session: Session, employer: str, csv_file: str | None, force: bool,
            ledger_at: datetime | None, tree_size: int | None, as_json: bool) -> None:
    """Every event of an employer, in the order the ledger received them, with both times."""
    if csv_file is not None and as_json:
        raise click.UsageError("choose one of --csv and --json")
    store = session.store()
    events = store.stream(employer, pinned_size(store, ledger_at, tree_size))
    rows = [{"position": e.originator_version, "type": type(e).__name__, **event_to_state(e)}
            for e in events]
    if as_json:
        emit_json({"employer": employer, "events": rows})
        return
    if csv_file is not None:
        write_csv(csv_file, HISTORY_COLUMNS, ({**row, "data": _details(row["data"])}
                                             for row in rows), force)
        if csv_file != "-":
            stderr.print(styled(f"{csv_file}: {len(rows)} events written"))
        return
    if not rows:
        stderr.print(styled(f"{employer}: no events in this ledger (never registered)"))
        return
    out = console()
    out.print(styled((f"History of {employer}", "bold"),
                     f": {len(rows)} events, in the order received"))
    for row in rows:
        recorded = row["recorded_at"][:19] + "Z"
        out.print(styled((f"{row['position']:>4}", "bold"), f"  {row['effective']}  ",
                         (row["type"], "cyan"), f"  id={row['id'] or '-'}  recorded "
                         f"{recorded}  by {row['by'] or '-'}"))
        out.print(styled(("      " + _details(row["data"]), "dim")))


def _details(data: dict[str, Any]) -> str:
    return "  ".join(f"{k}={_plain(v)}" for k, v in data.items() if v is not None)


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


COMMANDS = [history]
