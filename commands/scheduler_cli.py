"""The job commands: ``scan`` (one lapse scan by hand), ``scheduler run`` and ``outbox``.

The edge: the clock comes from the session (``.obj.now()``), the configuration from
``--config`` / ``$CORLEDGER_CONFIG`` and the environment (:mod:`commands.config`).
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from commands.config import Config, ConfigError, load_config, transport_warnings
from commands.notify import (
    outbox_counts,
    outbox_rows,
    requeue_dead,
)
from commands.scan import check_scan_date
from commands.scan import scan as run_scan
from commands.session import configured_today, console, emit_json, stderr
from commands.status_cli import MAX_WITHIN_DAYS, check_reach, parse_date
from commands.terminal import styled
from storage.engine import engine_for


def _session() -> Any:
    return click.get_current_context().obj


def _emit(document: Any) -> None:
    emit_json(document)


def _config(path: str | None) -> Config:
    try:
        config = load_config(path, os.environ)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
    for warning in transport_warnings(config):
        click.echo(warning, err=True)
    return config


def _db_url() -> str:
    session = _session()
    url = session.store().url.render_as_string(hide_password=False)
    return str(url)


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value and ctx.obj is not None:
        ctx.obj.db_url = value


config_option = click.option(
    "--config", "config_path", metavar="FILE", type=click.Path(dir_okay=False),
    help="TOML configuration (default: $CORLEDGER_CONFIG; environment variables override it)")


@click.command()
@click.option("--as-of", callback=parse_date, metavar="DATE",
              help="the date to scan for (default: today in the configured time zone)")
@click.option("--within", type=click.IntRange(0, MAX_WITHIN_DAYS), default=None,
              metavar="DAYS",
              help="how many days ahead (and back, for missed ones) [default: config, 90]")
@config_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def scan(as_of: date | None, within: int | None, config_path: str | None,
         as_json: bool) -> None:
    """Flag every employer at lapse risk on a date, once per employer, due date and level.

    Appends LapseRiskFlagged for each new (employer, due date, level); running it again for
    the same date adds nothing. It does not move the scheduler's catch-up date, and does
    not notify: the scheduler (or `outbox --deliver`) relays the new flags.
    """
    config = _config(config_path)
    session = _session()
    now: datetime = session.now()
    today = configured_today(now, config)
    as_of = as_of or today
    try:
        check_scan_date(as_of, today)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    window = config.scan.window(within)
    check_reach(as_of, window)
    result = run_scan(session.store(), [as_of], window, now)
    if as_json:
        _emit(result.to_json())
        return
    out = console()
    for c in result.flagged:
        d = c.describe()
        extra = f" ({', '.join(d['reasons'])})" if d["reasons"] else ""
        out.print(f"flagged {d['level']:>8}  {d['employer']}  {d['partner']}  due {d['due']}"
                  f"  {d['days_left']:+d} days{extra}", highlight=False)
    out.print(f"{as_of}: {len(result.flagged)} new flags, {len(result.existing)} already in "
              f"the ledger (window {result.within} days)", highlight=False)


@click.group("scheduler")
def scheduler_group() -> None:
    """The long-running lapse-scan scheduler."""


@scheduler_group.command("run")
@config_option
@click.option("--every", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="scan every SECONDS instead of daily (tests and demos)")
@click.option("--signing-key", metavar="FILE", envvar="CORLEDGER_SIGNING_KEY",
              help="also sign a checkpoint of the log daily, after the scan, with this private "
                   "key file (default: $CORLEDGER_SIGNING_KEY; none: no checkpoints)")
@click.option("--db", metavar="URL", expose_value=False, callback=_set_db, is_eager=True,
              help="database URL (as `corledger --db`)")
def scheduler_run(config_path: str | None, every: float | None,
                  signing_key: str | None) -> None:
    """Run the daily lapse scan and the outbox dispatcher until SIGTERM or Ctrl-C.

    Jobs are kept in the ledger's database; missed days are scanned on the next run, each
    with its own as-of date. With a signing key, a checkpoint of the log is signed daily.
    """
    from commands.scheduler import build_scheduler, run_until_stopped
    from commands.signing import KeyFileError, load_signer

    if signing_key is not None:
        signing_key = os.path.abspath(signing_key)
        try:
            load_signer(Path(signing_key))  # refuse a bad key now, not at the first run
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
    config = _config(config_path)
    if not config.sinks:
        stderr.print(styled(("warning:", "bold yellow"), " no notification sink is configured: "
                            "lapse flags will be recorded but nobody will be told. Add a "
                            "[sinks.NAME] table to the configuration, or set CORLEDGER_JSONL_PATH,"
                            " CORLEDGER_WEBHOOK_URL or CORLEDGER_SMTP_HOST"))
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    db_url = _db_url()
    path = os.path.abspath(config_path) if config_path else None
    scheduler = build_scheduler(db_url, config, path, _session().now(), every, signing_key)
    run_until_stopped(scheduler)


@click.command()
@click.option("--failed", is_flag=True, help="show dead-lettered deliveries instead")
@click.option("--deliver", is_flag=True,
              help="relay new flags and status changes and deliver what is due now, then "
                   "show the outbox")
@click.option("--requeue", is_flag=True, help="put dead deliveries back in the queue")
@config_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def outbox(failed: bool, deliver: bool, requeue: bool, config_path: str | None,
           as_json: bool) -> None:
    """Notifications of lapse flags that are pending (or, with --failed, dead).

    With --deliver the exit code is 1 when a delivery was dead-lettered in this run, so a
    cron job notices that a partner was not told.
    """
    config = _config(config_path)
    session = _session()
    store = session.store()
    engine = engine_for(_db_url())
    summary: dict[str, Any] = {}
    if requeue:
        summary["requeued"] = requeue_dead(engine, session.now())
    if deliver:
        from commands.scheduler import deliver as relay_and_deliver  # the scheduler's own

        summary["enqueued"], result = relay_and_deliver(store, engine, config, session.now)
        summary.update(result.to_json())
    status = "dead" if failed else "pending"
    rows = outbox_rows(engine, [status])
    if as_json:
        _emit({"status": status, "counts": outbox_counts(engine), **summary, "rows": rows})
        _fail_on_dead(summary)
        return
    out = console()
    if summary:
        out.print(", ".join(f"{k}: {v}" for k, v in summary.items()), highlight=False)
    if not rows:
        out.print(f"no {status} notifications")
    for r in rows:
        when = f"next try {r['next_attempt_at']}" if r["status"] == "pending" else "dead"
        error = f"  last error: {r['last_error']}" if r["last_error"] else ""
        out.print(f"{r['row']:>5}  {r['sink']}  {r['event_id']}  tries {r['attempts']}  "
                  f"{when}{error}", highlight=False)
    counts = outbox_counts(engine)
    out.print(f"{counts['pending']} pending, {counts['sent']} sent, {counts['dead']} dead",
              highlight=False)
    _fail_on_dead(summary)


def _fail_on_dead(summary: dict[str, Any]) -> None:
    """Exit 1 when this run dead-lettered a delivery (after printing the outbox)."""
    dead = summary.get("dead", 0)
    if dead:
        stderr.print(styled(f"{dead} deliver{'y was' if dead == 1 else 'ies were'} "
                            "dead-lettered: see `corledger outbox --failed`"))
        raise SystemExit(1)


COMMANDS = [scan, scheduler_group, outbox]
