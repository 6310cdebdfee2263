"""Which events a chain of voids leaves void: a void counts unless it is itself voided.

v1 voids a decision, v2 voids v1, v3 voids v2: v3 counts, so v2 does not, so v1 counts, so
the decision is void. Chains of any length resolve, because a void can only name an event
that exists before it: walking the voids from the last one back, each void's own fate is
already decided when it is reached.
"""

from __future__ import annotations

from collections.abc import Iterable


def voided_ids(voids: Iterable[tuple[str | None, str]]) -> set[str]:
    """The ids of the events that no longer count, given each void as ``(its own id, the id
    it targets)`` in the order the ledger holds them."""
    voided: set[str] = set()
    for void_id, target in reversed(list(voids)):
        if void_id is None or void_id not in voided:  # this void counts
            voided.add(target)
    return voided
