"""One employer with a long history, as INTERCHANGE JSONL: the fold's linearity benchmark.

    python -m scripts.long_history --events 50000 --out long.jsonl

A GENERIC COR employer certified, maintained on time every year and recertified before each
expiry, with monthly headcount reports and yearly payroll and premiums for as many
classification units as it takes to reach about ``--events`` events (~500 a year, so 50k
events is a century of history; beyond 120 years it adds units, not years). Deterministic:
the same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from ledger.rulebooks import add_years

EMPLOYER = "LONG-1"
PER_YEAR = 500
MAX_YEARS = 120  # the ledger takes years from 1900: beyond, more units a year instead
ELEMENTS = {"policy": 90, "hazard_assessment": 85, "inspections": 84, "training": 88,
            "incident_investigation": 86}


def _line(n: int, kind: str, effective: date, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"long-{n}", "type": kind, "employer": EMPLOYER,
            "effective": effective.isoformat(),
            "recorded_at": f"{(effective + timedelta(days=1)).isoformat()}T09:00:00Z",
            "by": "bench", "data": data}


def _audit(n: int, audit: str, kind: str, submitted: date) -> dict[str, Any]:
    return _line(n, "AuditSubmitted", submitted, {
        "audit": audit, "kind": kind, "auditor": "ext-1", "auditor_type": "external",
        "started": (submitted - timedelta(days=14)).isoformat(),
        "completed": (submitted - timedelta(days=7)).isoformat(),
        "overall": 88, "elements": ELEMENTS, "student": False})


def _audits(start: date, end: date) -> Iterator[tuple[date, str, str]]:
    """(submitted, audit id, kind) of a cycle kept on time: the certifying audit, two
    maintenance audits before the anniversaries, a recertification before expiry."""
    issued = start + timedelta(days=40)  # QA accepts the first audit 10 days after it
    submitted, k = start + timedelta(days=30), 0
    yield submitted, f"A{k}", "certification"
    while True:
        for years in (1, 2):
            k += 1
            day = add_years(issued, years) - timedelta(days=40)
            if day > end:
                return
            yield day, f"A{k}", "maintenance"
        k += 1
        day = add_years(issued, 3) - timedelta(days=60)
        if day > end:
            return
        yield day, f"A{k}", "recertification"
        issued = day + timedelta(days=10)


def lines(events: int) -> list[dict[str, Any]]:
    """About ``events`` lines of one employer's history, in effective order."""
    years = max(2, min(MAX_YEARS, round(events / PER_YEAR)))
    start = date(2026 - years, 1, 5)
    end = date(2026 - 1, 12, 31)
    audits = list(_audits(start, end))
    cus = max(1, (events // years - 12 - 2 * len(audits) // years) // 2)
    out: list[tuple[date, int, dict[str, Any]]] = []
    n = 0

    def add(day: date, kind: str, data: dict[str, Any]) -> None:
        nonlocal n
        n += 1
        out.append((day, n, _line(n, kind, day, data)))

    n += 1
    out.append((start, n, _line(n, "EmployerRegistered", start, {
        "name": "Long History Ltd", "partner": "GENERIC", "program": "COR",
        "classification_units": ["G100"], "headcount": 40})))
    for submitted, audit, kind in audits:
        n += 1
        out.append((submitted, n, _audit(n, audit, kind, submitted)))
        add(submitted + timedelta(days=10), "QADecided", {"audit": audit, "outcome": "accepted"})
    for year in range(start.year, end.year + 1):
        for month in range(1, 13):
            add(date(year, month, 20), "HeadcountReported", {"headcount": 40 + month % 7})
        for cu in range(cus):
            day = date(year, 2, 1) + timedelta(days=cu % 300)
            add(day, "PayrollReported", {"year": year - 1, "cu": f"C{cu}",
                                         "assessable_payroll": f"{100000 + cu}.00"})
            add(day + timedelta(days=7), "PremiumPaid", {"year": year - 1, "cu": f"C{cu}",
                                                        "amount": f"{2000 + cu}.00"})
    out.sort(key=lambda item: (item[0], item[1]))
    return [line for _, _, line in out[:events] if line]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--out", default="-", help="output file, - for stdout (default)")
    args = parser.parse_args(argv)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    with out:
        for line in lines(args.events):
            out.write(json.dumps(line, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
