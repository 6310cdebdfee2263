"""Which partner an employer is registered with, from the store's registration index.

The index (``ledger_employers``) keeps, for each employer ever registered, the partner of its
standing registration (the earliest not voided, as the fold keeps it) and its date, ``''``
when every registration of it was voided (then the partner column still names the last
one that stood, and no partner holds the employer: README, "Tenancy follows the partner of
the employer's registration that stands"). The service never lets a partner register an
employer another partner holds, so that partner is the employer's owner for tenancy.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine, bindparam, text

from storage.engine import engine_for
from storage.store import NOT_REGISTERED, LedgerStore


def _engine(store: LedgerStore) -> Engine:
    return engine_for(store.url.render_as_string(hide_password=False))


def holders_of(store: LedgerStore, employers: Collection[str]) -> dict[str, str | None]:
    """Each employer among ``employers`` ever registered in this ledger, with the partner of
    its standing registration (None: every registration of it was voided, so no partner
    holds it)."""
    if not employers:
        return {}
    query = text("SELECT employer, partner, registered_on FROM ledger_employers"
                 " WHERE employer IN :ids").bindparams(bindparam("ids", expanding=True))
    found: dict[str, str | None] = {}
    wanted = sorted(set(employers))
    with _engine(store).connect() as conn:
        for start in range(0, len(wanted), 500):
            rows = conn.execute(query, {"ids": wanted[start:start + 500]})
            found.update({row.employer: None if row.registered_on == NOT_REGISTERED
                          else row.partner for row in rows})
    return found


def partners_of(store: LedgerStore, employers: Collection[str]) -> dict[str, str]:
    """The partner of each employer among ``employers`` whose registration stands (an
    employer whose registrations were all voided is held by no partner: left out)."""
    return {e: p for e, p in holders_of(store, employers).items() if p is not None}


def partner_of(store: LedgerStore, employer: str) -> str | None:
    """The partner ``employer`` is registered with (None: not registered)."""
    return partners_of(store, [employer]).get(employer)


def employers_of(store: LedgerStore, partner: str | None) -> list[str]:
    """Every employer whose standing registration is with ``partner`` (None: every employer
    ever registered, as the command line's lists without ``--partner``), sorted."""
    if partner is None:
        return store.employers()
    with _engine(store).connect() as conn:
        rows = conn.execute(text("SELECT employer FROM ledger_employers WHERE partner = :p"
                                 " AND registered_on <> :none ORDER BY employer"),
                            {"p": partner, "none": NOT_REGISTERED})
        return [row.employer for row in rows]
