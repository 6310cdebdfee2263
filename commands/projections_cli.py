"""``corledger projections rebuild|status`` and ``corledger roll``: operating the read models
and the regulator's roll call, answered from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from commands.catchup import catching_up
from commands.csvout import csv_options, write_csv
from commands.csvout import render as render_csv
from commands.names import registered_names
from commands.options import db_option
from commands.receipts import ledger_axis_options, pinned_size, pinned_text
from commands.session import console, emit_json, stderr
from commands.status_cli import check_reach, known_at_option, parse_date, partner_option
from commands.terminal import STATUS_STYLE, roll_table, styled
from ledger.codec import format_time_or_none
from projections.sql.projector import Progress, progress, rebuild
from projections.sql.queries import ROLL_FIELDS, roll_by_folding, roll_call
from projections.sql.revision import READ_MODEL_REVISION

if TYPE_CHECKING:
    from projections.sql.projector import OnProgress
    from storage.store import LedgerStore


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
    if now.stale:
        built = "before revisions were kept" if now.revision is None else (
            f"under revision {now.revision}")
        click.echo(f"slot {now.slot} was built by other code ({built}; this corledger's is "
                   f"{READ_MODEL_REVISION}): the next query, or `corledger projections "
                   "rebuild`, rebuilds it from the event log")
    for failure in now.failed:
        stderr.print(f"employer {failure.employer} could not be projected ({failure.error}): "
                     "its status is folded on demand; its lapse and roll rows are its last "
                     "good ones", highlight=False, markup=False)


def _progress_document(p: Progress) -> dict[str, Any]:
    return {"slot": p.slot, "position": p.position, "head": p.head, "lag": p.lag,
            "revision": p.revision, "stale": p.stale,
            "failed": [{"employer": f.employer, "error": f.error} for f in p.failed]}


@click.command()
@click.option("--as-of", callback=parse_date, metavar="DATE",
              help="the date of the roll call (default: today)")
@partner_option
@known_at_option
@ledger_axis_options
@csv_options("employer")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def roll(as_of: date | None, partner: str | None, known_at: datetime | None,
         ledger_at: datetime | None, tree_size: int | None, csv_file: str | None,
         force: bool, as_json: bool) -> None:
    """Every registered employer's status on a date: the regulator's list.

    With --known-at the list is replayed as the ledger knew it then (each employer's events
    folded, as a regulator checks a list published that day), with --ledger-at or
    --tree-size from the events the ledger then held; without them, it is answered from the
    read models.
    """
    if csv_file and as_json:
        raise click.UsageError("choose one of --csv and --json")
    as_of = as_of or _session().today()
    check_reach(as_of)
    store = _session().store()
    size = pinned_size(store, ledger_at, tree_size)
    with catching_up(stderr) as report:
        rows = roll_rows(store, as_of, partner, known_at, size, on_progress=report)
    if as_json:
        emit_json({"as_of": as_of.isoformat(), "partner": partner,
                   "known_at": format_time_or_none(known_at), "employers": rows})
        return
    if csv_file:
        write_csv(csv_file, ROLL_COLUMNS, rows, force)
        if csv_file != "-":
            stderr.print(styled(f"{csv_file}: {len(rows)} employers written"))
        return
    out = console()
    view = f" as known at {format_time_or_none(known_at)}" if known_at else ""
    who = f" of {partner}" if partner else ""
    out.print(styled((f"Roll call on {as_of}{view}{pinned_text(size)}: {len(rows)} "
                      f"registered employers{who}", "bold")))
    table = roll_table(("employer", "partner", "status", "expires", "next due",
                        "name, flags"))
    for r in rows:
        table.add_row(r["employer"], f"{r['partner']} {r['program']}",
                      styled((r["status"], STATUS_STYLE.get(r["status"], ""))),
                      r["certificate_expires"] or "-", r["next_due"] or "-",
                      _name_and_flags(r["name"], r["flags"]))
    if rows:
        out.print(table)


def _name_and_flags(name: str | None, flags: list[str]) -> Text:
    return styled(name or "", ("\n" + " ".join(flags), "yellow") if flags else None)


ROLL_COLUMNS = (*ROLL_FIELDS, "name")
"""The columns of the roll as CSV: ``roll --csv``'s and ``GET /v1/roll``'s."""


def roll_rows(store: LedgerStore, as_of: date, partner: str | None,
              known_at: datetime | None = None, tree_size: int | None = None,
              on_progress: OnProgress | None = None) -> list[dict[str, Any]]:
    """The roll's rows with their names, as ``roll --json`` and ``GET /v1/roll`` answer
    them: from the read models for the present, else by folding each employer's events as
    known at ``known_at`` among the first ``tree_size`` log entries."""
    if known_at is None and tree_size is None:
        rows = roll_call(store, as_of, partner, on_progress=on_progress)
    else:
        rows = roll_by_folding(store, as_of, partner, known_at, tree_size)
    return named_roll(store, rows, known_at, tree_size)


def named_roll(store: LedgerStore, rows: list[dict[str, Any]],
               known_at: datetime | None = None, tree_size: int | None = None,
               ) -> list[dict[str, Any]]:
    """The roll's rows, each with the name of its employer's standing registration (as
    known at ``known_at``, among the first ``tree_size`` log entries) after the id: what
    ``roll --json/--csv`` and ``GET /v1/roll`` answer."""
    names = registered_names(store, known_at, tree_size) if rows else {}
    return [{"employer": r["employer"], "name": names.get(r["employer"]),
             **{k: v for k, v in r.items() if k != "employer"}} for r in rows]


def write_roll_csv(rows: list[dict[str, Any]], stream: Any) -> None:
    """The roll as CSV (one row per employer, flags space-separated, rows of
    :func:`named_roll`): the CLI's and the API's, through the one CSV writer (formula cells
    neutralised)."""
    stream.write(render_csv(ROLL_COLUMNS, rows))


COMMANDS = [projections_group, roll]

for _sub in projections_group.commands.values():
    db_option(_sub)  # ``corledger projections rebuild --db URL`` as well as before the name
