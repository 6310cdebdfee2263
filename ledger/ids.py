"""The one format of an employer id, shared by the import and the queries."""

from __future__ import annotations

import re

EMPLOYER_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?", re.ASCII)
"""An employer id: 1 to 64 ASCII letters, digits, ``.``, ``_`` and ``-``, starting and
ending with a letter or digit (``BC-1104729``, ``AB-0043120``, ``GEN-PV3``). Nothing else,
so no lookalike (Cyrillic letters, Unicode hyphens, invisible or trailing spaces) can name a
second employer. Ids starting with ``@`` are the ledger's own; the pattern cannot produce
them. Use ``fullmatch``."""
