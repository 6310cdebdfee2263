"""A readable account of an employer's status for a partner or a regulator, with rich.

``explain(timeline)`` returns a rich renderable: the answer, the certificates of the cycle,
the audits and how each was judged, and every decision with its rule id, the rule version's
date and its source. No store access: it renders a folded :class:`EmployerTimeline`.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from projections.status import render
from projections.timeline import EmployerTimeline

STATUS_STYLE = {"certified": "green", "registered": "yellow", "cancelled": "red",
                "expired": "red", "revoked": "red", "unregistered": "dim"}


def explain(t: EmployerTimeline) -> RenderableType:
    """The whole account as one renderable."""
    doc = render(t)
    parts: list[RenderableType] = [_summary(doc)]
    if t.registration is None:
        return Group(*parts)
    if t.certificates:
        parts.append(_certificates(t))
    if t.audits:
        parts.append(_audits(t))
    parts.append(_decisions(t))
    return Group(*parts)


def print_explain(t: EmployerTimeline, console: Console) -> None:
    console.print(explain(t))


def _summary(doc: dict[str, object]) -> Panel:
    status = str(doc["status"])
    lines = Text()
    lines.append(f"{doc['employer']}", style="bold")
    lines.append(" is ")
    lines.append(status, style=f"bold {STATUS_STYLE.get(status, '')}")
    lines.append(f" on {doc['as_of']}")
    lines.append(f" (as known at {doc['known_at']})" if doc["known_at"] else " (all known)")
    if doc["partner"]:
        size = f", {doc['size_class']}" if doc["size_class"] else ""
        lines.append(f"\npartner {doc['partner']}, program {doc['program']}{size}")
    cert = doc["certificate"]
    if isinstance(cert, dict):
        lines.append(f"\ncertificate issued {cert['issued']}, expires {cert['expires']}, "
                     f"cycle year {cert['cycle_year']}")
    nxt = doc["next_audit"]
    if isinstance(nxt, dict):
        due = f" due {nxt['due']}" if nxt["due"] else " (no due date)"
        lines.append(f"\nnext audit: {nxt['kind']}{due}, auditor {nxt['auditor']}")
    if doc["flags"]:
        lines.append(f"\nflags: {', '.join(doc['flags'])}", style="yellow")  # type: ignore[arg-type]
    return Panel(lines, title="Status", expand=False)


def _certificates(t: EmployerTimeline) -> Table:
    table = Table(title="Certificates", title_justify="left")
    for column in ("issued", "expires", "audit", "submitted", "QA accepted", "ended",
                   "maintenance"):
        table.add_column(column)
    for c in t.certificates:
        ended = f"{c.ended} {c.ended_on}" if c.ended else "in force"
        table.add_row(str(c.issued), str(c.expires), c.audit, str(c.submitted), str(c.qa_date),
                      ended, ", ".join(c.maintenance) or "-")
    return table


def _audits(t: EmployerTimeline) -> Table:
    table = Table(title="Audits", title_justify="left")
    for column in ("submitted", "audit", "kind", "auditor", "overall", "verdict", "QA",
                   "counted for"):
        table.add_column(column)
    for a in t.audits.values():
        qa = f"{a.qa_outcome} {a.qa_date}" if a.qa_outcome else "pending"
        auditor = f"{a.auditor} ({a.auditor_type}{', student' if a.student else ''})"
        verdict = a.verdict or ("re-audit of " + a.repairs if a.repairs else "")
        if a.repaired_by:
            verdict += f"; repaired by {a.repaired_by}"
        table.add_row(str(a.submitted), a.audit, a.kind, auditor, str(a.overall), verdict,
                      qa, a.used_for or "-")
    return table


def _decisions(t: EmployerTimeline) -> Table:
    table = Table(title="Decisions, with the rule behind each", title_justify="left")
    for column in ("date", "event", "says", "rule", "in force since", "source"):
        table.add_column(column, overflow="fold")
    for d in t.decisions:
        event = (f"{d.event.type_name()} {d.event.event_id or ''}".strip()
                 if d.event is not None else "(calendar)")
        rule = d.rule
        table.add_row(str(d.on), event, d.says, rule.id if rule else "-",
                      str(rule.since) if rule else "-", rule.source if rule else "-")
    return table
