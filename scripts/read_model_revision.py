"""What the read models of this code hold, per revision: check or record the golden record.

    python -m scripts.read_model_revision            # compare with tests/golden/...json
    python -m scripts.read_model_revision --record   # add the entry of a new revision

The record keeps, for each :data:`projections.sql.revision.READ_MODEL_REVISION`, the rules'
fingerprint and a SHA-256 of every read-model row the bundled demo ledger projects to. If
either moves while the revision stays, rows built by the previous code would be served as
current after an upgrade: bump the revision, then ``--record``. An entry once recorded is
never rewritten.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from sqlalchemy import select

from ledger.rulebooks import RULES
from projections.sql.projector import engine_of, live_slot, rebuild
from projections.sql.read_models import slot_tables
from projections.sql.revision import READ_MODEL_REVISION
from storage.store import open_store

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden" / "read_model_revisions.json"


def demo_rows_digest() -> str:
    """SHA-256 of the live read-model rows (``log_position`` left out: it says when a row
    was projected, not what it holds) of the demo ledger, imported by the real command and
    rebuilt, one sorted line per row."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        sample = resources.files("commands") / "sample" / "demo.jsonl"
        with resources.as_file(sample) as path:
            subprocess.run([sys.executable, "-m", "commands", "--db", url, "import", str(path)],
                           check=True, capture_output=True)
        store = open_store(url)
        try:
            rebuild(store, workers=1)
            lines = []
            with engine_of(store).connect() as conn:
                slot, _ = live_slot(conn)
                for table in slot_tables(slot):
                    columns = [c for c in table.c if c.name != "log_position"]
                    lines += [f"{table.name[:-2]}\t" + "\t".join(
                        "" if v is None else str(v) for v in row)
                        for row in conn.execute(select(*columns))]
        finally:
            store.close()
            engine_of(store).dispose()
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def current() -> dict[str, str]:
    """This code's entry: the rules' fingerprint and the demo rows' digest."""
    return {"rules": RULES.fingerprint(), "demo_rows": demo_rows_digest()}


def recorded() -> dict[str, dict[str, str]]:
    """The golden record, by revision (as a string)."""
    return dict(json.loads(GOLDEN.read_text())) if GOLDEN.exists() else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--record", action="store_true",
                        help="add this revision's entry to the golden record")
    args = parser.parse_args(argv)
    golden, now, key = recorded(), current(), str(READ_MODEL_REVISION)
    if golden.get(key) == now:
        print(f"revision {key}: matches the golden record")
        return 0
    if key in golden:
        print(f"revision {key} is recorded with other rules or rows: the read models this "
              "code builds differ from that revision's; bump READ_MODEL_REVISION in "
              "projections/sql/revision.py, then run with --record", file=sys.stderr)
        return 1
    if not args.record:
        print(f"revision {key} is not recorded yet: run with --record", file=sys.stderr)
        return 1
    golden[key] = now
    GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n")
    print(f"revision {key}: recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
