"""The long-running lapse-scan scheduler: APScheduler 3.11, jobs kept in the ledger's database.

``corledger scheduler run`` builds a :class:`BackgroundScheduler` whose
:class:`SQLAlchemyJobStore` lives in the ledger's own database (table ``apscheduler_jobs``),
with two jobs, both module-level functions so they survive in the job store by reference:

- ``corledger-lapse-scan`` (:func:`scan_job`): daily at ``scan.time`` in ``scan.timezone``
  (cron), or every ``--every`` seconds for tests and demos. It catches up explicitly: the
  table ``lapse_scan_state`` holds the last as-of date scanned, and each run scans every date
  after it up to today, each with its own as-of date (today again when nothing was missed,
  which picks up the day's imports). So catch-up never depends on APScheduler replaying
  misfires: ``coalesce=True`` folds any backlog of fire times into one run, and that run
  covers the gap. A scheduler started behind schedule runs the scan at once.
- ``corledger-outbox-dispatch`` (:func:`dispatch_job`): every ``outbox.dispatch_every_seconds``,
  relays new flags into the outbox and delivers what is due, so webhook retries follow their
  backoff instead of waiting a day. The scan job also dispatches right after scanning.

Both jobs have ``max_instances=1`` and a ``misfire_grace_time``, and are idempotent, so a
second scheduler on the same database (APScheduler does not coordinate schedulers sharing a
job store: both may run a fire time) only repeats work: the flag ids and the outbox claims
make it write one flag and deliver it once. SIGTERM and SIGINT stop the scheduler cleanly:
running jobs finish, nothing new starts.

The jobs are the edge where the clock is read (``datetime.now(UTC)``) and the environment
consulted; :func:`catch_up` and below take dates and clocks as arguments.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from uuid import uuid4

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Column, Date, DateTime, Engine, String, Table, select, update
from sqlalchemy.engine import make_url

from commands.config import Config, load_config
from commands.notify import DispatchResult, dispatch, make_sinks, relay, worker_name
from commands.scan import ScanResult, scan
from commands.session import configured_today
from commands.signing import load_signer, make_checkpoint
from commands.status_notices import relay_status_changes
from storage.engine import engine_for
from storage.schema import ensure, insert_ignore, metadata
from storage.store import LedgerStore, open_store

log = logging.getLogger(__name__)

SCAN_JOB_ID = "corledger-lapse-scan"
DISPATCH_JOB_ID = "corledger-outbox-dispatch"
CHECKPOINT_JOB_ID = "corledger-daily-checkpoint"
JOBS_TABLE = "apscheduler_jobs"
STATE_NAME = "daily"

scan_state_table = Table(
    "lapse_scan_state", metadata,
    Column("name", String(100), primary_key=True),
    Column("last_as_of", Date, nullable=False),
    Column("scanned_at", DateTime, nullable=False),
)
"""The last as-of date the scheduled scan covered (naive UTC ``scanned_at``)."""


# --- catch-up ---------------------------------------------------------------------------------


def missed_dates(last: date | None, today: date, max_days: int) -> list[date]:
    """The as-of dates a run on ``today`` scans: each date after ``last`` up to today, at most
    the latest ``max_days`` of them; just today when nothing was missed (or on first run)."""
    if last is None or last >= today:
        return [today]
    start = max(last + timedelta(days=1), today - timedelta(days=max_days - 1))
    return [start + timedelta(days=n) for n in range((today - start).days + 1)]


def last_scanned(engine: Engine) -> date | None:
    """The last as-of date the scheduled scan covered, if it ever ran."""
    ensure(engine, [scan_state_table])
    with engine.connect() as conn:
        value: date | None = conn.execute(
            select(scan_state_table.c.last_as_of)
            .where(scan_state_table.c.name == STATE_NAME)).scalar()
    return value


def record_scanned(engine: Engine, through: date, now: datetime) -> None:
    """Moves the last scanned date forward to ``through`` (never back: a slower concurrent
    run cannot undo a faster one)."""
    ensure(engine, [scan_state_table])
    t = scan_state_table
    stamp = now.astimezone(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        if insert_ignore(conn, t, [{"name": STATE_NAME, "last_as_of": through,
                                    "scanned_at": stamp}], ["name"]):
            return
        conn.execute(update(t).where(t.c.name == STATE_NAME, t.c.last_as_of < through)
                     .values(last_as_of=through, scanned_at=stamp))


def catch_up(store: LedgerStore, engine: Engine, today: date, within: int, now: datetime,
             max_days: int) -> ScanResult:
    """Scans every date missed since the last scheduled scan, through ``today``, then records
    ``today`` as scanned. Idempotent: a crash before the record just scans again."""
    last = last_scanned(engine)
    dates = missed_dates(last, today, max_days)
    if last is not None and dates[0] > last + timedelta(days=1):
        log.warning("lapse scan: %s days missed since %s; scanning only the latest %s",
                    (today - last).days, last, max_days)
    result = scan(store, dates, within, now)
    record_scanned(engine, today, now)
    return result


def behind_schedule(last: date | None, now_local: datetime, scan_at: Any) -> bool:
    """Whether the most recent daily fire time (at ``scan_at`` on or before ``now_local``)
    has no scan recorded: then a starting scheduler runs the scan at once."""
    latest_fire = now_local.date() if now_local.time() >= scan_at else (
        now_local.date() - timedelta(days=1))
    return last is None or last < latest_fire


# --- the jobs (module level: the job store keeps them by reference) ---------------------------


@dataclass
class JobOutcome:
    """What one job run did, for logs and tests."""

    scan: ScanResult | None
    enqueued: int
    dispatched: DispatchResult


def _clock() -> datetime:
    return datetime.now(UTC)


def deliver(store: LedgerStore, engine: Engine, config: Config,
            clock: Callable[[], datetime]) -> tuple[int, DispatchResult]:
    """Relays new flags and status changes into the outbox, then delivers every due row:
    the scheduler's jobs and ``corledger outbox --deliver`` alike, "today" (the status
    notices' as-of date) read from ``config``."""
    sinks = make_sinks(config)
    enqueued = relay(store, engine, sinks, clock())
    now = clock()
    enqueued += relay_status_changes(store, engine, sinks, now, configured_today(now, config))
    result = dispatch(engine, sinks, config.outbox, clock, worker_name(uuid4().hex[:8]))
    return enqueued, result


# The job store keeps each job's arguments in the database; the password must not go there.
# Jobs run in the process that built the scheduler, which keeps the real URL here.
_REAL_URLS: dict[str, str] = {}


def job_url(db_url: str) -> str:
    """The database URL as a job stores it (password masked); the real one stays in memory."""
    masked = make_url(db_url).render_as_string(hide_password=True)
    _REAL_URLS[masked] = db_url
    return masked


def real_url(stored: str) -> str:
    """The URL a job connects with, from what its stored arguments say."""
    return _REAL_URLS.get(stored, stored)


def scan_job(db_url: str, config_path: str | None = None) -> JobOutcome:
    """The scheduled scan: catch up through today (in the configured zone), then deliver."""
    db_url = real_url(db_url)
    config = load_config(config_path, os.environ)
    now = _clock()
    today = configured_today(now, config)
    store = open_store(db_url)
    try:
        engine = engine_for(db_url)
        result = catch_up(store, engine, today, config.scan.within, now,
                          config.scan.max_catch_up_days)
        enqueued, sent = deliver(store, engine, config, _clock)
    finally:
        store.close()
    log.info("lapse scan %s..%s: %s new flags, %s already flagged; %s enqueued, %s",
             result.dates[0], result.dates[-1], len(result.flagged), len(result.existing),
             enqueued, sent.to_json())
    return JobOutcome(result, enqueued, sent)


def dispatch_job(db_url: str, config_path: str | None = None) -> JobOutcome:
    """The frequent outbox job: relay and deliver, so retries follow their backoff."""
    db_url = real_url(db_url)
    config = load_config(config_path, os.environ)
    store = open_store(db_url)
    try:
        enqueued, sent = deliver(store, engine_for(db_url), config, _clock)
    finally:
        store.close()
    if enqueued or sent.sent or sent.retrying or sent.dead:
        log.info("outbox: %s enqueued, %s", enqueued, sent.to_json())
    return JobOutcome(None, enqueued, sent)


def checkpoint_job(db_url: str, key_path: str) -> int:
    """The daily signed checkpoint of the Merkle log (C2SP tlog-checkpoint), stored beside
    the events for ``verify``; returns its tree size. The key stays in its file."""
    db_url = real_url(db_url)
    signer = load_signer(Path(key_path))
    store = open_store(db_url)
    try:
        head, _ = make_checkpoint(store, signer, _clock())
    finally:
        store.close()
    log.info("checkpoint signed: %s, tree size %s", head.origin, head.size)
    return head.size


# --- the scheduler ------------------------------------------------------------------------------


def build_scheduler(db_url: str, config: Config, config_path: str | None, now: datetime,
                    every: float | None = None, signing_key: str | None = None,
                    ) -> BackgroundScheduler:
    """A scheduler (not started) with its jobs, replacing any stored under the same ids: the
    scan, the outbox dispatch and, given a private key file, the daily signed checkpoint.

    ``now`` decides whether the scan should run at once (behind schedule, or ``every`` set).
    """
    engine = engine_for(db_url)
    jobstore = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    ensure(engine, [jobstore.jobs_t])  # before start(): two schedulers may race
    zone = config.scan.zone
    scheduler = BackgroundScheduler(
        jobstores={"default": jobstore},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": config.scan.misfire_grace_seconds},
        timezone=zone,
    )
    kwargs = {"db_url": job_url(db_url), "config_path": config_path}
    options: dict[str, Any] = {
        "replace_existing": True, "coalesce": True, "max_instances": 1,
        "misfire_grace_time": config.scan.misfire_grace_seconds, "kwargs": kwargs,
    }
    if every:
        trigger: Any = IntervalTrigger(seconds=every, timezone=zone)
        start_now = True
    else:
        at = config.scan.time
        trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=zone)
        start_now = behind_schedule(last_scanned(engine), now.astimezone(zone), at)
    scan_options = {**options, "next_run_time": now} if start_now else options
    scheduler.add_job(scan_job, trigger, id=SCAN_JOB_ID, name="lapse scan", **scan_options)
    dispatch_every = min(config.outbox.dispatch_every_seconds, every or float("inf"))
    scheduler.add_job(dispatch_job, IntervalTrigger(seconds=dispatch_every, timezone=zone),
                      id=DISPATCH_JOB_ID, name="outbox dispatch", **options)
    if signing_key is not None:  # right after the day's scan, which may append flags
        scheduler.add_job(checkpoint_job, trigger, id=CHECKPOINT_JOB_ID,
                          name="daily checkpoint", **{
                              **options, "kwargs": {"db_url": job_url(db_url),
                                                    "key_path": signing_key}})
    return scheduler


def run_until_stopped(scheduler: BackgroundScheduler, stop: threading.Event | None = None,
                      handle_signals: bool = True) -> None:
    """Starts the scheduler and blocks until SIGTERM/SIGINT (or ``stop`` is set), then shuts
    it down, letting a running job finish."""
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if handle_signals:
        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s: stopping the scheduler", signal.Signals(signum).name)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, _on_signal)
    scheduler.start()
    log.info("scheduler started: %s", ", ".join(
        f"{job.id} next at {job.next_run_time}" for job in scheduler.get_jobs()))
    try:
        while not stop.wait(0.5):
            pass
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("scheduler stopped")
