"""A readable account of an employer's status for a partner or a regulator.

:func:`account` is the whole account as one JSON-ready document (``explain --json``): the
status document, then what stands behind each part of it: a row per flag with the event
that raised it, the certificates, the audits and how each was judged, the voids (what was
voided, by whom, when recorded), a revocation's authority and reason, and every decision
with its rule id, the rule version's date and its source. :func:`explain` renders that same
document as wrapped lines, so it reads at 80 columns without cutting a date or a status.
No store access: it works on a folded :class:`EmployerTimeline` and the employer's events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from commands.terminal import styled
from ledger import events as ev
from ledger.codec import format_time_or_none
from projections.status import flag_sources, render
from projections.timeline import EmployerTimeline
from projections.voids import in_view

STATUS_STYLE = {"certified": "green", "registered": "yellow", "cancelled": "red",
                "expired": "red", "revoked": "red", "unregistered": "dim"}


# --- the account, as data -----------------------------------------------------------------


def account(t: EmployerTimeline, stream: Sequence[ev.LedgerEvent]) -> dict[str, Any]:
    """The ``explain --json`` document of a timeline folded from ``stream``."""
    doc = render(t)
    return {
        "status": doc,
        "name": _name(t),
        "flags": [{"flag": f.flag, **_event_ref(f.event), "says": f.says}
                  for f in flag_sources(t, doc["flags"])],
        "certificates": [{
            "issued": c.issued.isoformat(), "expires": c.expires.isoformat(), "audit": c.audit,
            "submitted": c.submitted.isoformat(), "qa_accepted": _iso(c.qa_date),
            "ended": c.ended, "ended_on": _iso(c.ended_on), "maintenance": list(c.maintenance),
            "issued_by": c.issued_by.id if c.issued_by else None,
            "waiver": _event_ref(c.waiver) if c.waiver else None,
        } for c in t.certificates],
        "audits": [{
            "audit": a.audit, "kind": a.kind, "submitted": a.submitted.isoformat(),
            "auditor": a.auditor, "auditor_type": a.auditor_type, "student": a.student,
            "overall": str(a.overall), "verdict": a.verdict, "repairs": a.repairs,
            "repaired_by": a.repaired_by, "qa_outcome": a.qa_outcome, "qa_date": _iso(a.qa_date),
            "counted_for": a.used_for,
        } for a in t.audits.values()],
        "voids": _voids(t, stream),
        "revocations": [{
            **_event_ref(e), "authority": e.authority, "reason": e.reason,
            "recorded_at": format_time_or_none(e.recorded_at), "by": e.by,
        } for e in t.events if isinstance(e, ev.CertificationRevoked)],
        "decisions": [{
            "on": d.on.isoformat(), **_event_ref(d.event), "says": d.says,
            "rule": d.rule.id if d.rule else None,
            "in_force_since": _iso(d.rule.since) if d.rule else None,
            "source": d.rule.source if d.rule else None,
        } for d in t.decisions],
    }


def _name(t: EmployerTimeline) -> str | None:
    return t.registration.name if t.registration is not None else None


def _event_ref(event: ev.LedgerEvent | None) -> dict[str, Any]:
    if event is None:
        return {"event": None, "type": None, "effective": None}
    return {"event": event.event_id, "type": event.type_name(),
            "effective": event.effective.isoformat()}


def _voids(t: EmployerTimeline, stream: Sequence[ev.LedgerEvent]) -> list[dict[str, Any]]:
    """Every void known at the view's time: its target, who voided it, when and why, and
    whether it counts (a voided void does not)."""
    known = [e for e in stream if t.known_at is None or e.recorded_at <= t.known_at]
    by_id = {e.event_id: e for e in known if e.event_id}  # a target recorded later: unknown
    counted = {id(e) for e in in_view(stream, t.known_at)}
    rows = []
    for void in (e for e in known if isinstance(e, ev.EventVoided)):
        target = by_id.get(void.target)
        rows.append({
            **_event_ref(void), "target": void.target,
            "target_type": target.type_name() if target else None,
            "target_effective": target.effective.isoformat() if target else None,
            "reason": void.reason, "by": void.by,
            "recorded_at": format_time_or_none(void.recorded_at),
            "counts": id(void) in counted,
        })
    return rows


def _iso(day: Any) -> str | None:
    return None if day is None else day.isoformat()


# --- the account, to read ------------------------------------------------------------------


def explain(t: EmployerTimeline, stream: Sequence[ev.LedgerEvent] = ()) -> RenderableType:
    """The whole account as one renderable of wrapped lines."""
    return render_account(account(t, stream))


def render_account(acc: dict[str, Any]) -> RenderableType:
    """:func:`account`'s document as lines to read; long lines wrap between words."""
    doc = acc["status"]
    parts: list[RenderableType] = [*_summary(doc, acc["name"])]
    if doc["status"] == "unregistered" and not acc["decisions"]:
        return Group(*parts)  # never registered: there is nothing more to tell
    if acc["flags"]:
        parts.append(_heading("Flags, with the event that raised each"))
        parts += [_item(f["flag"], _ref(f), f["says"]) for f in acc["flags"]]
    if acc["certificates"]:
        parts.append(_heading("Certificates"))
        for c in acc["certificates"]:
            ended = f"{c['ended']} {c['ended_on']}" if c["ended"] else "in force"
            waiver = c["waiver"]
            origin = (f"audit waiver {waiver['event'] or ''} granted {waiver['effective']} "
                      f"({c['issued_by']}), extending " if waiver else "")
            parts.append(_item(f"{c['issued']} to {c['expires']}", ended,
                               f"{origin}audit {c['audit']} submitted {c['submitted']}, QA "
                               f"accepted {c['qa_accepted'] or '-'}; maintenance "
                               f"{', '.join(c['maintenance']) or '-'}"))
    if acc["audits"]:
        parts.append(_heading("Audits"))
        for a in acc["audits"]:
            qa = f"QA {a['qa_outcome']} {a['qa_date']}" if a["qa_outcome"] else "QA pending"
            verdict = a["verdict"] or (f"re-audit of {a['repairs']}" if a["repairs"] else "")
            if a["repaired_by"]:
                verdict += f"; repaired by {a['repaired_by']}"
            student = ", student" if a["student"] else ""
            parts.append(_item(a["submitted"], f"{a['audit']} {a['kind']}",
                               f"by {a['auditor']} ({a['auditor_type']}{student}), overall "
                               f"{a['overall']}: {verdict or '-'}; {qa}; counted for "
                               f"{a['counted_for'] or '-'}"))
    if acc["voids"]:
        parts.append(_heading("Voids"))
        for v in acc["voids"]:
            target = f"{v['target']} ({v['target_type'] or 'unknown'}"
            target += f" of {v['target_effective']})" if v["target_effective"] else ")"
            counts = "" if v["counts"] else " (itself voided: does not count)"
            parts.append(_item(v["effective"], f"voids {target}",
                               f"by {v['by'] or '-'}, recorded {v['recorded_at']}: "
                               f"{v['reason']}{counts}"))
    if acc["revocations"]:
        parts.append(_heading("Revocations"))
        parts += [_item(r["effective"], f"revoked by {r['authority']}",
                        f"{r['reason']} (recorded {r['recorded_at']}, event "
                        f"{r['event'] or '-'})") for r in acc["revocations"]]
    parts.append(_heading("Decisions, with the rule behind each"))
    for d in acc["decisions"]:
        rule = (f"rule {d['rule']}, in force since {d['in_force_since']}, source "
                f"{d['source']}" if d["rule"] else "no rule")
        parts.append(_item(d["on"], _ref(d), f"{d['says']} [{rule}]"))
    return Group(*parts)


def _summary(doc: dict[str, Any], name: str | None) -> list[Text]:
    status = str(doc["status"])
    head = styled((doc["employer"], "bold"), f" ({name})" if name else None, " is ",
                  (status, f"bold {STATUS_STYLE.get(status, '')}"), f" on {doc['as_of']}",
                  f", as known at {doc['known_at']}" if doc["known_at"] else " (all known)")
    lines = [head]
    if doc["partner"]:
        size = f", {doc['size_class']}" if doc["size_class"] else ""
        lines.append(styled(f"partner {doc['partner']}, program {doc['program']}{size}"))
    cert = doc["certificate"]
    if cert:
        lines.append(styled(f"certificate issued {cert['issued']}, expires {cert['expires']},"
                            f" cycle year {cert['cycle_year']}"))
    nxt = doc["next_audit"]
    if nxt:
        due = f" due {nxt['due']}" if nxt["due"] else " (no due date)"
        lines.append(styled(f"next audit: {nxt['kind']}{due}, auditor {nxt['auditor']}"))
    if doc["flags"]:
        lines.append(styled(("flags: " + ", ".join(doc["flags"]), "yellow")))
    return lines


def _heading(title: str) -> Text:
    return styled("\n", (title, "bold underline"))


def _ref(row: dict[str, Any]) -> str:
    if row["type"] is None:
        return "(calendar)"
    return f"{row['type']} {row['event'] or ''}".strip()


def _item(first: str, second: str, detail: str) -> RenderableType:
    """One entry: its date or key and what it is on the first line, the detail indented
    below it (wrapped between words, so no date or status is cut)."""
    return Group(styled((first, "bold"), "  ", (second, "cyan")), Indented(styled(detail)))


class Indented:
    """Text wrapped to the width less an indent, each line indented (unlike rich's Padding,
    without spaces added at the end of the lines)."""

    def __init__(self, text: Text, indent: int = 4) -> None:
        self.text = text
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width - self.indent, 20)
        for line in console.render_lines(self.text, options.update_width(width), pad=False):
            yield Segment(" " * self.indent)
            yield from line
            yield Segment.line()
