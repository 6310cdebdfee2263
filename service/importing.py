"""``POST /v1/events``: the CLI's import (same validation, same stored bytes, same refusals),
limited to what the caller may write and recording who wrote it.

The body is a JSON array of events or JSONL (one event a line). Before the importer sees it:

- each line must be one the caller may write: a partner writes events of the employers
  registered with its partner (or registered with it earlier in the same body) and registers
  employers only with itself; an operator writes reference data (base rates) only. Any line
  outside that refuses the whole body (nothing is written), naming the line and field. An
  employer of another partner is refused in the same words as one not registered at all;
- an event without ``by`` gets the caller's name as ``by``. Idempotency still compares the
  object as submitted (DOMAIN.md, "Ids": "the same content" means the submitted JSON
  object): the importer is told each stamped line's submitted hash, stores that, and takes
  a line already stored under the stamped line's hash (how the service stored it before)
  as the same too. So the same object re-sent by another token, or by ``corledger import``,
  is skipped.

Then :class:`commands.importer.Importer` imports it, whole or not at all, exactly as
``corledger import`` does; its refusals come back line by line.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson

from commands.importer import (
    BOM,
    MAX_ERRORS,
    MAX_LINE_BYTES,
    Importer,
    ImportRefused,
    ImportResult,
    LineError,
    content_hash,
    duplicate_key,
    inexact_number,
    key_given_twice,
)
from commands.session import batch_recorder
from ledger.events import EVENT_TYPES, EventVoided
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
    """The body as JSONL lines, exactly as the importer will read them and numbered as the
    CLI numbers a file's: a JSON array's elements are lines 1, 2, ...; a JSONL body's lines
    keep their numbers (blank ones too), with the byte order mark the importer drops from
    the first line dropped here too, so that every check reads the lines it imports.

    Raises :class:`ImportRefused` for an element the importer could not be given as it
    came: a key given twice or a number written more precisely than it is read (a line of
    its own would be refused for either; written back, the line would hide it), or a value
    nested deeper than a line can be written."""
    if body.startswith(BOM):
        body = body[len(BOM):]
    if body.lstrip()[:1] != b"[":
        return body.split(b"\n")
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"not a JSON array of events ({exc})") from None
    if not isinstance(items, list):  # pragma: no cover - starts with "[", parsed as one
        raise BodyError("expected a JSON array of events")
    lines: list[bytes] = []
    errors: list[LineError] = []
    for number, item in enumerate(items, start=1):
        try:
            lines.append(orjson.dumps(item))
        except orjson.JSONEncodeError:
            errors.append(LineError(number, "line", "is nested too deeply"))
    if not errors and key_given_twice(body, orjson.dumps(items, option=orjson.OPT_SORT_KEYS)):
        errors = _twice_in_array(body)
    if not errors:
        inexact = inexact_number(body, items)
        if inexact is not None:
            errors = [_element_error(*inexact)]
    if errors:
        raise ImportRefused(errors[:MAX_ERRORS], truncated=len(errors) > MAX_ERRORS)
    return lines


def _twice_in_array(body: bytes) -> list[LineError]:
    """The elements of a JSON array body with a key given twice, each named by its path
    (the array's own index left out, as a line's)."""
    path = duplicate_key(body)
    if path is None:  # pragma: no cover - the fast test only says it may have one
        return []
    index, _, rest = path.partition(".")
    if not index.isdigit():
        return [LineError(1, "line", "a key is given twice")]
    return [LineError(int(index) + 1, rest or "line", "is given twice in one JSON object (a "
                      "reader taking the first value would see another event)")]


def _element_error(path: str, message: str) -> LineError:
    """A refusal of an array body's element at ``path`` (``3.data.overall``), as a line's."""
    index, _, rest = path.partition(".")
    if not index.isdigit():  # pragma: no cover - the array itself holds no number
        return LineError(1, "line", message)
    return LineError(int(index) + 1, rest or "line", message)


def _objects(lines: list[bytes]) -> Iterator[tuple[int, dict[str, Any] | None]]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip() or len(raw) > MAX_LINE_BYTES:
            yield number, None
            continue
        try:
            obj = orjson.loads(raw)
            orjson.dumps(obj)  # what cannot be written back, the importer refuses
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
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
        if cls.reference or (cls is EventVoided and obj.get("employer") is None):
            if principal.role is not Role.OPERATOR:  # reference data, or a void of it
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


def with_by(lines: list[bytes], by: str) -> tuple[list[bytes], dict[int, str]]:
    """The lines, each event without a ``by`` given ``by``, other lines as they came; and,
    for each line given ``by`` (by its number), the hash of the object as submitted."""
    out: list[bytes] = []
    submitted: dict[int, str] = {}
    for raw, (number, obj) in zip(lines, _objects(lines), strict=True):
        # A line with a key given twice, or a number written more precisely than it is
        # read, goes on as it came, for the importer to refuse: re-serialising it would keep
        # only the last value and hide the duplicate, or write the number as it was read.
        if obj is not None and "by" not in obj and key_given_twice(
                raw, orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)) is None \
                and inexact_number(raw, obj) is None:
            submitted[number] = content_hash(obj)
            obj["by"] = by
            out.append(orjson.dumps(obj))
        else:
            out.append(raw)
    return out, submitted


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
    stamped, submitted = with_by(lines, principal.by)
    stream = io.BytesIO(b"\n".join(stamped))
    digest = hashlib.sha256(b"\n".join(lines)).hexdigest()  # a JSONL body as received
    record = batch_recorder("api", principal.by, lambda: digest, now, lambda: now)

    def before_commit(writer: Writer, result: ImportResult) -> None:
        # Inside the import's write transaction, once it is whole: raising rolls it back.
        recheck_new(store, principal, new)
        record(writer, result)

    # The store itself, as `corledger import` is given it: the importer reads what it
    # needs of it (stream heads, an employer's flags) through the store's own interface.
    return Importer(store, now=now, on_commit=before_commit, submitted=submitted,
                    may_know=lambda employer: may_know(store, principal, employer)).run(stream)


def may_know(store: LedgerStore, principal: Principal, employer: str | None) -> bool:
    """Whether ``principal`` may know of the events of ``employer`` (None: the reference
    data, which everyone reads): a partner its own employers', an operator none."""
    if employer is None:
        return True
    return principal.role is Role.PARTNER and \
        partners_of(store, {employer}).get(employer) == principal.partner
