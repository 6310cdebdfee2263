"""The JSON API, version 1 (``/v1``): events in, status, explanations, lists and rules out.

Each view asks :mod:`service.auth` who may see what and answers from the same functions the
CLI uses (the read models, the folds, the incentive decision), so the API and the CLI cannot
disagree. Lists take ``Accept: text/csv`` for CSV.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import orjson
from flask import Response, request, url_for
from flask_smorest import Blueprint, abort
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge

from commands.csvout import render as render_csv
from commands.diff_cli import changes_csv, changes_document, diff_document
from commands.importer import ImportRefused, LineError
from commands.incentive_cli import incentive_document, incentives_csv
from commands.options import check_reach
from commands.projections_cli import roll_rows, write_roll_csv
from commands.receipts import PastTheLog, pin
from commands.rules_cli import catalogue
from commands.scan import check_scan_date, scan
from commands.status_cli import (
    LAPSE_COLUMNS,
    explained,
    lapse_entries,
    named_lapses,
    status_document,
)
from ledger.codec import event_to_state, format_time_or_none
from projections.diff import View
from projections.incentive import asked_on, summarize
from projections.sql.payment_run import payment_run
from service import params
from service.auth import Role, list_scope, readable_employer, require_token
from service.context import decisions, now, principal, scan_settings, store, today
from service.directory import employers_of
from service.importing import BodyError, TenancyRefused, import_body
from service.problems import Problem
from service.verification import answers
from storage.log import LogDamaged
from storage.store import StoreError

events_blp = Blueprint("events", __name__, url_prefix="/v1",
                       description="Appending events (partners, operators)")
employers_blp = Blueprint("employers", __name__, url_prefix="/v1/employers",
                          description="One employer (its partner and regulators)")
lists_blp = Blueprint("lists", __name__, url_prefix="/v1",
                      description="Lists, scoped to the caller's partner (all for regulators)")
public_blp = Blueprint("public", __name__, url_prefix="/v1",
                       description="Public: rules and contractor verification (no token)")
operations_blp = Blueprint("operations", __name__, url_prefix="/v1",
                           description="Operators: lapse scans")

BLUEPRINTS = (events_blp, employers_blp, lists_blp, public_blp, operations_blp)

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
CSV_TYPE = "text/csv"


def json_response(document: Any, status: int = 200) -> Response:
    """A JSON response (dates ISO, ``Decimal`` as strings), as the CLI's ``--json`` prints."""
    return Response(orjson.dumps(document, default=str), status=status,
                    mimetype="application/json")


def wants_csv() -> bool:
    """Did the caller ask for CSV (``Accept: text/csv`` preferred to JSON)?"""
    best = request.accept_mimetypes.best_match(["application/json", CSV_TYPE])
    return best == CSV_TYPE and request.accept_mimetypes[CSV_TYPE] > \
        request.accept_mimetypes["application/json"]


def csv_response(write: Callable[[Any], None]) -> Response:
    buffer = io.StringIO()
    write(buffer)
    return Response(buffer.getvalue(), mimetype=CSV_TYPE)


# --- writing ----------------------------------------------------------------------------------


def _line_errors(errors: list[LineError]) -> list[dict[str, Any]]:
    return [{"line": e.line, "field": e.field, "message": e.message} for e in errors]


def read_body() -> bytes:
    """The whole request body, or 413. Read to its end in pieces: a chunked body (no
    Content-Length) is cut at the limit by werkzeug, and only a read past the cut raises, so
    one ``get_data()`` would import a truncated body."""
    parts = []
    while chunk := request.stream.read(1 << 16):
        parts.append(chunk)
    return b"".join(parts)


@events_blp.route("/events", methods=["POST"])
@events_blp.doc(
    summary="Append events (a JSON array or JSONL), whole or not at all",
    description="The same atomic, idempotent import as `corledger import`. A partner writes "
                "only its own employers' events; an operator only reference data. `by` "
                "left out is the caller's name. Refused whole (422) with every line and "
                "field; 413 above the body limit.",
    security=BEARER,
    requestBody={"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "application/x-ndjson": {"schema": {"type": "string"}}}},
    responses={"200": {"description": "imported: events added and skipped"},
               "401": {"description": "no token, or an unknown or revoked one"},
               "403": {"description": "this role writes no events"},
               "413": {"description": "the body is over the limit"},
               "422": {"description": "refused, nothing imported: every line and field"}})
def post_events() -> Response:
    who = principal()
    require_token(who)
    if who.role not in (Role.PARTNER, Role.OPERATOR):
        raise Forbidden(f"the {who.role} role writes no events")
    try:
        body = read_body()
    except RequestEntityTooLarge:
        limit = request.max_content_length
        raise Problem(413, "body-too-large", f"the body is larger than {limit} bytes, the "
                      "service's limit: split the events into several requests (each is "
                      "imported whole or not at all)", limit=limit) from None
    try:
        result = import_body(store(), who, body, now())
    except BodyError as exc:
        raise Problem(400, "bad-body", f"body: {exc}") from None
    except TenancyRefused as refused:
        raise Problem(422, "import-refused", "refused, nothing was imported: lines name "
                      "what this token may not write", errors=_line_errors(refused.errors),
                      truncated=refused.truncated) from None
    except ImportRefused as refused:
        raise Problem(422, "import-refused", "refused, nothing was imported",
                      errors=_line_errors(refused.errors),
                      truncated=refused.truncated) from None
    except StoreError as exc:
        raise Problem(503, "store-unavailable", f"not imported: {exc}") from None
    except LogDamaged as exc:  # the log refuses writes until an operator looks at it
        raise Problem(503, "log-damaged", f"not imported: {exc}") from None
    return json_response({"added": result.added, "skipped": result.skipped,
                          "lines": result.lines, "by": who.describe()})


def pinned(args: dict[str, Any]) -> int | None:
    """The tree size ``ledger_at``/``tree_size`` pin a query to (None: not pinned), as the
    command line reads them (:func:`commands.receipts.pin`)."""
    size: int | None = None
    try:
        size = pin(store(), args.get("ledger_at"), args.get("tree_size"))
    except PastTheLog as exc:
        abort(422, errors={"query": {"tree_size": [str(exc)]}})
    return size


# --- one employer -----------------------------------------------------------------------------

EMPLOYER_RESPONSES = {"401": {"description": "no token, or an unknown or revoked one"},
                      "404": {"description": "no such employer, or not the caller's"}}


@employers_blp.route("/<employer>")
@employers_blp.arguments(params.StatusArgs, location="query")
@employers_blp.doc(summary="Certification status on a date, as known at a time",
                   security=BEARER, responses=EMPLOYER_RESPONSES)
def employer_status(args: dict[str, Any], employer: str) -> Response:
    readable_employer(store(), principal(), employer)
    doc, _ = status_document(store(), employer, args.get("as_of") or today(),
                             args.get("known_at"), pinned(args))
    return json_response(doc)


@employers_blp.route("/<employer>/explain")
@employers_blp.arguments(params.StatusArgs, location="query")
@employers_blp.doc(summary="The status with every decision, its rule, version and source: "
                           "the document of `corledger explain --json`, with its receipt",
                   security=BEARER, responses=EMPLOYER_RESPONSES)
def employer_explain(args: dict[str, Any], employer: str) -> Response:
    readable_employer(store(), principal(), employer)
    return json_response(explained(store(), employer, args.get("as_of") or today(),
                                   args.get("known_at"), pinned(args)))


@employers_blp.route("/<employer>/history")
@employers_blp.arguments(params.HistoryArgs, location="query")
@employers_blp.doc(summary="Every event in the order received, a page at a time",
                   description="`after` is the last position seen; `next` links the next "
                               "page (null on the last).",
                   security=BEARER, responses=EMPLOYER_RESPONSES)
def employer_history(args: dict[str, Any], employer: str) -> Response:
    readable_employer(store(), principal(), employer)
    after, limit, size = args["after"], args["limit"], pinned(args)
    events = [e for e in store().stream(employer, size) if e.originator_version > after]
    page = events[:limit]
    rows = [{"position": e.originator_version, "type": type(e).__name__, **event_to_state(e)}
            for e in page]
    more = len(events) > limit
    # the next page, on the same pin
    pin_kept: dict[str, Any] = {} if size is None else {"tree_size": size}
    return json_response({
        "employer": employer, "events": rows,
        "next": url_for(".employer_history", employer=employer, limit=limit,
                        after=page[-1].originator_version, **pin_kept) if more else None})


@employers_blp.route("/<employer>/incentive")
@employers_blp.arguments(params.IncentiveArgs, location="query")
@employers_blp.doc(summary="Incentive eligibility and amount for a certification year",
                   security=BEARER, responses=EMPLOYER_RESPONSES)
def employer_incentive(args: dict[str, Any], employer: str) -> Response:
    readable_employer(store(), principal(), employer)
    known_at = args.get("known_at")
    return json_response(incentive_document(store(), employer, args["year"], known_at,
                                            asked_on(today(), known_at), pinned(args)))


@employers_blp.route("/<employer>/diff")
@employers_blp.arguments(params.DiffArgs, location="query")
@employers_blp.doc(summary="What differs between two views of the status, and why",
                   description="`from` and `to` are `AS_OF[@KNOWN_AT]`; each differing field "
                               "names the events and rules, or the calendar, behind it "
                               "(as `corledger diff --json`).",
                   security=BEARER, responses=EMPLOYER_RESPONSES)
def employer_diff(args: dict[str, Any], employer: str) -> Response:
    readable_employer(store(), principal(), employer)
    (from_day, from_at), (to_day, to_at) = args["from_"], args.get("to") or (None, None)
    document, _ = diff_document(store(), employer, View(from_day or today(), from_at),
                                View(to_day or today(), to_at), args.get("year"), today(),
                                pinned(args))
    return json_response(document)


# --- lists ------------------------------------------------------------------------------------

LIST_RESPONSES = {"401": {"description": "no token, or an unknown or revoked one"},
                  "403": {"description": "this role reads no employer lists, or another "
                                         "partner's"}}


def _partner_filter(asked: str | None) -> str | None:
    """The partner a list is limited to: the caller's scope, narrowed by ``?partner=``."""
    scope = list_scope(principal())
    if scope is not None and asked is not None and asked != scope:
        raise Forbidden(f"a {scope} token reads {scope}'s employers only")
    return scope if scope is not None else asked


@lists_blp.route("/lapses")
@lists_blp.arguments(params.LapsesArgs, location="query")
@lists_blp.doc(summary="Employers whose next required audit is due within DAYS, or missed",
               security=BEARER, responses=LIST_RESPONSES)
def lapses(args: dict[str, Any]) -> Response:
    partner = _partner_filter(args.get("partner"))
    as_of, known_at, size = args.get("as_of") or today(), args.get("known_at"), pinned(args)
    entries = lapse_entries(store(), as_of, args["within"], partner, known_at, size)
    if wants_csv():
        rows = named_lapses(store(), entries, known_at, size)
        return csv_response(lambda stream: stream.write(render_csv(LAPSE_COLUMNS, rows)))
    return json_response({"as_of": as_of.isoformat(), "within": args["within"],
                          "partner": partner, "known_at": format_time_or_none(known_at),
                          "lapses": entries})


@lists_blp.route("/roll")
@lists_blp.arguments(params.RollArgs, location="query")
@lists_blp.doc(summary="Every registered employer's status on a date: the regulator's list",
               security=BEARER, responses=LIST_RESPONSES)
def roll(args: dict[str, Any]) -> Response:
    partner = _partner_filter(args.get("partner"))
    as_of, known_at = args.get("as_of") or today(), args.get("known_at")
    rows = roll_rows(store(), as_of, partner, known_at, pinned(args))
    if wants_csv():
        return csv_response(lambda stream: write_roll_csv(rows, stream))
    return json_response({"as_of": as_of.isoformat(), "partner": partner,
                          "known_at": format_time_or_none(known_at), "employers": rows})


@lists_blp.route("/incentives")
@lists_blp.arguments(params.IncentivesArgs, location="query")
@lists_blp.doc(summary="Every employer's incentive decision for a year, with totals",
               security=BEARER, responses=LIST_RESPONSES)
def incentives(args: dict[str, Any]) -> Response:
    partner = _partner_filter(args.get("partner"))
    s = store()
    year, known_at, size = args["year"], args.get("known_at"), pinned(args)
    asked = asked_on(today(), known_at)
    if size is None:  # the kept runs follow the ledger's present
        docs = decisions().run(s, employers_of(s, partner), year, known_at=known_at,
                               asked_on=asked)
    else:
        docs = payment_run(s, employers_of(s, partner), year, known_at=known_at,
                           asked_on=asked, tree_size=size)
    if wants_csv():
        return Response(incentives_csv(docs), mimetype=CSV_TYPE)
    return json_response({
        "year": year, "partner": partner,
        "known_at": None if known_at is None else known_at.isoformat().replace("+00:00", "Z"),
        "decisions": docs, "totals": summarize(docs)})


@lists_blp.route("/changes")
@lists_blp.arguments(params.ChangesArgs, location="query")
@lists_blp.doc(summary="Every employer whose status reads differently as known at two times",
               description="Reads only the employers events recorded in the interval touched "
                           "(as `corledger changes --json`).",
               security=BEARER, responses=LIST_RESPONSES)
def changes(args: dict[str, Any]) -> Response:
    partner = _partner_filter(args.get("partner"))
    as_of = args.get("as_of") or today()
    document = changes_document(store(), args["since"], args.get("until"), as_of, partner,
                                pinned(args))
    if wants_csv():
        return Response(changes_csv(document["changed"], as_of), mimetype=CSV_TYPE)
    return json_response(document)


# --- public -----------------------------------------------------------------------------------


@public_blp.route("/rules")
@public_blp.arguments(params.RulesArgs, location="query")
@public_blp.doc(summary="Every version of every rule: id, partner, in force since, source")
def rules(args: dict[str, Any]) -> Response:
    """The same catalogue as ``corledger rules --json``, optionally one partner's rules."""
    partner = args.get("partner")
    return json_response({"rules": [entry for entry in catalogue()
                                    if partner is None or partner in entry["partners"]]})


@public_blp.route("/verify")
@public_blp.arguments(params.VerifyArgs, location="query")
@public_blp.doc(summary="Does a contractor hold a COR today? Up to 150 employers at once",
                description="For each `employer=ID`: its id, name, partner, status today "
                            "and certificate expiry; nothing else. An id the ledger does not "
                            "hold is `unregistered`.")
def verify(args: dict[str, Any]) -> Response:
    on = today()
    return json_response({"as_of": on.isoformat(),
                          "employers": answers(store(), args["employer"], on)})


# --- operations -------------------------------------------------------------------------------


@operations_blp.route("/scan", methods=["POST"])
@operations_blp.arguments(params.ScanArgs, location="query")
@operations_blp.doc(summary="Run one lapse scan (operators): flags employers at risk, once",
                    security=BEARER,
                    responses={"401": {"description": "no token, or an unknown or revoked "
                                                      "one"},
                               "403": {"description": "only operators run scans"}})
def run_scan(args: dict[str, Any]) -> Response:
    who = principal()
    require_token(who)
    if who.role is not Role.OPERATOR:
        raise Forbidden("only an operator runs scans")
    on = today()
    as_of = args.get("as_of") or on
    within = scan_settings().window(args.get("within"))
    try:
        check_scan_date(as_of, on)  # the command line's rule: a flag is not a forecast
        check_reach(as_of, within)
    except ValueError as exc:
        abort(422, errors={"query": {"as_of": [str(exc)]}})
    try:
        result = scan(store(), [as_of], within, now())
    except LogDamaged as exc:
        raise Problem(503, "log-damaged", f"not scanned: {exc}") from None
    return json_response(result.to_json())
