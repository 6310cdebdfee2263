"""Which partner an employer is registered with, from the store's registration index.

The index (``ledger_employers``) keeps the partner of an employer's first registration; the
service never lets a partner register an employer another partner holds, so that partner is
the employer's owner for tenancy.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine, bindparam, text

from storage.engine import engine_for
from storage.store import LedgerStore


def _engine(store: LedgerStore) -> Engine:
    return engine_for(store.url.render_as_string(hide_password=False))


def partners_of(store: LedgerStore, employers: Collection[str]) -> dict[str, str]:
    """The partner of each registered employer among ``employers``."""
    if not employers:
        return {}
    query = text("SELECT employer, partner FROM ledger_employers WHERE employer IN :ids"
                 ).bindparams(bindparam("ids", expanding=True))
    found: dict[str, str] = {}
    wanted = sorted(set(employers))
    with _engine(store).connect() as conn:
        for start in range(0, len(wanted), 500):
            rows = conn.execute(query, {"ids": wanted[start:start + 500]})
            found.update({row.employer: row.partner for row in rows})
    return found


def partner_of(store: LedgerStore, employer: str) -> str | None:
    """The partner ``employer`` is registered with (None: not registered)."""
    return partners_of(store, [employer]).get(employer)


def employers_of(store: LedgerStore, partner: str | None) -> list[str]:
    """Every employer registered with ``partner`` (None: every employer), sorted."""
    if partner is None:
        return store.employers()
    with _engine(store).connect() as conn:
        rows = conn.execute(text("SELECT employer FROM ledger_employers WHERE partner = :p"
                                 " ORDER BY employer"), {"p": partner})
        return [row.employer for row in rows]
