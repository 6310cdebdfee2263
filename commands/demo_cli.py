"""``corledger demo``: import the bundled sample ledger and show where every employer stands."""

from __future__ import annotations

from importlib import resources

import click

from commands.import_cli import run_import
from commands.session import Session, console
from commands.terminal import STATUS_STYLE, roll_table, styled
from projections.status import status

SHORT_KIND = {"certification": "cert.", "recertification": "recert.",
              "maintenance": "maint.", "limited_scope": "limited"}


@click.command()
@click.pass_obj
def demo(session: Session) -> None:
    """Import the bundled sample ledger (a few dozen employers) and show the roll for today."""
    store = session.store(create=True)
    sample = resources.files("commands") / "sample" / "demo.jsonl"
    with sample.open("rb") as stream:
        result = run_import(session, store, stream, None, "sample ledger")
    today = session.today()
    out = console()
    out.print(styled(f"Imported the sample ledger into "
                     f"{store.url.render_as_string(hide_password=True)}: {result.added} "
                     f"events added, {result.skipped} already there."))
    table = roll_table(("employer", "partner", "status", "expires", "next audit", "due",
                        "flags"), title=f"Where every employer stands on {today}")
    for employer in store.employers():
        doc = status(store.stream(employer), as_of=today, employer=employer)
        cert, nxt = doc["certificate"], doc["next_audit"] or {}
        table.add_row(
            employer, doc["partner"],
            styled((doc["status"], STATUS_STYLE.get(doc["status"], ""))),
            cert["expires"] if cert else "", SHORT_KIND.get(nxt.get("kind", ""), ""),
            nxt.get("due") or "", " ".join(doc["flags"]))
    out.print(table)
    out.print(styled("Next: ", ("corledger explain EMPLOYER", "bold"), ", ",
                     ("corledger lapses", "bold"), ", ", ("corledger history EMPLOYER", "bold"),
                     " (see the README)."))


COMMANDS = [demo]
