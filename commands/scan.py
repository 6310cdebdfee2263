"""The lapse scan: append ``LapseRiskFlagged`` for each employer at risk, once per key.

For each as-of date, every employer's stream is folded and :func:`lapse_entry` says whether it
is due within the window (or missed); each entry becomes a flag on the employer's stream with
``effective`` = the as-of date, ``recorded_at`` = the scan's clock reading and
``data`` = ``{due, level, reasons}``.

Uniqueness ("never twice for the same employer, due date and level", for every
``LapseRiskFlagged`` in the ledger whoever wrote it and under whatever id): inside one
:meth:`LedgerStore.writer` transaction, which excludes every other writer (an import, another
scan), the scan reads the flags already in the candidates' streams and skips any candidate
whose (employer, due date, level) one of them holds; the rest are appended under the
deterministic id ``lapse:<employer>:<due>:<level>`` (:func:`flag_ids`: where another event
holds that id, as a sender may give any id, the first of ``<that id>:2``, ``:3``, ... that
is free), whose content hash depends only on that id. An id is never what says a flag is
there. Should two scanners still race, the ``ledger_event_ids`` primary key fails the
loser's transaction, which is retried once and then finds the flags and adds nothing.

Pure parts (:func:`flag_candidates`) take their dates as arguments; :func:`scan` takes the
clock reading ``now``; nothing here reads the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from commands.appending import Draft, append_new
from commands.importer import content_hash
from ledger.events import LapseRiskFlagged, LedgerEvent
from ledger.ids import flag_id
from projections.lapses import lapse_entry
from projections.sql.queries import status_stream
from projections.timeline import fold
from storage.store import WRITE_CONFLICTS, LedgerStore, Writer

FLAG_TYPE = "LapseRiskFlagged"
FLAG_BY = "corledger scan"
log = logging.getLogger(__name__)


def check_scan_date(as_of: date, today: date) -> None:
    """The one rule for the date a scan (by hand: ``corledger scan --as-of``, ``POST
    /v1/scan?as_of=``) is run for: not after today, since a flag's ``effective`` date is the
    day a scan saw the risk and its key is then held for good. A :class:`ValueError` saying
    so; each edge names its own parameter."""
    if as_of > today:
        raise ValueError(f"{as_of} is after today ({today}): a flag records what a scan "
                         "saw, not a forecast")


def flag_key(flag: LapseRiskFlagged) -> str:
    """The key a flag is known by outside the ledger (the outbox row's, the payload's
    ``id``, the webhook's ``Idempotency-Key``): its sender id, else (a flag imported
    without one) the id the scan would give it. The ledger holds one flag per employer, due
    date and level, and the import refuses an id equal to an id-less flag's key as it
    refuses an id-less flag whose key an event holds as its id
    (:meth:`commands.importer.Importer._flag_taken`), so that key is unique and stable."""
    if flag.event_id is not None:
        return flag.event_id
    if flag.employer is None:  # pragma: no cover - a flag is always an employer's event
        raise ValueError("a LapseRiskFlagged without an employer has no key")
    return flag_id(flag.employer, flag.due, flag.level)


def flag_hash(event_id: str) -> str:
    """A flag's content hash: a function of its id only, so the same key is the same content
    (the reasons or the as-of date of a later scan never make a "conflicting" flag)."""
    return content_hash({"type": FLAG_TYPE, "id": event_id})


def flag_ids(writer: Writer, keys: Iterable[tuple[str, str, str]],
             ) -> dict[tuple[str, str, str], str]:
    """The id each new flag (employer, due date, level) is appended under: :func:`flag_id`,
    or, where the ledger holds that id already (another event: a sender may give any id,
    and whether a flag is there is decided by the flags themselves, :func:`flag_keys`), the
    first of ``<that id>:2``, ``:3``, ... it does not hold. Deterministic for a given
    ledger, so two racing scanners still pick the same id and the primary key stops one."""
    ids = {key: flag_id(*key) for key in keys}
    round_ = 1
    while ids:
        taken = writer.known_ids(set(ids.values()))
        clashing = [key for key, event_id in ids.items() if event_id in taken]
        if not clashing:
            break
        round_ += 1
        for key in clashing:
            ids[key] = f"{flag_id(*key)}:{round_}"
    return ids


@dataclass(frozen=True)
class Candidate:
    """A flag the scan would write, with the lapse entry it came from; ``assigned_id`` is
    the id :func:`flag_ids` gave it, once it is about to be appended."""

    as_of: date
    entry: dict[str, Any]
    assigned_id: str | None = None

    @property
    def event_id(self) -> str:
        if self.assigned_id is not None:
            return self.assigned_id
        return flag_id(self.entry["employer"], self.entry["due"], self.entry["level"])

    @property
    def key(self) -> tuple[str, str, str]:
        """(employer, due date, level): what "never twice" is about."""
        return (self.entry["employer"], self.entry["due"], self.entry["level"])

    def draft(self) -> Draft:
        return Draft(
            type_name=FLAG_TYPE, employer=self.entry["employer"], event_id=self.event_id,
            effective=self.as_of, content_hash=flag_hash(self.event_id), by=FLAG_BY,
            data={"due": date.fromisoformat(self.entry["due"]), "level": self.entry["level"],
                  "reasons": tuple(self.entry["reasons"])},
        )

    def describe(self) -> dict[str, Any]:
        """The candidate as ``scan --json`` prints it."""
        e = self.entry
        return {"id": self.event_id, "employer": e["employer"], "partner": e["partner"],
                "as_of": self.as_of.isoformat(), "due": e["due"], "level": e["level"],
                "days_left": e["days_left"], "reasons": list(e["reasons"])}


def flag_candidates(streams: Iterable[Sequence[LedgerEvent]], dates: Sequence[date],
                    within: int) -> list[Candidate]:
    """Every flag the dates call for, each key once (at the earliest date that raises it),
    ordered by as-of date, then due date, then employer. Pure: no I/O, no clock.

    Each stream is read once and folded for each date, so a catch-up over many days costs
    one read of the ledger.
    """
    ordered = sorted(set(dates))
    found: dict[tuple[str, str, str], Candidate] = {}
    for stream in streams:
        for as_of in ordered:
            entry = lapse_entry(fold(stream, as_of=as_of), within)
            if entry is None:
                continue
            candidate = Candidate(as_of, entry)
            found.setdefault(candidate.key, candidate)
    return sorted(found.values(),
                  key=lambda c: (c.as_of, c.entry["due"], c.entry["employer"], c.event_id))


@dataclass
class ScanResult:
    """New flags (in append order) and the candidates that were already in the ledger."""

    dates: list[date]
    within: int
    flagged: list[Candidate] = field(default_factory=list)
    existing: list[Candidate] = field(default_factory=list)
    retried: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.dates[-1].isoformat() if self.dates else None,
            "dates": [d.isoformat() for d in self.dates],
            "within": self.within,
            "flagged": [c.describe() for c in self.flagged],
            "existing": len(self.existing),
        }


def scan(store: LedgerStore, dates: Sequence[date], within: int, now: datetime) -> ScanResult:
    """Appends the flags ``dates`` call for that the ledger does not hold yet.

    ``now`` (UTC) becomes the flags' ``recorded_at`` and append time. Streams are read and
    folded before the write transaction, so the exclusive lock is held only for the id check
    and the append.
    """
    ordered = sorted(set(dates))
    streams = (status_stream(store, employer) for employer in store.employers())
    candidates = flag_candidates(streams, ordered, within)
    result = ScanResult(ordered, within)
    for attempt in (1, 2):
        try:
            _append(store, candidates, now, result)
            return result
        except WRITE_CONFLICTS as exc:
            if attempt == 2:
                raise
            # Another scanner committed the same flag between our check and our append:
            # the primary key refused ours; a second pass sees theirs and adds nothing.
            log.info("lapse scan lost a race on a flag id (%s); retrying once", exc)
            result.retried = True
    raise AssertionError("unreachable")  # pragma: no cover


def _append(store: LedgerStore, candidates: list[Candidate], now: datetime,
            result: ScanResult) -> None:
    with store.writer() as writer:
        # No other writer can commit until this block ends: the flags read now are all
        # the flags there are, and the ids free now stay free.
        held = flag_keys(store, {c.key[0] for c in candidates})
        fresh = [c for c in candidates if c.key not in held]
        ids = flag_ids(writer, [c.key for c in fresh])
        fresh = [replace(c, assigned_id=ids[c.key]) for c in fresh]
        append_new(writer, [c.draft() for c in fresh], recorded_at=now, appended_at=now)
    result.flagged = fresh
    result.existing = [c for c in candidates if c.key in held]


def flag_keys(store: LedgerStore, employers: Iterable[str]) -> set[tuple[str, str, str]]:
    """(employer, due date, level) of every ``LapseRiskFlagged`` in these employers'
    streams, whatever its id and whoever wrote it."""
    return {(employer, e.due.isoformat(), e.level) for employer in sorted(employers)
            for e in store.stream(employer) if isinstance(e, LapseRiskFlagged)}
