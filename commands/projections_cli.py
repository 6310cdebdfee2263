"""``corledger projections rebuild|status`` and ``corledger roll``: operating the read models
and the regulator's roll call, answered from them."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from commands.catchup import catching_up
from commands.session import console, db_option, emit_json
from commands.status_cli import parse_date
from projections.sql.projector import Progress, progress, rebuild
from projections.sql.queries import ROLL_FIELDS, roll_call

stderr = Console(stderr=True)


def _session() -> Any:
    return click.get_current_context().obj


@click.group("projections")
def projections_group() -> None:
    """The read models behind status, lapses and roll: position, lag, rebuild."""


@projections_group.command("rebuild")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="processes folding employers (default: one per CPU)")
@click.option("--json", "as_json", is_flag=True, help="print the outcome as JSON")
def rebuild_command(workers: int | None, as_json: bool) -> None:
    """Rebuild the read models from scratch (queries keep answering meanwhile)."""
    store = _session().store()
    if stderr.is_terminal and not as_json:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import (
            Progress as Bar,
        )

        with Bar("[progress.description]{task.description}", BarColumn(),
                 MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                 console=stderr, transient=True) as bar:
            task = bar.add_task("folding employers", total=None)

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            outcome = rebuild(store, on_progress=on_progress, workers=workers)
    else:
        outcome = rebuild(store, workers=workers)
    if as_json:
        emit_json(_progress_document(outcome))
    else:
        click.echo(f"read models rebuilt into slot {outcome.slot}, now live at position "
                   f"{outcome.position} (head {outcome.head})")


@projections_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def status_command(as_json: bool) -> None:
    """Where the read models stand: their position, the head of the event log, the lag."""
    now = progress(_session().store())
    if as_json:
        emit_json(_progress_document(now))
        return
    click.echo(f"slot {now.slot}: position {now.position}, head {now.head}, lag {now.lag} "
               f"event{'s' if now.lag != 1 else ''}")
    for failure in now.failed:
        stderr.print(f"employer {failure.employer} could not be projected ({failure.error}): "
                     "its status is folded on demand; its lapse and roll rows are its last "
                     "good ones", highlight=False, markup=False)


def _progress_document(p: Progress) -> dict[str, Any]:
    return {"slot": p.slot, "position": p.position, "head": p.head, "lag": p.lag,
            "failed": [{"employer": f.employer, "error": f.error} for f in p.failed]}


@click.command()
@click.option("--as-of", callback=parse_date, metavar="DATE",
              help="the date of the roll call (default: today)")
@click.option("--partner", metavar="P", help="only the employers of this partner")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, allow_dash=True),
              metavar="FILE", help="write CSV to FILE (- for stdout)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def roll(as_of: date | None, partner: str | None, csv_file: str | None,
         as_json: bool) -> None:
    """Every registered employer's status on a date: the regulator's list."""
    if csv_file and as_json:
        raise click.UsageError("choose one of --csv and --json")
    as_of = as_of or _session().today()
    with catching_up(stderr) as report:
        rows = roll_call(_session().store(), as_of, partner, on_progress=report)
    if as_json:
        emit_json({"as_of": as_of.isoformat(), "partner": partner, "employers": rows})
        return
    if csv_file:
        _write_csv(rows, csv_file)
        return
    out = console()
    for r in rows:
        cert = (f"{r['certificate_issued']} to {r['certificate_expires']}"
                if r["certificate_issued"] else "-")
        out.print(f"{r['employer']}  {r['partner']}  {r['program']}  {r['status']}  "
                  f"certificate {cert}  next due {r['next_due'] or '-'}", highlight=False)
    stderr.print(f"{len(rows)} employers on {as_of}")


def write_roll_csv(rows: list[dict[str, Any]], stream: Any) -> None:
    """The roll as CSV (one row per employer, flags space-separated): the CLI's and the API's."""
    writer = csv.DictWriter(stream, fieldnames=ROLL_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "flags": " ".join(r["flags"])})


def _write_csv(rows: list[dict[str, Any]], target: str) -> None:
    def write(stream: Any) -> None:
        write_roll_csv(rows, stream)

    if target == "-":
        write(sys.stdout)
        return
    with Path(target).open("w", newline="") as stream:
        write(stream)


COMMANDS = [projections_group, roll]

for _sub in projections_group.commands.values():
    db_option(_sub)  # ``corledger projections rebuild --db URL`` as well as before the name
