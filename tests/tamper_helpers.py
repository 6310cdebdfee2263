"""Direct SQL on a ledger database, behind the application's back, as an attacker would do it;
and a small signed ledger to tamper with."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg
from sqlalchemy.engine import make_url

from ledger.merkle import TreeBuilder, entry_bytes, leaf_hash
from storage.log import STORED_LEVEL, pack, unpack
from storage.postgres import connection_settings
from tests.conftest import Cli, audit, line, registration


@contextmanager
def raw_connection(db_url: str) -> Iterator[Raw]:
    """A :class:`Raw` connection to the ledger's database, closed after use."""
    connection = Raw(db_url)
    try:
        yield connection
    finally:
        connection.close()


class Raw:
    """One autocommit connection to the ledger's database, with ``?`` placeholders."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.pg = parsed.get_backend_name() != "sqlite"
        if self.pg:
            settings = connection_settings(parsed)
            if not settings["password"]:
                del settings["password"]
            self.conn: Any = psycopg.connect(autocommit=True, **settings)
            self.order, self.stream = "notification_id", "replace(originator_id::text, '-', '')"
            self.param = "?::uuid"
        else:
            self.conn = sqlite3.connect(str(parsed.database), isolation_level=None)
            self.order, self.stream, self.param = "rowid", "originator_id", "?"

    def q(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.pg:
            query = query.replace("?", "%s")
        cursor = self.conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []

    def events(self) -> list[tuple[str, int, str, bytes]]:
        """(stream hex, version, topic, state) of every stored event, in append order."""
        return [(s, int(v), t, bytes(b)) for s, v, t, b in self.q(
            f"SELECT {self.stream}, originator_version, topic, state FROM stored_events"
            f" ORDER BY {self.order}")]

    def set_state(self, stream: str, version: int, state: bytes) -> None:
        self.q(f"UPDATE stored_events SET state = ? WHERE originator_id = {self.param}"
               " AND originator_version = ?", (state, stream, version))

    def edit(self, position: int, change: Any) -> dict[str, Any]:
        """Edits the JSON state of the event at a position; returns the edited document."""
        stream, version, _, state = self.events()[position]
        doc = orjson.loads(state)
        change(doc)
        self.set_state(stream, version, orjson.dumps(doc))
        return doc

    def delete(self, position: int) -> tuple[str, int, str, bytes]:
        row = self.events()[position]
        self.q(f"DELETE FROM stored_events WHERE originator_id = {self.param}"
               " AND originator_version = ?", (row[0], row[1]))
        return row

    def insert(self, stream: str, version: int, topic: str, state: bytes) -> None:
        self.q(f"INSERT INTO stored_events (originator_id, originator_version, topic, state)"
               f" VALUES ({self.param}, ?, ?, ?)", (stream, version, topic, state))

    def swap(self, a: int, b: int) -> None:
        """Swaps the contents of two event rows (so their append order swaps)."""
        rows = self.events()
        (sa, va, ta, ba), (sb, vb, tb, bb) = rows[a], rows[b]
        where = f" WHERE originator_id = {self.param} AND originator_version = ?"
        self.q("UPDATE stored_events SET originator_version = -1" + where, (sa, va))
        self.q(f"UPDATE stored_events SET originator_id = {self.param},"
               " originator_version = ?, topic = ?, state = ?" + where,
               (sa, va, ta, ba, sb, vb))
        self.q(f"UPDATE stored_events SET originator_id = {self.param},"
               " originator_version = ?, topic = ?, state = ?" + where,
               (sb, vb, tb, bb, sa, -1))

    def rewrite_log(self) -> None:
        """Recomputes the whole log from the events as they now are: leaves, nodes, heads."""
        builder = TreeBuilder()
        roots: dict[int, bytes] = {}
        leaves, refs = [], []
        self.q("DELETE FROM ledger_log_nodes")
        for stream, version, topic, state in self.events():
            leaf = leaf_hash(entry_bytes(topic, stream, version, state))
            leaves.append(leaf)
            refs.append((stream, version))
            for level, index, digest in builder.append(leaf):
                if level >= STORED_LEVEL:
                    self.q("INSERT INTO ledger_log_nodes (level, idx, hash) VALUES (?, ?, ?)",
                           (level, index, digest))
            roots[builder.size] = builder.root()
        self.write_log(list(zip(range(len(leaves)), [r[0] for r in refs],
                                [r[1] for r in refs], leaves, strict=True)))
        for (size,) in self.q("SELECT tree_size FROM ledger_log_heads"):
            self.q("UPDATE ledger_log_heads SET root = ? WHERE tree_size = ?",
                   (roots[int(size)], size))

    def log_entries(self) -> list[tuple[int, str, int, bytes]]:
        return [e for row in self.q("SELECT first_idx, entries, leaves, refs FROM ledger_log"
                                    " ORDER BY first_idx") for e in unpack(row)]

    def write_log(self, entries: list[tuple[int, str, int, bytes]]) -> None:
        """Replaces the log's rows by one row holding these entries."""
        self.q("DELETE FROM ledger_log")
        if entries:
            self.q("INSERT INTO ledger_log (first_idx, entries, leaves, refs) VALUES"
                   " (?, ?, ?, ?)", pack(entries[0][0], [e[3] for e in entries],
                                         [(e[1], e[2]) for e in entries]))

    def close(self) -> None:
        self.conn.close()


@dataclass
class SignedLedger:
    """A ledger of two imports, a checkpoint signed after each, and the key files."""

    cli: Cli
    private_key: Path
    public_key: Path
    checkpoints: list[Path]

    def verify(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.cli("verify", "--public-key", str(self.public_key), "--json", *args)
        return result.exit_code, orjson.loads(result.stdout)

    def sign(self, name: str) -> Path:
        out = self.cli.tmp_path / name
        result = self.cli("checkpoint", "--key", str(self.private_key), "-o", str(out))
        assert result.exit_code == 0, result.output
        return out


def first_batch() -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [
        line("BaseRateSet", None, "2020-01-01", {"jurisdiction": "BC", "cu": "G100",
                                                 "year": 2020, "base_rate": "4.00"},
             id="rate-2020")]
    for n in range(1, 6):
        lines += [registration(f"E-{n}"), audit(f"E-{n}")]
    return lines


def second_batch() -> list[dict[str, Any]]:
    return [audit(f"E-{n}", "2021-06-01", audit_id="A2", started="2021-05-01",
                  completed="2021-05-10") for n in range(1, 6)]


def signed_ledger(cli: Cli) -> SignedLedger:
    keys = cli.tmp_path / "keys"
    keys.mkdir()
    private = keys / "log.key"
    result = cli("keys", "generate", "test.example/ledger", "--private-key", str(private))
    assert result.exit_code == 0, result.output
    ledger = SignedLedger(cli, private, keys / "log.pub", [])
    assert cli.import_lines(first_batch()).exit_code == 0
    ledger.checkpoints.append(ledger.sign("cp1.txt"))
    assert cli.import_lines(second_batch()).exit_code == 0
    ledger.checkpoints.append(ledger.sign("cp2.txt"))
    return ledger


def forge_append(raw: Raw, stream: str, version: int, topic: str, state: bytes) -> None:
    """Appends an event behind the ledger's back with everything a key is not needed for:
    the row, a log row with its leaf, and the tree head of the grown log."""
    raw.insert(stream, version, topic, state)
    entries = raw.log_entries()
    leaf = leaf_hash(entry_bytes(topic, stream, version, state))
    raw.q("INSERT INTO ledger_log (first_idx, entries, leaves, refs) VALUES (?, ?, ?, ?)",
          pack(len(entries), [leaf], [(stream, version)]))
    builder = TreeBuilder()
    for entry in [*entries, (len(entries), stream, version, leaf)]:
        builder.append(entry[3])
    (at,) = raw.q("SELECT MAX(appended_at) FROM ledger_log_heads")[0]
    raw.q("INSERT INTO ledger_log_heads (tree_size, root, appended_at) VALUES (?, ?, ?)",
          (builder.size, builder.root(), at))
