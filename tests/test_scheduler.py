"""The scheduler: catch-up after downtime, real APScheduler runs, two schedulers at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest

from commands.config import Config, JsonlSettings, ScanSettings
from commands.notify import outbox_counts
from commands.scheduler import (
    behind_schedule,
    build_scheduler,
    catch_up,
    last_scanned,
    missed_dates,
    record_scanned,
    run_until_stopped,
)
from ledger.events import LapseRiskFlagged
from storage.engine import engine_for
from storage.store import LedgerStore
from tests.lapse_helpers import certified, due_in, http_receiver

pytestmark = pytest.mark.integration  # a real database, process or server

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2021, 7, 1, 9, 30, tzinfo=UTC)


def flags(store: LedgerStore, employer: str = "E-1") -> list[LapseRiskFlagged]:
    return [e for e in store.stream(employer) if isinstance(e, LapseRiskFlagged)]


def test_missed_dates() -> None:
    d = date(2021, 6, 20)
    assert missed_dates(None, d, 366) == [d]
    assert missed_dates(d, d, 366) == [d]  # ran today already: today again
    assert missed_dates(date(2021, 6, 17), d, 366) == [date(2021, 6, n) for n in (18, 19, 20)]
    assert missed_dates(date(2020, 1, 1), d, 3) == [date(2021, 6, n) for n in (18, 19, 20)]


def test_behind_schedule() -> None:
    six = clock_time(6, 0)
    morning = datetime(2021, 6, 20, 5, 0, tzinfo=UTC)
    later = datetime(2021, 6, 20, 7, 0, tzinfo=UTC)
    assert behind_schedule(None, morning, six)
    assert not behind_schedule(date(2021, 6, 19), morning, six)  # today's run is still ahead
    assert behind_schedule(date(2021, 6, 19), later, six)        # today's run was missed
    assert behind_schedule(date(2021, 6, 17), morning, six)


def test_catch_up_scans_each_missed_date_with_its_own_as_of(cli: Any, store: LedgerStore,
                                                            db_url: str) -> None:
    """Down from 2021-03-01 to 2021-06-20: every level the employer passed through is
    flagged, each effective on the first day it held, then the marker is today."""
    assert cli.import_lines(certified("E-1", date(2020, 6, 15))).exit_code == 0
    engine = engine_for(db_url)
    record_scanned(engine, date(2021, 3, 1), NOW)
    result = catch_up(store, engine, date(2021, 6, 20), 90, NOW, 366)
    assert result.dates[0] == date(2021, 3, 2) and result.dates[-1] == date(2021, 6, 20)
    assert len(result.dates) == 111
    assert [(f.level, f.effective.isoformat()) for f in flags(store)] == [
        ("notice", "2021-03-17"), ("warning", "2021-04-16"), ("critical", "2021-05-16"),
        ("missed", "2021-06-16")]
    assert all(f.recorded_at == NOW for f in flags(store))
    assert last_scanned(engine) == date(2021, 6, 20)
    again = catch_up(store, engine, date(2021, 6, 20), 90, NOW, 366)
    assert again.flagged == [] and len(flags(store)) == 4
    record_scanned(engine, date(2021, 6, 1), NOW)  # never moves back
    assert last_scanned(engine) == date(2021, 6, 20)


def test_in_process_scheduler_runs_the_interval_job_and_stops(
        cli: Any, store: LedgerStore, db_url: str, tmp_path: Path) -> None:
    """A real BackgroundScheduler with its job store in the ledger's database."""
    import threading

    today = datetime.now(UTC).date()
    assert cli.import_lines(certified("E-1", due_in(20, today))).exit_code == 0
    out = tmp_path / "flags.jsonl"
    config_file = tmp_path / "c.toml"
    config_file.write_text(f'[sinks.file]\ntype = "jsonl"\npath = "{out}"\n')
    config = Config(scan=ScanSettings(), sinks=(JsonlSettings("file", out),))
    scheduler = build_scheduler(db_url, config, str(config_file), datetime.now(UTC), every=0.5)
    stop = threading.Event()
    runner = threading.Thread(target=run_until_stopped, args=(scheduler, stop, False))
    runner.start()
    try:
        wait_for(lambda: out.exists() and out.read_text().count("\n") >= 1, 20)
        time.sleep(1.5)  # several more runs: nothing new
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive() and not scheduler.running
    assert [f.level for f in flags(store)] == ["critical"]
    assert out.read_text().count("\n") == 1
    assert last_scanned(engine_for(db_url)) == today
    with engine_for(db_url).connect() as conn:
        from sqlalchemy import text

        ids = {r[0] for r in conn.execute(text("SELECT id FROM apscheduler_jobs"))}
    assert ids == {"corledger-lapse-scan", "corledger-outbox-dispatch"}


# --- real processes -------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def start_scheduler(db_url: str, config_file: Path, every: str = "1") -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORLEDGER_")}
    return subprocess.Popen(
        [sys.executable, "-m", "commands.cli", "--db", db_url, "scheduler", "run",
         "--every", every, "--config", str(config_file)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - a hang is the failure
        process.kill()
        _, err = process.communicate()
        raise
    return process.returncode, err


@pytest.fixture
def due_soon(cli: Any, store: LedgerStore) -> LedgerStore:
    """E-1 due 20 days from the real today (the scheduler reads the real clock)."""
    today = datetime.now(UTC).date()
    assert cli.import_lines(certified("E-1", due_in(20, today))).exit_code == 0
    return store


@pytest.mark.parametrize("count", [1, 2], ids=["one-scheduler", "two-schedulers"])
def test_scheduler_processes_flag_once_and_deliver_once(
        due_soon: LedgerStore, db_url: str, tmp_path: Path, count: int) -> None:
    """`corledger scheduler run --every 1` in real processes against one SQLite file, with a
    loopback webhook: one flag, one delivery, however many schedulers; SIGTERM stops each
    cleanly."""
    with http_receiver() as hook:
        config_file = tmp_path / "c.toml"
        config_file.write_text(f'[sinks.hook]\ntype = "webhook"\nurl = "{hook.url}"\n')
        processes = [start_scheduler(db_url, config_file) for _ in range(count)]
        try:
            wait_for(lambda: len(hook.requests) >= 1, 60)
            time.sleep(3)  # each scheduler runs its scan and dispatch a few more times
        finally:
            outcomes = [stop(p) for p in processes]
        for code, err in outcomes:
            assert code == 0, err
            assert "lapse scan" in err and "scheduler stopped" in err, err
        assert hook.ids() == [f"lapse:E-1:{datetime.now(UTC).date() + timedelta(days=20)}"
                              ":critical"]
    assert [f.level for f in flags(due_soon)] == ["critical"]
    assert outbox_counts(engine_for(db_url)) == {"pending": 0, "sent": 1, "dead": 0}


def test_scheduler_catches_up_after_downtime_on_start(
        due_soon: LedgerStore, db_url: str, tmp_path: Path) -> None:
    """Daily mode (a cron time far from now): a scheduler started behind schedule runs the
    scan at once and covers every missed date."""
    engine = engine_for(db_url)
    today = datetime.now(UTC).date()
    record_scanned(engine, today - timedelta(days=40), NOW)
    config_file = tmp_path / "c.toml"
    out = tmp_path / "flags.jsonl"
    at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%H:%M")
    config_file.write_text(f'[scan]\ntime = "{at}"\n'
                           f'[sinks.file]\ntype = "jsonl"\npath = "{out}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORLEDGER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "commands.cli", "--db", db_url, "scheduler", "run",
         "--config", str(config_file)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: last_scanned(engine) == today, 60)
        wait_for(lambda: out.exists() and out.read_text().count("\n") == 2, 30)
    finally:
        code, err = stop(process)
    assert code == 0, err
    # 40 days back, E-1 was due in 60 days (warning); 30 days back it became critical.
    assert [(f.level, f.effective) for f in flags(due_soon)] == [
        ("warning", today - timedelta(days=39)), ("critical", today - timedelta(days=10))]


def test_jobs_store_the_database_url_without_its_password() -> None:
    from commands.scheduler import job_url, real_url

    url = "postgresql://ledger:s3cret@db.example:5432/corledger"
    stored = job_url(url)
    assert "s3cret" not in stored
    assert real_url(stored) == url  # the running scheduler connects with the real one
    plain = "sqlite:////srv/ledger.db"
    assert job_url(plain) == plain
