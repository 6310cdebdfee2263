"""Which ids a set of voids leaves out, void chains resolved: pure, so that both the folds
(:mod:`projections.voids`) and the store's registration index (:mod:`storage.store`, written by
the importer and recomputed by ``verify``) resolve chains by this one function."""

from __future__ import annotations

from collections.abc import Iterable


def voided_ids(voids: Iterable[tuple[str | None, str]]) -> set[str]:
    """The ids that no longer count, given the known voids as ``(void id, target)`` pairs.

    An event is void when some void of it counts; a void counts unless it is itself void.
    Resolved without recursion (a chain may be long); a cycle, which import cannot produce
    (a void names an event already in the ledger), resolves its members as counting.
    """
    voiders: dict[str, list[str | None]] = {}
    for void_id, target in voids:
        voiders.setdefault(target, []).append(void_id)
    counts: dict[str, bool] = {}  # event id -> it still counts

    def resolved(event_id: str) -> bool:
        stack = [event_id]
        on_stack = {event_id}
        while stack:
            top = stack[-1]
            pending = [v for v in voiders.get(top, ()) if v is not None and v not in counts]
            fresh = [v for v in pending if v not in on_stack]
            if fresh:
                stack.extend(fresh)
                on_stack.update(fresh)
                continue
            stack.pop()
            on_stack.discard(top)
            counts[top] = not any(v is None or counts.get(v, True)
                                  for v in voiders.get(top, ()))
        return counts[event_id]

    return {target for target in voiders if not resolved(target)}
