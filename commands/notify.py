"""Notifications of new lapse flags: sinks, the outbox, its relay and its dispatcher.

Status-change notices (:mod:`commands.status_notices`) go through the same outbox and
dispatcher; each sink's ``notices`` setting says which kinds it gets.

Delivery is at least once and tracked, in two steps, both in SQL tables beside the events
(registered on :data:`storage.schema.metadata`):

1. **Relay (exactly-once enqueue).** :func:`relay` reads the events after its tracking
   position with :meth:`LedgerStore.notifications`, and for each ``LapseRiskFlagged`` inserts
   one ``lapse_outbox`` row per configured sink, then advances the position, all in one
   SQLAlchemy transaction. The transaction starts by writing the tracking row, so two relays
   take turns; the position update is also a compare-and-set, and ``(event_id, sink)`` is
   unique. A crash before commit leaves neither rows nor a new position; a crash after leaves
   both. The flags themselves are appended by the scan in the ledger's own write transaction
   (another connection on SQLite), so the relay reads them only once committed.
2. **Dispatch (at-least-once delivery).** :func:`dispatch` claims due pending rows one at a
   time (``UPDATE ... WHERE status='pending' AND lease expired``: a row is owned by one worker
   only), delivers, and marks it ``sent``; a failure schedules a retry with exponential
   backoff and, after ``max_attempts`` tries (or a permanent refusal such as HTTP 400), marks
   it ``dead``. A worker that dies mid-delivery leaves a lease that expires, and the row is
   tried again: that is the one case where a sink may see a flag twice, which is why every
   payload carries the flag's ``id`` (and webhooks an ``Idempotency-Key`` header). After a
   successful delivery a row is never sent again.

The relay enqueues for the sinks configured when it runs (none: it waits, keeping its
position); a sink added later receives the flags relayed from then on, not older ones.
The clock is passed in (``clock``, ``now``); nothing here reads it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)

from commands.config import (
    Config,
    EmailSettings,
    JsonlSettings,
    OutboxSettings,
    SinkSettings,
    WebhookSettings,
)
from commands.scan import flag_key
from ledger.codec import event_to_state, format_time
from ledger.events import LapseRiskFlagged
from projections.order import standing_registration
from storage.schema import ensure, insert_ignore, metadata
from storage.store import LedgerStore

log = logging.getLogger(__name__)

RELAY_NAME = "lapse-outbox"
RELAY_PAGE = 500
DISPATCH_BATCH = 100

outbox_table = Table(
    "lapse_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(300), nullable=False),
    Column("sink", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    Column("employer", String(200)),
    Column("payload", Text, nullable=False),
    Column("status", String(10), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claimed_by", String(200)),
    Column("claimed_until", DateTime),
    Column("sent_at", DateTime),
    Column("last_error", Text),
    UniqueConstraint("event_id", "sink", name="uq_lapse_outbox_event_sink"),
    Index("ix_lapse_outbox_due", "status", "next_attempt_at"),
)
"""One row per (flag, sink); all times are naive UTC. ``status``: pending, sent or dead."""

tracking_table = Table(
    "lapse_outbox_tracking", metadata,
    Column("name", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
)
"""The relay's position in the ledger's notification order."""

TABLES = (outbox_table, tracking_table)


def _naive(moment: datetime) -> datetime:
    """UTC without tzinfo: what the SQL columns hold, comparable on every backend."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _iso(moment: datetime | None) -> str | None:
    """A time read back from a SQL column (naive UTC) as the ledger writes times."""
    return None if moment is None else format_time(moment.replace(tzinfo=UTC))


# --- sinks ------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A delivery failed; ``permanent`` ones are dead-lettered at once, not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sink(Protocol):
    """Somewhere a flag is announced."""

    @property
    def name(self) -> str:
        """The sink's name in the configuration (and in the outbox rows)."""

    def wants(self, payload: Mapping[str, Any]) -> bool:
        """Whether this flag concerns the sink at all (checked once, when enqueued)."""

    def deliver(self, payload: Mapping[str, Any]) -> None:
        """Delivers one flag, or raises :class:`DeliveryError`."""

    def secrets(self) -> tuple[str, ...]:
        """What must never appear in a failure's message (tokens, passwords)."""

    @property
    def timeout_seconds(self) -> float | None:
        """How long one delivery may take in all (None: no network, no bound)."""


# The notice kind (configuration ``notices``) of each payload type.
NOTICE_OF_TYPE = {"LapseRiskFlagged": "lapse", "StatusChanged": "status"}


def takes(sink: Sink, kind: str) -> bool:
    """Whether a sink is configured for this kind of notice (``lapse``, ``status``)."""
    return kind in getattr(getattr(sink, "settings", None), "notices", ())


class _NamedSink:
    """What every sink shares: its name comes from its settings, and it wants the kinds of
    notice its settings list (``notices``: lapse flags by default)."""

    settings: Any

    @property
    def name(self) -> str:
        return str(self.settings.name)

    def wants(self, payload: Mapping[str, Any]) -> bool:
        return NOTICE_OF_TYPE.get(str(payload.get("type"))) in self.settings.notices

    def secrets(self) -> tuple[str, ...]:
        return ()

    @property
    def timeout_seconds(self) -> float | None:
        return getattr(self.settings, "timeout_seconds", None)


@dataclass
class JsonlSink(_NamedSink):
    """Appends one JSON line per flag to a file (flushed and fsynced before it counts)."""

    settings: JsonlSettings

    def deliver(self, payload: Mapping[str, Any]) -> None:
        line = json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n"
        try:
            with self.settings.path.open("a", encoding="utf-8") as out:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise DeliveryError(f"{self.settings.path}: {exc}") from exc


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Never follows a redirect: urllib would re-send the bearer token to the new origin as a
    body-less GET, and a 200 there would mark the notice sent. The 3xx becomes an HTTPError."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


@dataclass
class WebhookSink(_NamedSink):
    """POSTs one JSON document per flag; 2xx is success, 4xx (but 408, 429) is permanent."""

    settings: WebhookSettings

    def secrets(self) -> tuple[str, ...]:
        return tuple(value for _, value in self.settings.headers)  # a token, an API key

    def deliver(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "corledger",
                   "Idempotency-Key": str(payload["id"]), **dict(self.settings.headers)}
        request = urllib.request.Request(self.settings.url, data=body, headers=headers,
                                         method="POST")
        try:
            with _NO_REDIRECTS.open(request, timeout=self.settings.timeout_seconds) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:  # a failed attempt: retried with backoff, then dead
                where = exc.headers.get("Location", "?") if exc.headers else "?"
                raise DeliveryError(f"HTTP {exc.code} {exc.reason}: redirect to {where} not "
                                    "followed (only a 2xx from the configured URL delivers)"
                                    ) from exc
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 425, 429)
            raise DeliveryError(f"HTTP {exc.code} {exc.reason}", permanent) from exc
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


@dataclass
class EmailSink(_NamedSink):
    """Sends one e-mail per flag through SMTP, to the recipients of the employer's partner."""

    settings: EmailSettings

    def secrets(self) -> tuple[str, ...]:
        return (self.settings.password,) if self.settings.password else ()

    def wants(self, payload: Mapping[str, Any]) -> bool:
        return super().wants(payload) and bool(self.settings.recipients(payload.get("partner")))

    def message(self, payload: Mapping[str, Any]) -> EmailMessage:
        if payload.get("type") == "StatusChanged":
            return self._status_message(payload)
        data = payload["data"]
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.recipients(payload.get("partner")))
        msg["Subject"] = (f"[corledger] {data['level']} lapse risk: {payload['employer']} "
                          f"due {data['due']}")
        msg["X-Corledger-Flag"] = str(payload["id"])
        reasons = ", ".join(data["reasons"]) or "none"
        msg.set_content(
            f"Employer:  {payload['employer']} ({payload.get('partner') or 'unknown partner'})\n"
            f"Level:     {data['level']}\n"
            f"Due:       {data['due']}\n"
            f"Seen on:   {payload['effective']}\n"
            f"Reasons:   {reasons}\n"
            f"Flag id:   {payload['id']}\n")
        return msg

    def _status_message(self, payload: Mapping[str, Any]) -> EmailMessage:
        """A status-change notice, after WorkSafeBC's clearance alert: who, from what to
        what, on which date, and the events (or the calendar) and rules behind it."""
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.recipients(payload.get("partner")))
        msg["Subject"] = (f"[corledger] status changed: {payload['employer']} is now "
                          f"{payload['to']} (was {payload['from']})")
        msg["X-Corledger-Notice"] = str(payload["id"])
        why = [f"  {c['type']} {c['event'] or ''} effective {c['effective']}: "
               f"{'; '.join(str(r['says']) for r in c['rules']) or '-'}"
               for c in payload.get("because", [])]
        msg.set_content(
            f"Employer:  {payload['employer']} ({payload.get('partner') or 'unknown partner'})\n"
            f"Status:    {payload['from']} -> {payload['to']}\n"
            f"As of:     {payload['as_of']}\n"
            f"Changed:   {', '.join(payload.get('fields', [])) or 'status'}\n"
            f"Why:\n{chr(10).join(why) or '  (no single event: see corledger diff)'}\n"
            f"Notice id: {payload['id']}\n")
        return msg

    def deliver(self, payload: Mapping[str, Any]) -> None:
        s = self.settings
        try:
            context = ssl.create_default_context()  # certificate and host name verified
            smtp: smtplib.SMTP = (
                smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
                if s.ssl else smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds))
            with smtp:
                if s.starttls:
                    smtp.starttls(context=context)
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(self.message(payload))
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipients refused: {exc.recipients}", True) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP authentication failed: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def make_sink(settings: SinkSettings) -> Sink:
    """The sink a configuration entry describes."""
    if isinstance(settings, JsonlSettings):
        return JsonlSink(settings)
    if isinstance(settings, WebhookSettings):
        return WebhookSink(settings)
    return EmailSink(settings)


def make_sinks(config: Config) -> dict[str, Sink]:
    return {s.name: make_sink(s) for s in config.sinks}


# --- relay ------------------------------------------------------------------------------------


def ensure_outbox(engine: Engine) -> None:
    """Creates the outbox tables when missing (safe when two processes race to do it)."""
    ensure(engine, TABLES)


def flag_payload(position: int, event: LapseRiskFlagged, partner: str | None,
                 ) -> dict[str, Any]:
    """What every sink receives: the stored interchange form of the flag, its type, the
    employer's partner and its position in the ledger; ``id`` is the flag's key
    (:func:`commands.scan.flag_key`: its sender id, else one derived from its employer, due
    date and level), so that every notice carries one."""
    return {"type": "LapseRiskFlagged", **event_to_state(event), "id": flag_key(event),
            "partner": partner, "position": position}


def partner_of(store: LedgerStore, employer: str) -> str | None:
    """The partner of the employer's standing registration (voids applied: the one every
    reader names the employer by), None when no registration stands."""
    registration = standing_registration(store.stream(employer))
    return registration.partner if registration is not None else None


def relay(store: LedgerStore, engine: Engine, sinks: Mapping[str, Sink], now: datetime,
          page: int = RELAY_PAGE) -> int:
    """Enqueues every flag appended since the last relay, for each sink that wants it.

    Returns how many outbox rows were added. Each page is one transaction: the outbox rows
    and the advanced position commit together or not at all. With no sink configured it
    does nothing, so a run that forgot its configuration does not skip past the flags.
    """
    if not sinks:
        return 0
    ensure_outbox(engine)
    with engine.begin() as conn:
        insert_ignore(conn, tracking_table, [{"name": RELAY_NAME, "position": 0}],
                      ["name"])
    added = 0
    partners: dict[str, str | None] = {}
    while True:
        with engine.begin() as conn:
            # Writing the tracking row first takes the write lock (SQLite) or the row lock
            # (PostgreSQL) before we read the position: concurrent relays take turns.
            where = tracking_table.c.name == RELAY_NAME
            conn.execute(update(tracking_table).where(where)
                         .values(position=tracking_table.c.position))
            position = conn.execute(select(tracking_table.c.position).where(where)).scalar_one()
            items = store.notifications(after=position, limit=page)
            if not items:
                return added
            rows = []
            for number, event in items:
                if not isinstance(event, LapseRiskFlagged) or event.employer is None:
                    continue
                if event.employer not in partners:
                    partners[event.employer] = partner_of(store, event.employer)
                payload = flag_payload(number, event, partners[event.employer])
                text = json.dumps(payload, sort_keys=True)
                for sink in sinks.values():
                    if sink.wants(payload):
                        rows.append({"event_id": payload["id"], "sink": sink.name,
                                     "position": number, "employer": event.employer,
                                     "payload": text, "status": "pending", "attempts": 0,
                                     "created_at": _naive(now),
                                     "next_attempt_at": _naive(now)})
            added += insert_ignore(conn, outbox_table, rows, ["event_id", "sink"])
            moved = conn.execute(update(tracking_table)
                                 .where(where, tracking_table.c.position == position)
                                 .values(position=items[-1][0]))
            if moved.rowcount != 1:  # pragma: no cover - the lock above makes this impossible
                raise RuntimeError("outbox relay position moved under us; rolled back")
        if len(items) < page:
            return added


# --- dispatch ---------------------------------------------------------------------------------


@dataclass
class DispatchResult:
    """What one dispatch pass did, by outbox row id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    unconfigured: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"sent": len(self.sent), "retrying": len(self.retrying), "dead": len(self.dead),
                "unconfigured": len(self.unconfigured)}


def dispatch(engine: Engine, sinks: Mapping[str, Sink], settings: OutboxSettings,
             clock: Callable[[], datetime], worker: str) -> DispatchResult:
    """Delivers every pending row that is due, each by at most one worker at a time.

    ``worker`` names this process in the claim (host, pid and a random part); ``clock`` is
    read before each claim and after each delivery, since deliveries take time.
    """
    ensure_outbox(engine)
    result = DispatchResult()
    t = outbox_table
    last_id = 0  # one pass in id order: a row that fails now is not retried in this pass
    while True:
        now = _naive(clock())
        with engine.begin() as conn:
            due = conn.execute(
                select(t.c.id, t.c.sink).where(
                    t.c.id > last_id, t.c.status == "pending", t.c.next_attempt_at <= now,
                    (t.c.claimed_until.is_(None)) | (t.c.claimed_until < now))
                .order_by(t.c.id).limit(DISPATCH_BATCH)).all()
        if not due:
            return result
        for row_id, sink_name in due:
            last_id = row_id
            sink = sinks.get(sink_name)
            if sink is None:
                result.unconfigured.append(row_id)  # left pending until the sink is back
                continue
            payload = _claim(engine, row_id, worker, settings, _naive(clock()))
            if payload is None:
                continue  # another worker has it, or it is no longer due
            try:
                deliver_within(sink, payload)
            except Exception as exc:  # noqa: BLE001 - every failure of one delivery is a try
                _failed(engine, row_id, worker, settings, _naive(clock()),
                        delivery_failure(sink, exc), result)
            else:
                _sent(engine, row_id, worker, _naive(clock()))
                result.sent.append(row_id)


def deliver_within(sink: Sink, payload: Mapping[str, Any]) -> None:
    """Delivers, giving up (a failed try) once the sink's ``timeout_seconds`` have passed in
    all. The clients' own timeouts bound each socket operation only, so a server answering a
    byte at a time could hold a delivery past its lease, and another worker would claim and
    deliver the row again; the configuration keeps every timeout below the lease
    (:func:`commands.config.check_lease`), and this bounds the delivery by it."""
    limit = sink.timeout_seconds
    if limit is None:
        sink.deliver(payload)
        return
    failure: list[BaseException] = []

    def run() -> None:
        try:
            sink.deliver(payload)
        except BaseException as exc:  # noqa: BLE001 - handed to the dispatcher below
            failure.append(exc)

    worker = threading.Thread(target=run, name=f"deliver-{sink.name}", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():  # left to end on its own socket timeouts; its outcome is ignored
        raise DeliveryError(f"no answer within timeout_seconds ({limit:g} s)")
    if failure:
        raise failure[0]


def delivery_failure(sink: Sink, exc: Exception) -> DeliveryError:
    """What one failed delivery is recorded as: the sink's own :class:`DeliveryError`, or
    any other exception (an invalid header, a URL the HTTP client rejects, a bug) as a
    failed try that is retried with backoff and then dead-lettered, so that it neither
    escapes the dispatcher nor holds up the rows behind it. Either way the message (stored
    in ``last_error``, logged) has every secret of the sink taken out."""
    if isinstance(exc, DeliveryError):
        message, permanent = str(exc), exc.permanent
    else:
        message, permanent = f"{type(exc).__name__}: {exc}", False
    return DeliveryError(redact(message, sink.secrets()), permanent)


def redact(message: str, secrets: Sequence[str]) -> str:
    """``message`` with each secret, and each word of it that could identify it (a bearer
    token without its scheme, a secret printed without its trailing control characters, as
    ``repr`` shows it), replaced by ``[redacted]``."""
    parts: set[str] = set()
    for secret in secrets:
        for text in (secret, repr(secret)[1:-1]):
            parts.add(text)
            parts.add(text.strip())
            parts.update(word for word in text.split() if len(word) >= 6)
        # what a repr shows of the secret up to its first control character
        parts.update(p for p in re.split(r"[\x00-\x1f\x7f]", secret) if len(p) >= 6)
    for part in sorted((p for p in parts if p), key=len, reverse=True):
        message = message.replace(part, "[redacted]")
    return message


def _claim(engine: Engine, row_id: int, worker: str, settings: OutboxSettings,
           now: datetime) -> dict[str, Any] | None:
    t = outbox_table
    with engine.begin() as conn:
        claimed = conn.execute(
            update(t).where(t.c.id == row_id, t.c.status == "pending",
                            t.c.next_attempt_at <= now,
                            (t.c.claimed_until.is_(None)) | (t.c.claimed_until < now))
            .values(claimed_by=worker,
                    claimed_until=now + timedelta(seconds=settings.lease_seconds)))
        if claimed.rowcount != 1:
            return None
        text = conn.execute(select(t.c.payload).where(t.c.id == row_id)).scalar_one()
    payload: dict[str, Any] = json.loads(text)
    return payload


def _sent(engine: Engine, row_id: int, worker: str, now: datetime) -> None:
    t = outbox_table
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == row_id, t.c.claimed_by == worker)
                     .values(status="sent", sent_at=now, attempts=t.c.attempts + 1,
                             claimed_by=None, claimed_until=None, last_error=None))


def _failed(engine: Engine, row_id: int, worker: str, settings: OutboxSettings,
            now: datetime, error: DeliveryError, result: DispatchResult) -> None:
    t = outbox_table
    with engine.begin() as conn:
        attempts = conn.execute(select(t.c.attempts).where(t.c.id == row_id)).scalar_one() + 1
        dead = error.permanent or attempts >= settings.max_attempts
        conn.execute(update(t).where(t.c.id == row_id, t.c.claimed_by == worker).values(
            status="dead" if dead else "pending", attempts=attempts, last_error=str(error),
            claimed_by=None, claimed_until=None,
            next_attempt_at=now + timedelta(seconds=settings.backoff(attempts))))
    (result.dead if dead else result.retrying).append(row_id)
    log.warning("delivery of outbox row %s failed (try %s%s): %s", row_id, attempts,
                ", dead-lettered" if dead else "", error)


# --- reading the outbox -----------------------------------------------------------------------


def outbox_rows(engine: Engine, statuses: Sequence[str]) -> list[dict[str, Any]]:
    """The outbox rows in these statuses, oldest first, as ``outbox --json`` prints them."""
    ensure_outbox(engine)
    t = outbox_table
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.status.in_(list(statuses)))
                            .order_by(t.c.id)).mappings().all()
    out = []
    for row in rows:
        payload = json.loads(row["payload"])
        data = payload.get("data") or {}  # a lapse flag's; a status change has none
        out.append({
            "row": row["id"], "event_id": row["event_id"], "sink": row["sink"],
            "employer": row["employer"], "status": row["status"], "attempts": row["attempts"],
            "type": payload.get("type"), "level": data.get("level"), "due": data.get("due"),
            "created_at": _iso(row["created_at"]),
            "next_attempt_at": _iso(row["next_attempt_at"]) if row["status"] == "pending"
            else None,
            "sent_at": _iso(row["sent_at"]), "last_error": row["last_error"],
        })
    return out


def outbox_counts(engine: Engine) -> dict[str, int]:
    """How many rows are pending, sent and dead."""
    ensure_outbox(engine)
    t = outbox_table
    with engine.connect() as conn:
        found: dict[str, int] = {
            status: count for status, count in
            conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all()}
    return {status: int(found.get(status, 0)) for status in ("pending", "sent", "dead")}


def requeue_dead(engine: Engine, now: datetime) -> int:
    """Puts dead rows back in the queue with a fresh count of tries (after fixing a sink)."""
    ensure_outbox(engine)
    t = outbox_table
    with engine.begin() as conn:
        moved = conn.execute(update(t).where(t.c.status == "dead").values(
            status="pending", attempts=0, next_attempt_at=_naive(now)))
    return int(moved.rowcount)


def worker_name(suffix: str) -> str:
    """A claim owner name: host, process id and a caller-supplied unique part."""
    return f"{socket.gethostname()}:{os.getpid()}:{suffix}"

