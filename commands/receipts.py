"""The ledger's own time axis on queries (``--ledger-at``, ``--tree-size``) and receipts.

``--ledger-at TIME`` keeps only the events the ledger had appended by then (the tree size of
the last write committed by that time), whatever their ``recorded_at``; ``--tree-size N``
keeps the first N entries of the log. Combined with ``--known-at`` they replay what the
ledger said at a moment. A receipt names the tree the answer was computed from (size and
root hash) and the log index of each event in ``because``, so anyone holding a later
checkpoint can prove the answer rested on exactly those events.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from storage.log import LogReader
    from storage.store import LedgerStore

F = TypeVar("F", bound=Callable[..., Any])


def _parse_time(ctx: click.Context | None, param: click.Parameter | None,
                value: str | None) -> datetime | None:
    from commands.status_cli import parse_known_at  # the one parser of query times

    return parse_known_at(ctx, param, value)


def ledger_axis_options(command: F) -> F:
    """Adds ``--ledger-at`` and ``--tree-size`` to a query command."""
    command = click.option(
        "--tree-size", type=click.IntRange(min=0), metavar="N",
        help="only the first N events of the ledger's log (a receipt's tree size)")(command)
    return click.option(
        "--ledger-at", callback=_parse_time, metavar="DATETIME",
        help="only the events the ledger had appended by this time, whatever their "
             "recorded_at (ISO date-time; a bare date is the end of that UTC day)")(command)


class PastTheLog(ValueError):
    """A ``tree_size`` larger than the ledger's log."""


def pin(store: LedgerStore, ledger_at: datetime | None, tree_size: int | None) -> int | None:
    """The tree size a query is pinned to on the ledger's own axis (None: not pinned): the
    one reading of ``--ledger-at``/``--tree-size`` and of the API's ``ledger_at``/``tree_size``
    (give one of them, not both); raises :class:`PastTheLog`."""
    if ledger_at is None and tree_size is None:
        return None
    with store.log() as log:
        size = log.size()
        if tree_size is not None:
            if tree_size > size:
                raise PastTheLog(f"the ledger's log has {size} events, not {tree_size}")
            return tree_size
        assert ledger_at is not None
        return log.size_at(ledger_at)


def pinned_size(store: LedgerStore, ledger_at: datetime | None, tree_size: int | None,
                ) -> int | None:
    """:func:`pin`, for a command's options."""
    if ledger_at is not None and tree_size is not None:
        raise click.UsageError("give --ledger-at or --tree-size, not both")
    try:
        return pin(store, ledger_at, tree_size)
    except PastTheLog as exc:
        raise click.BadParameter(str(exc), param_hint="--tree-size") from None


def pinned_text(tree_size: int | None) -> str:
    """How the human outputs say an answer was read on the ledger's own axis ("" if not)."""
    return "" if tree_size is None else f" (from the ledger's first {tree_size} events)"


def current_size(store: LedgerStore) -> int:
    with store.log() as log:
        return log.size()


def receipt(store: LedgerStore, tree_size: int, because: list[dict[str, Any]],
            ) -> dict[str, Any]:
    """The receipt of an answer computed from the first ``tree_size`` log entries."""
    with store.log() as log:
        return log_receipt(log, tree_size, because)


def log_receipt(log: LogReader, tree_size: int, because: list[dict[str, Any]],
                ) -> dict[str, Any]:
    """:func:`receipt`, from a log already open (the quick read-model answers read it on
    their own connection: :mod:`projections.sql.quick`)."""
    head = log.head(tree_size)
    root = head.root if head is not None else log.root(tree_size)
    events: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in because:
        event_id = entry.get("event")
        if not isinstance(event_id, str) or event_id in seen:
            continue
        seen.add(event_id)
        events.append({"event": event_id, "log_index": log.index_of_event_id(event_id)})
    return {"tree_size": tree_size, "root_hash": base64.b64encode(root).decode(),
            "events": events}


def receipt_lines(doc: dict[str, Any]) -> list[str]:
    """A receipt as lines of text, for the human outputs."""
    lines = [f"receipt: tree size {doc['tree_size']}, root {doc['root_hash']}"]
    lines += [f"  {e['event']} at log index {e['log_index']}" for e in doc["events"]]
    return lines
