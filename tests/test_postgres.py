"""What only the PostgreSQL store has: a server, a database to create, a lock to wait for.

Runs only when ``CORLEDGER_TEST_POSTGRES`` names a test server (see ``tests/pg.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from storage.store import Appended, StoreError, open_store
from tests.conftest import Cli, registration
from tests.test_import_atomicity import kill_import_midway
from tests.test_store_contract import registered

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not os.environ.get("CORLEDGER_TEST_POSTGRES"),
                                 reason="CORLEDGER_TEST_POSTGRES names no PostgreSQL server")]

ROOT = Path(__file__).resolve().parents[1]


def corledger(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "commands.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def unused_database_url() -> str:
    from tests.pg import _created, database_url

    name = f"corledger_test_{os.getpid()}_new_{time.monotonic_ns()}"
    _created.append(name)  # dropped at the end of the run, if it was created
    return database_url(name)


def with_query(url: str, **query: str) -> str:
    return make_url(url).update_query_dict(query).render_as_string(hide_password=False)


def sql(url: str, query: str) -> list[tuple[object, ...]]:
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def test_a_missing_database_is_reported_with_the_way_to_create_it() -> None:
    url = unused_database_url()
    result = corledger("--db", url, "history", "E-1")
    assert result.returncode != 0
    assert "does not exist" in result.stderr and "init --create-database" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_create_database_creates_it_once_then_the_ledger_works(tmp_path: Path) -> None:
    url = unused_database_url()
    first = corledger("--db", url, "init", "--create-database")
    assert first.returncode == 0, first.stderr
    assert "database created" in first.stdout
    again = corledger("--db", url, "init", "--create-database")
    assert again.returncode == 0 and "database created" not in again.stdout
    cli = Cli(url, tmp_path)
    assert cli.import_lines([registration("E-1")]).exit_code == 0
    assert [e["type"] for e in cli.json("history", "E-1")["events"]] == ["EmployerRegistered"]


def test_an_unreachable_server_is_named_without_the_password() -> None:
    result = corledger("--db", "postgresql://someone:s3cret-pw@127.0.0.1:1/ledger", "init",
                       timeout=60)
    assert result.returncode != 0
    assert "127.0.0.1:1" in result.stderr and "'ledger'" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_processes_opening_a_fresh_database_at_once_create_the_schema_once() -> None:
    from tests.pg import fresh_database_url

    url = fresh_database_url()
    procs = [subprocess.Popen([sys.executable, "-m", "commands.cli", "--db", url, "init"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def test_a_schema_in_the_url_holds_the_ledger_tables() -> None:
    from tests.pg import fresh_database_url

    url = fresh_database_url()
    in_schema = with_query(url, schema="ledger")
    store = open_store(in_schema)
    try:
        with store.writer() as writer:
            writer.append([Appended(registered("E-1"), "h")])
        assert store.employers() == ["E-1"]
    finally:
        store.close()
    tables = {row[0] for row in sql(url, "SELECT table_name FROM information_schema.tables"
                                         " WHERE table_schema = 'ledger'")}
    assert {"stored_events", "ledger_employers", "ledger_event_ids"} <= tables
    assert open_store(url).employers() == []  # public holds a ledger of its own


def test_read_models_and_jobs_live_in_the_urls_schema_too(tmp_path: Path) -> None:
    """?schema= is the ledger's parameter, not psycopg's: queries work, and every table the
    ledger makes is in that schema."""
    from tests.conftest import Cli, audit, registration
    from tests.pg import fresh_database_url

    url = fresh_database_url()
    cli = Cli(with_query(url, schema="ledger"), tmp_path)
    assert cli.import_lines([registration(), audit()]).exit_code == 0
    assert cli.json("status", "E-1", "--as-of", "2020-07-01")["status"] == "registered"
    assert isinstance(cli.json("lapses", "--as-of", "2020-07-01"), list)
    assert cli("scan", "--as-of", "2020-07-01").exit_code == 0
    public = {row[0] for row in sql(url, "SELECT table_name FROM information_schema.tables"
                                         " WHERE table_schema = 'public'")}
    assert not public, f"tables outside the URL's schema: {sorted(public)}"


def test_reads_and_new_connections_go_on_while_an_import_holds_the_lock() -> None:
    from tests.pg import fresh_database_url

    url = fresh_database_url()
    store = open_store(url)
    try:
        with store.writer() as writer:
            writer.append([Appended(registered("E-1"), "h")])
            # another process opens the store and reads while the lock is held
            result = corledger("--db", url, "history", "E-1", "--json", timeout=60)
            assert result.returncode == 0, result.stderr
            assert '"events": []' in result.stdout
    finally:
        store.close()


def test_a_writer_that_waits_too_long_for_the_lock_is_told_so(tmp_path: Path) -> None:
    from tests.pg import fresh_database_url

    url = fresh_database_url()
    store = open_store(url)
    path = Cli(url, tmp_path).write([registration("E-2")])
    try:
        with store.writer():
            started = time.monotonic()
            result = corledger("--db", with_query(url, lock_timeout="1"), "import", str(path),
                               timeout=60)
            assert time.monotonic() - started < 30
        assert result.returncode != 0
        assert "another import" in result.stderr and "nothing was written" in result.stderr
        with pytest.raises(StoreError, match="lock_timeout"):
            open_store(with_query(url, lock_timeout="soon"))
    finally:
        store.close()
    assert open_store(url).employers() == []


def test_an_import_killed_while_its_transaction_is_open_leaves_nothing(
        tmp_path: Path) -> None:
    from tests.pg import fresh_database_url

    url = fresh_database_url()

    def mid_import() -> bool:
        """Rows written but not committed: the table grows while only KEEP is visible."""
        size = sql(url, "SELECT pg_relation_size('stored_events')")[0][0]
        if size < 2_000_000:  # type: ignore[operator]
            return False
        assert sql(url, "SELECT count(*) FROM stored_events")[0][0] == 1
        return True

    kill_import_midway(url, tmp_path, mid_import)


def test_sslmode_require_against_a_server_without_tls_refuses_and_writes_nothing(
        tmp_path: Path) -> None:
    """The throwaway test server has no TLS: a URL that requires it must not fall back to
    plaintext on any connection (the event store's included)."""
    from tests.conftest import registration
    from tests.pg import fresh_database_url

    url = fresh_database_url()
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(registration("E-TLS")) + "\n")
    for mode in ("require", "verify-full"):
        result = corledger("--db", with_query(url, sslmode=mode), "import", str(path))
        assert result.returncode != 0
        assert "SSL" in result.stderr and "Traceback" not in result.stderr
    assert sql(url, "SELECT to_regclass('stored_events')") == [(None,)]  # not even a table


@pytest.mark.parametrize(("query", "message"), [
    ({"sslmode": "bogus"}, "sslmode='bogus' is not one of"),
    ({"foo": "bar"}, "unknown URL parameter ?foo="),
    ({"schema": "partner-a"}, "schema='partner-a' is not a schema name"),
    ({"idle_timeout": "0"}, "idle_timeout must be a whole number"),
])
def test_a_url_parameter_the_ledger_cannot_honour_is_refused_in_one_line(
        query: dict[str, str], message: str) -> None:
    from tests.pg import fresh_database_url

    result = corledger("--db", with_query(fresh_database_url(), **query), "lapses")
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_mixed_case_schema_holds_events_and_read_models_alike(tmp_path: Path) -> None:
    from tests.conftest import Cli, audit, registration
    from tests.pg import fresh_database_url

    url = fresh_database_url()
    cli = Cli(with_query(url, schema="PartnerA"), tmp_path)
    assert cli.import_lines([registration(), audit()]).exit_code == 0
    assert cli.json("status", "E-1", "--as-of", "2020-07-01")["status"] == "registered"
    schemas = {row[0] for row in sql(url, "SELECT DISTINCT table_schema FROM"
                                          " information_schema.tables WHERE table_schema"
                                          " NOT IN ('pg_catalog', 'information_schema')")}
    assert schemas == {"PartnerA"}


def test_a_stopped_writer_loses_its_lock_after_the_idle_bound(tmp_path: Path) -> None:
    """An importer stopped mid-transaction (here: waiting on its input, then SIGSTOP) holds
    the write lock only for ?idle_timeout= seconds; the next writer then goes through, and
    the stopped one, resumed, fails with a clear message having written nothing."""
    from tests.conftest import Cli, registration
    from tests.pg import fresh_database_url

    url = with_query(fresh_database_url(), idle_timeout="2")
    cli = Cli(url, tmp_path)
    assert cli.import_lines([registration("KEEP")]).exit_code == 0
    child = subprocess.Popen([sys.executable, "-m", "commands.cli", "--db", url, "import", "-"],
                             cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert child.stdin is not None
    child.stdin.write((json.dumps(registration("STOPPED")) + "\n").encode() * 1)
    child.stdin.flush()
    deadline = time.monotonic() + 30
    while not sql(url, "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                       " WHERE c.relname = 'stored_events' AND l.mode = 'ExclusiveLock'"):
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGSTOP)
    started = time.monotonic()
    late = Cli(with_query(url, lock_timeout="30"), tmp_path).import_lines(
        [registration("NEXT")])
    assert late.exit_code == 0, late.stderr
    assert time.monotonic() - started < 20  # the idle bound, not the 600 s lock wait
    os.kill(child.pid, signal.SIGCONT)
    child.stdin.close()
    child.wait(timeout=60)
    assert child.stderr is not None
    err = child.stderr.read()
    assert child.returncode != 0
    assert b"Traceback" not in err and b"idle" in err.lower()
    assert open_store(url).employers() == ["KEEP", "NEXT"]
