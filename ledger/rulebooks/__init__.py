"""The partners' rulebooks: versioned rules as data, looked up by partner and date.

``rulebook_for("BCCSA", date(2023, 6, 1))`` gives the BCCSA rules in force on that date.
``RULES`` is the registry of every version; tests extend it with ``RULES.with_rules(...)``.
"""

from __future__ import annotations

from datetime import date

from ledger.rulebooks import amhsa, bccsa, cycle, generic, go2hr, worksafebc
from ledger.rulebooks.base import (
    EITHER,
    EXTERNAL,
    INTERNAL,
    V1,
    MaintenanceDue,
    PassResult,
    Rule,
    Rulebook,
    RuleRegistry,
    add_days,
    add_years,
)

RULES = RuleRegistry([*cycle.RULES, *generic.RULES, *bccsa.RULES, *go2hr.RULES,
                      *amhsa.RULES, *worksafebc.RULES])


def rulebook_for(partner: str, on: date, registry: RuleRegistry | None = None) -> Rulebook:
    """The rules of ``partner`` in force on ``on`` (from ``registry``, default ``RULES``)."""
    return (registry or RULES).rulebook_for(partner, on)


__all__ = [
    "EITHER", "EXTERNAL", "INTERNAL", "RULES", "V1", "MaintenanceDue", "PassResult", "Rule",
    "RuleRegistry", "Rulebook", "add_days", "add_years", "rulebook_for",
]
