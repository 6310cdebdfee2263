"""``POST /v1/events``: the CLI's import (same validation, same stored bytes, same refusals),
limited to what the caller may write and recording who wrote it.

The body is a JSON array of events or JSONL (one event a line). Before the importer sees it:

- each line must be one the caller may write: a partner writes events of the employers
  registered with its partner (or registered with it earlier in the same body) and registers
  employers only with itself; an operator writes reference data (base rates) only. Any line
  outside that refuses the whole body (nothing is written), naming the line and field. An
  employer of another partner is refused in the same words as one not registered at all;
- an event without ``by`` gets the caller's name as ``by``.

Then :class:`commands.importer.Importer` imports it, whole or not at all, exactly as
``corledger import`` does; its refusals come back line by line.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

import orjson

from commands.importer import MAX_ERRORS, MAX_LINE_BYTES, Importer, ImportResult, LineError
from ledger.events import EVENT_TYPES
from service.auth import Principal, Role
from service.directory import partners_of
from storage.store import LedgerStore, Writer


class BodyError(Exception):
    """The body as a whole cannot be read as events (not a JSON array, not UTF-8 JSONL)."""


class TenancyRefused(Exception):
    """Lines the caller may not write; nothing was written."""

    def __init__(self, errors: list[LineError], truncated: bool = False) -> None:
        super().__init__("; ".join(str(e) for e in errors[:3]))
        self.errors = errors
        self.truncated = truncated


def body_lines(body: bytes) -> list[bytes]:
    """The body as JSONL lines, numbered as the CLI numbers a file's: a JSON array's
    elements are lines 1, 2, ...; a JSONL body's lines keep their numbers (blank ones too)."""
    if body.lstrip()[:1] == b"[":
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BodyError(f"not a JSON array of events ({exc})") from None
        if not isinstance(items, list):  # pragma: no cover - starts with "[", parsed as one
            raise BodyError("expected a JSON array of events")
        return [orjson.dumps(item) for item in items]
    return body.split(b"\n")


def _objects(lines: list[bytes]) -> Iterator[tuple[int, dict[str, Any] | None]]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip() or len(raw) > MAX_LINE_BYTES:
            yield number, None
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            obj = None
        yield number, obj if isinstance(obj, dict) else None


def check_tenancy(store: LedgerStore, principal: Principal, lines: list[bytes],
                  ) -> dict[str, int]:
    """Raises :class:`TenancyRefused` naming every line ``principal`` may not write; returns
    the employers the lines register that no partner holds yet, with their line numbers."""
    parsed = list(_objects(lines))
    named = {obj["employer"] for _, obj in parsed
             if obj is not None and isinstance(obj.get("employer"), str)}
    owners = partners_of(store, named) if principal.role is Role.PARTNER else {}
    mine = principal.partner
    errors: list[LineError] = []
    new: dict[str, int] = {}
    for number, obj in parsed:
        if obj is None:
            continue  # the importer refuses it with the CLI's words
        kind = obj.get("type")
        cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            continue
        if cls.reference:
            if principal.role is not Role.OPERATOR:
                errors.append(LineError(number, "type", f"{kind} is reference data, written "
                                        "by an operator"))
            continue
        if principal.role is not Role.PARTNER:
            errors.append(LineError(number, "type", f"{kind} is an employer's event, written "
                                    "by the employer's partner"))
            continue
        employer = obj.get("employer")
        if not isinstance(employer, str):
            continue
        owner = owners.get(employer)
        if kind == "EmployerRegistered":
            data = obj.get("data")
            partner = data.get("partner") if isinstance(data, dict) else None
            if partner != mine:
                errors.append(LineError(number, "data.partner", f"a {mine} token registers "
                                        f"employers with {mine} only, not {partner!r}"))
            elif owner is not None and owner != mine:
                errors.append(LineError(number, "employer", f"{employer!r} cannot be "
                                        f"registered with {mine}: the id is taken"))
            elif owner is None and mine is not None:
                owners[employer] = mine  # registered earlier in this body, for what follows
                new[employer] = number
        elif owner != mine:
            errors.append(LineError(number, "employer",
                                    f"{employer!r} is not registered with {mine}"))
        if len(errors) >= MAX_ERRORS:
            raise TenancyRefused(errors, truncated=True)
    if errors:
        raise TenancyRefused(errors)
    return new


def recheck_new(store: LedgerStore, principal: Principal, new: dict[str, int]) -> None:
    """Raises :class:`TenancyRefused` when another partner registered one of the ``new``
    employers since :func:`check_tenancy` looked (two partners registering one id at once).

    Called while the import holds the ledger's write lock, before it commits: every other
    write has committed or waits, so a fresh read sees any registration that beat this one.
    """
    if not new:
        return
    taken = {e: p for e, p in partners_of(store, new).items() if p != principal.partner}
    if taken:
        raise TenancyRefused([
            LineError(new[e], "employer", f"{e!r} cannot be registered with "
                      f"{principal.partner}: the id is taken") for e in sorted(taken)])


class _RecheckingStore:
    """The store, whose write transaction re-checks new registrations before committing."""

    def __init__(self, store: LedgerStore, check: Callable[[], None]) -> None:
        self.store = store
        self.check = check

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        with self.store.writer() as writer:
            yield writer
            self.check()  # raising here rolls the whole import back


def with_by(lines: list[bytes], by: str) -> list[bytes]:
    """The lines, each event without a ``by`` given ``by``; other lines as they came."""
    out: list[bytes] = []
    for raw, (_, obj) in zip(lines, _objects(lines), strict=True):
        if obj is not None and "by" not in obj:
            obj["by"] = by
            out.append(orjson.dumps(obj))
        else:
            out.append(raw)
    return out


def import_body(store: LedgerStore, principal: Principal, body: bytes,
                now: datetime) -> ImportResult:
    """Checks and imports a request body; raises :class:`BodyError`,
    :class:`TenancyRefused` or the importer's ``ImportRefused``."""
    lines = body_lines(body)
    return import_lines(store, principal, lines, check_tenancy(store, principal, lines), now)


def import_lines(store: LedgerStore, principal: Principal, lines: list[bytes],
                 new: dict[str, int], now: datetime) -> ImportResult:
    """Imports lines :func:`check_tenancy` passed (``new``: what it returned), ``by``
    defaulting to the principal's name, re-checking the new registrations before commit."""
    stream = io.BytesIO(b"\n".join(with_by(lines, principal.by)))
    checked = _RecheckingStore(store, lambda: recheck_new(store, principal, new))
    return Importer(cast(LedgerStore, checked), now=now).run(stream)
