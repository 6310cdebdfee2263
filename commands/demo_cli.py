"""``corledger demo``: import the bundled sample ledger and show where every employer stands."""

from __future__ import annotations

from importlib import resources

import click
from rich import box
from rich.table import Table

from commands.import_cli import run_import
from commands.session import Session, console
from projections.status import status

STATUS_STYLE = {"certified": "green", "registered": "yellow", "cancelled": "red",
                "expired": "red", "revoked": "bold red", "unregistered": "dim"}

SHORT_KIND = {"certification": "certification", "recertification": "recert.",
              "maintenance": "maintenance", "limited_scope": "limited scope"}


@click.command()
@click.pass_obj
def demo(session: Session) -> None:
    """Import the bundled sample ledger (a few dozen employers) and show the roll for today."""
    store = session.store()
    sample = resources.files("commands") / "sample" / "demo.jsonl"
    with sample.open("rb") as stream:
        result = run_import(session, store, stream, None, "sample ledger")
    today = session.today()
    out = console()
    out.print(f"Imported the sample ledger into {store.url.render_as_string(hide_password=True)}"
              f": {result.added} events added, {result.skipped} already there.")
    table = Table(title=f"Where every employer stands on {today}", box=box.SIMPLE_HEAD,
                  pad_edge=False, padding=(0, 1))
    for column in ("employer", "partner", "program", "status", "expires", "next audit", "due"):
        table.add_column(column, no_wrap=True)
    table.add_column("flags", overflow="fold")
    for employer in store.employers():
        doc = status(store.stream(employer), as_of=today, employer=employer)
        cert, nxt = doc["certificate"], doc["next_audit"] or {}
        table.add_row(
            employer, doc["partner"], doc["program"] or "",
            f"[{STATUS_STYLE.get(doc['status'], '')}]{doc['status']}[/]",
            cert["expires"] if cert else "", SHORT_KIND.get(nxt.get("kind", ""), ""),
            nxt.get("due") or "",
            " ".join(doc["flags"]))
    out.print(table)
    out.print("Next: [bold]corledger explain EMPLOYER[/], [bold]corledger lapses[/], "
              "[bold]corledger history EMPLOYER[/] (see the README).")


COMMANDS = [demo]
