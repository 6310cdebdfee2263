"""Who is asking, and what they may read or write: principals, roles and the tenancy checks.

Every endpoint (the JSON API and the pages) asks these questions here, so the rule exists once:

- ``partner`` reads and writes the employers registered with its partner, and registers new
  ones only for its partner;
- ``regulator`` reads every employer and writes nothing;
- ``operator`` writes reference data (base rates) and runs scans; reads no employer;
- ``public`` (no token) reads the rules and the public verification only.

An employer a principal may not read is answered exactly as one that does not exist (404),
so the ids of other partners' employers do not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from werkzeug.exceptions import Forbidden, NotFound, Unauthorized

from service.directory import holders_of
from storage.store import LedgerStore


class Role(StrEnum):
    """The four kinds of caller."""

    PARTNER = "partner"
    REGULATOR = "regulator"
    OPERATOR = "operator"
    PUBLIC = "public"


TOKEN_ROLES = (Role.PARTNER, Role.REGULATOR, Role.OPERATOR)  # the roles a token can carry


@dataclass(frozen=True)
class Principal:
    """An authenticated caller (or the anonymous public): its name, role and partner."""

    name: str
    role: Role
    partner: str | None = None
    token_id: str | None = None

    @property
    def by(self) -> str:
        """What an event this principal writes records as ``by`` when the sender left it out."""
        return self.name

    def describe(self) -> dict[str, str | None]:
        """The principal as recorded on a write and in the access log (never the token)."""
        return {"name": self.name, "role": str(self.role), "partner": self.partner}


PUBLIC = Principal("public", Role.PUBLIC)


class EmployerNotFound(NotFound):
    """No such employer, as far as this principal may know (also another partner's)."""

    def __init__(self, employer: str) -> None:
        super().__init__(f"no employer {employer!r} in this ledger")


def may_read(principal: Principal, employer_partner: str | None) -> bool:
    """May ``principal`` read an employer registered with ``employer_partner`` (None: the
    employer is not registered)?"""
    if employer_partner is None:
        return False
    if principal.role is Role.REGULATOR:
        return True
    return principal.role is Role.PARTNER and principal.partner == employer_partner


def may_write(principal: Principal, employer_partner: str | None) -> bool:
    """May ``principal`` append events to an employer registered with ``employer_partner``?"""
    return (principal.role is Role.PARTNER and employer_partner is not None
            and principal.partner == employer_partner)


def readable_employer(store: LedgerStore, principal: Principal, employer: str) -> str | None:
    """The partner of ``employer``'s standing registration (None: all of them were voided)
    if ``principal`` may read it; else 401 for the public and 404 (as for an unknown
    employer) for everyone else. A regulator reads every employer ever registered; a
    partner only those whose standing registration is with it."""
    require_token(principal)
    holders = holders_of(store, [employer])
    if employer not in holders:
        raise EmployerNotFound(employer)
    partner = holders[employer]
    if principal.role is not Role.REGULATOR and not may_read(principal, partner):
        raise EmployerNotFound(employer)
    return partner


def require_token(principal: Principal) -> None:
    """401 for the anonymous public."""
    if principal.role is Role.PUBLIC:
        raise Unauthorized("this endpoint needs a token: Authorization: Bearer TOKEN")


def list_scope(principal: Principal) -> str | None:
    """The partner a list (lapses, roll, incentives) is limited to: the caller's own for a
    partner, None (every partner) for a regulator; 401/403 for the others."""
    require_token(principal)
    if principal.role is Role.REGULATOR:
        return None
    if principal.role is Role.PARTNER:
        return principal.partner
    raise Forbidden(f"the {principal.role} role reads no employer lists")
