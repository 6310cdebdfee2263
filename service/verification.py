"""Public verification: does a contractor hold a COR today? The one answer the JSON API
(``/v1/verify``) and the public page (``/verify``) both give: id, name, partner, status on
the date and certificate expiry, nothing else; an id the ledger does not hold is
``unregistered``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from projections.sql.queries import status_stream
from projections.timeline import fold
from storage.store import LedgerStore


def answers(store: LedgerStore, employers: Iterable[str], on: date) -> list[dict[str, Any]]:
    """One answer per employer id, in the order asked."""
    out = []
    for employer in employers:
        t = fold(status_stream(store, employer), as_of=on, employer=employer)
        cert = t.current_certificate if t.registration is not None else None
        out.append({
            "employer": employer,
            "name": t.registration.name if t.registration else None,
            "partner": t.registration.partner if t.registration else None,
            "status": t.status if t.registration else "unregistered",
            "certificate_expires": cert.expires.isoformat() if cert else None})
    return out
