"""Build ledger events for tests without a store: ``Ledger`` hands out stream positions,
sender ids and recorded times, with the fields each type needs and sensible defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import uuid4

from ledger import events as ev

ELEMENTS = {"policy": 90, "hazard_assessment": 85, "inspections": 80, "training": 88,
            "incident_investigation": 82}


def d(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str) -> datetime:
    """A recorded time: ISO date-time (Z allowed) or a bare date meaning 12:00Z that day."""
    if len(text) == 10:
        return datetime.combine(d(text), time(12), UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Ledger:
    """One employer's stream under construction; each call appends one event."""

    employer: str = "EMP-1"
    events: list[ev.LedgerEvent] = field(default_factory=list)

    def add(self, cls: type[ev.LedgerEvent], effective: str, recorded: str | None = None,
            event_id: str | None = None, **data: Any) -> ev.LedgerEvent:
        n = len(self.events) + 1
        recorded_at = at(recorded) if recorded else at(effective)
        event = cls(originator_id=uuid4(), originator_version=n, timestamp=recorded_at,
                    event_id=event_id or f"{self.employer}-{n}",
                    employer=None if cls.reference else self.employer,
                    effective=d(effective), recorded_at=recorded_at, by="test", **data)
        self.events.append(event)
        return event

    def register(self, effective: str, partner: str = "GENERIC", program: str = "COR",
                 headcount: int | None = 25, cus: tuple[str, ...] = ("G100",),
                 **kw: Any) -> ev.LedgerEvent:
        return self.add(ev.EmployerRegistered, effective, name=f"{self.employer} Ltd",
                        partner=partner, program=program, classification_units=cus,
                        headcount=headcount, **kw)

    def audit(self, effective: str, audit: str, kind: str = "certification", *,
              auditor_type: str = "external", auditor: str | None = None,
              started: str | None = None, completed: str | None = None,
              overall: float | int | str = 85, elements: dict[str, Any] | None = None,
              student: bool = False, cus: tuple[str, ...] | None = None,
              recorded: str | None = None, **kw: Any) -> ev.LedgerEvent:
        sub = d(effective)
        return self.add(
            ev.AuditSubmitted, effective, recorded, audit=audit, kind=kind,
            auditor=auditor or f"{auditor_type}-auditor", auditor_type=auditor_type,
            started=d(started) if started else date.fromordinal(sub.toordinal() - 12),
            completed=d(completed) if completed else date.fromordinal(sub.toordinal() - 4),
            overall=Decimal(str(overall)),
            elements={k: Decimal(str(v)) for k, v in (elements or ELEMENTS).items()},
            student=student, classification_units=cus, **kw)

    def qa(self, effective: str, audit: str, outcome: str = "accepted",
           recorded: str | None = None, **kw: Any) -> ev.LedgerEvent:
        return self.add(ev.QADecided, effective, recorded, audit=audit, outcome=outcome, **kw)

    def auditor(self, effective: str, name: str = "internal-auditor",
                recorded: str | None = None) -> ev.LedgerEvent:
        return self.add(ev.InternalAuditorQualified, effective, recorded, auditor=name)

    def certify(self, submitted: str, accepted: str, audit: str = "A1", **kw: Any) -> None:
        """A passing certification audit and its QA acceptance."""
        self.audit(submitted, audit, **kw)
        self.qa(accepted, audit)
