"""The one format of an employer id, shared by the import and the queries, and of the id a
lapse flag is known by (:func:`flag_id`)."""

from __future__ import annotations

import re
from datetime import date

EMPLOYER_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?", re.ASCII)
"""An employer id: 1 to 64 ASCII letters, digits, ``.``, ``_`` and ``-``, starting and
ending with a letter or digit (``BC-1104729``, ``AB-0043120``, ``GEN-PV3``). Nothing else,
so no lookalike (Cyrillic letters, Unicode hyphens, invisible or trailing spaces) can name a
second employer. Ids starting with ``@`` are the ledger's own; the pattern cannot produce
them. Use ``fullmatch``."""


FLAG_ID_PREFIX = "lapse:"
"""How every id :func:`flag_id` gives begins; an id that does not cannot be a flag's derived
key, so the import asks nothing more of it."""


def flag_id(employer: str, due: date | str, level: str) -> str:
    """The id the scan gives a lapse flag, and the key of a flag imported without an id:
    ``lapse:<employer>:<due>:<level>``, one per employer, due date and level."""
    due_text = due.isoformat() if isinstance(due, date) else due
    return f"{FLAG_ID_PREFIX}{employer}:{due_text}:{level}"


def flag_id_fields(event_id: str) -> tuple[str, str, str] | None:
    """The (employer, due date, level) whose :func:`flag_id` ``event_id`` is, or None when
    it is no flag's. An employer id, an ISO date and a level hold no ``:``, so the id has
    exactly four parts and names one flag key only."""
    if not event_id.startswith(FLAG_ID_PREFIX):
        return None
    parts = event_id.split(":")
    if len(parts) != 4 or not EMPLOYER_ID.fullmatch(parts[1]):
        return None
    return parts[1], parts[2], parts[3]
