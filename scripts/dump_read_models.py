"""Dump the live read-model tables of a database, one sorted line per row, to compare runs.

    python -m scripts.dump_read_models --db sqlite:///x.db > before.txt

A change to the fold or the projector must leave these lines identical (``diff`` or
``sha256sum`` two dumps of the same ledger, before and after). ``log_position`` is left out of
the status rows: it records when a row was projected, not what it says.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select

from projections.sql.projector import ensure_schema, live_slot
from projections.sql.read_models import slot_tables
from storage.engine import engine_for


def dump(url: str) -> list[str]:
    """Every row of the live status and lapse tables as text, sorted."""
    engine = engine_for(url)
    ensure_schema(engine)
    lines: list[str] = []
    with engine.connect() as conn:
        slot, _ = live_slot(conn)
        for table in slot_tables(slot):
            columns = [c for c in table.c if c.name != "log_position"]
            for row in conn.execute(select(*columns)):
                lines.append(f"{table.name[:-2]}\t" + "\t".join(
                    "" if v is None else str(v) for v in row))
    return sorted(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="database URL")
    args = parser.parse_args(argv)
    sys.stdout.writelines(line + "\n" for line in dump(args.db))


if __name__ == "__main__":
    main()
