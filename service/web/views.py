"""The pages' routes: employer timeline, roll, lapses, incentives, public verification, sign-in.

Who may see what is decided by :mod:`service.auth` exactly as for the JSON API (another
partner's employer is the same 404 as an unknown one); the pages differ only in how the caller
is known: a session cookie from :mod:`service.web.signin` instead of a bearer token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from marshmallow import EXCLUDE, Schema, ValidationError
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.wrappers import Response as BaseResponse

from ledger.events import PARTNERS
from projections.status import FLAG_ORDER
from service import params
from service.auth import PUBLIC, Principal, Role, list_scope, readable_employer
from service.context import decisions, store, today
from service.directory import employers_of
from service.verification import answers
from service.web import pages
from service.web.signin import (
    check_csrf,
    configure,
    csrf_token,
    session_principal,
    sign_in,
    sign_out,
)
from service.web.timeline import LATE_AFTER_DAYS

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/web-static")

MAX_UPLOAD = 64 * 1024  # bytes of an uploaded list of ids for /verify
ROLL_PAGE = 200  # rows per page of the roll (the CSV holds them all)
STATUSES = ("registered", "certified", "cancelled", "expired", "revoked")


@blueprint.record_once
def _setup(state: Any) -> None:
    configure(state.app)


@blueprint.context_processor
def _globals() -> dict[str, Any]:
    return {"viewer": session_principal(), "csrf_token": csrf_token, "Role": Role}


CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'")
"""Pages load only what this service serves; no other site may frame them."""


@blueprint.after_request
def _headers(response: BaseResponse) -> BaseResponse:
    """Pages hold one caller's data: no shared caching, no framing, nothing from elsewhere."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "web.static":
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
    return response


@blueprint.errorhandler(HTTPException)
def _error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return render_template("error.html", code=code, title=error.name,
                           message=error.description), code


# --- helpers --------------------------------------------------------------------------------------


def _signed_in() -> Principal | BaseResponse:
    """The session's principal, or a redirect to the sign-in page for the public."""
    principal = session_principal()
    if principal is PUBLIC or principal.role is Role.PUBLIC:
        return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
    return principal


def _args(schema: Schema) -> dict[str, Any]:
    """The query arguments, read with the API's schema (blank fields count as absent); a
    bad one is a 400 naming the field."""
    given = {k: v for k, v in request.args.items() if k in schema.fields and v.strip()}
    try:
        return schema.load(given, unknown=EXCLUDE)  # type: ignore[no-any-return]
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(map(str, why))}"
                             for field, why in exc.normalized_messages().items())
        raise BadRequest(problems) from None


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc:
        return target
    return url_for("web.roll")


# --- home and sign-in -----------------------------------------------------------------------------


@blueprint.get("/")
def home() -> str:
    return render_template("home.html")


@blueprint.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    error = None
    next_url = request.values.get("next")
    if request.method == "POST":
        error = check_csrf(request.form.get("csrf_token"))
        if error is None:
            principal = sign_in(request.form.get("token", ""))
            if principal is not None:
                return redirect(_safe_next(next_url))
            error = "That token is unknown or revoked."
            return render_template("signin.html", error=error, next=next_url), 401
        return render_template("signin.html", error=error, next=next_url), 400
    return render_template("signin.html", error=None, next=next_url)


@blueprint.post("/signout")
def signout() -> Any:
    error = check_csrf(request.form.get("csrf_token"))
    if error is not None:
        abort(400, description=error)
    sign_out()
    return redirect(url_for("web.home"))


# --- the employer page ----------------------------------------------------------------------------


@blueprint.get("/employers/<employer>")
def employer(employer: str) -> Any:
    principal = _signed_in()
    if not isinstance(principal, Principal):
        return principal
    args = _args(params.StatusArgs())
    as_of, known_at = args.get("as_of") or today(), args.get("known_at")
    ledger = store()
    readable_employer(ledger, principal, employer)
    stream = ledger.stream(employer)
    page = pages.employer_page(stream, employer, as_of, known_at, request.args.get("event"))
    receipt = (pages.event_receipt(ledger, stream, page.selected.key)
               if page.selected is not None else None)
    compare_args = _compare_args()
    compared = (pages.compared(stream, employer, compare_args.get("as_of") or as_of,
                               compare_args.get("known_at"), as_of, known_at)
                if compare_args else None)
    view: dict[str, Any] = {"as_of": as_of.isoformat()}
    if known_at is not None:
        view["known_at"] = _iso(known_at)

    def event_href(key: str) -> str:
        return url_for("web.employer", employer=employer, **view, event=key,
                       _anchor="decision")

    index = sum(1 for m in page.moments if known_at is None or m <= known_at)
    return render_template("employer.html", page=page, tl=page.chart, event_href=event_href,
                           employer=employer, as_of=as_of, known_at=known_at,
                           moments=[_iso(m) for m in page.moments],
                           slider=len(page.moments) if known_at is None else index,
                           iso=_iso, late_days=LATE_AFTER_DAYS, receipt=receipt,
                           compared=compared, compare_args=compare_args)


def _compare_args() -> dict[str, Any]:
    """The other view of the compare section (``compare_as_of``, ``compare_known_at``),
    read with the same schema as the page's own view."""
    given = {name.removeprefix("compare_"): value for name, value in request.args.items()
             if name in ("compare_as_of", "compare_known_at") and value.strip()}
    try:
        return params.StatusArgs().load(given)  # type: ignore[no-any-return]
    except ValidationError as exc:
        problems = "; ".join(f"compare_{field}: {' '.join(map(str, why))}"
                             for field, why in exc.normalized_messages().items())
        raise BadRequest(problems) from None


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- lists ----------------------------------------------------------------------------------------


def _roll_rows(principal: Principal) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    scope = list_scope(principal)
    as_of = _args(params.RollArgs(only=("as_of",))).get("as_of") or today()
    filters: dict[str, Any] = {"query": request.args.get("q", ""),
               "partner": request.args.get("partner") or None,
               "status": request.args.get("status") or None,
               "flag": request.args.get("flag") or None}
    rows = pages.roll(store(), as_of, scope, **filters)
    return rows, {**filters, "as_of": as_of, "scope": scope}


@blueprint.get("/roll")
def roll() -> Any:
    principal = _signed_in()
    if not isinstance(principal, Principal):
        return principal
    rows, chosen = _roll_rows(principal)
    pages_total = max(1, -(-len(rows) // ROLL_PAGE))
    asked = request.args.get("page", "1")
    number = min(int(asked), pages_total) if asked.isdigit() and int(asked) > 0 else 1
    first = (number - 1) * ROLL_PAGE

    def page_url(n: int) -> str:
        args: dict[str, Any] = {**request.args.to_dict(), "page": str(n)}
        return url_for("web.roll", **args)

    return render_template("roll.html", rows=rows[first:first + ROLL_PAGE], total=len(rows),
                           first=first, page=number, pages=pages_total, page_url=page_url,
                           chosen=chosen, partners=PARTNERS, statuses=STATUSES,
                           flags=FLAG_ORDER, csv_url=url_for("web.roll_csv") + _query())


def _query() -> str:
    text = request.query_string.decode("latin-1")
    return f"?{text}" if text else ""


@blueprint.get("/roll.csv")
def roll_csv() -> Any:
    principal = _signed_in()
    if not isinstance(principal, Principal):
        return principal
    rows, chosen = _roll_rows(principal)
    name = f"roll-{chosen['as_of'].isoformat()}.csv"
    return Response(pages.to_csv(rows, pages.ROLL_COLUMNS), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/lapses")
def lapses() -> Any:
    principal = _signed_in()
    if not isinstance(principal, Principal):
        return principal
    scope = list_scope(principal)
    args = _args(params.LapsesArgs())
    as_of, within = args.get("as_of") or today(), args["within"]
    entries = pages.lapses(store(), as_of, within, scope, partner=args.get("partner"))
    return render_template("lapses.html", entries=entries, as_of=as_of, within=within)


@blueprint.get("/incentives")
def incentives() -> Any:
    principal = _signed_in()
    if not isinstance(principal, Principal):
        return principal
    scope = list_scope(principal)
    year = _args(params.IncentivesArgs(only=("year",), partial=True)).get("year") \
        or today().year - 1
    docs, totals = pages.incentives(store(), employers_of(store(), scope), year, today(),
                                   decisions())
    return render_template("incentives.html", docs=docs, totals=totals, year=year,
                           reasons=pages.reasons)


# --- public verification --------------------------------------------------------------------------


@blueprint.route("/verify", methods=["GET", "POST"])
def verify() -> Any:
    """Anyone may check up to 150 employers: pasted (``ids``) or uploaded (``file``)."""
    text = request.values.get("ids", "")
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        content = upload.read(MAX_UPLOAD + 1)
        error = None
        if len(content) > MAX_UPLOAD:
            error = f"{upload.filename}: larger than {MAX_UPLOAD // 1024} KiB, nothing was read"
        else:
            try:
                text += "\n" + content.decode("utf-8")
            except UnicodeDecodeError:
                error = f"{upload.filename}: not UTF-8 text"
        if error is not None:
            return render_template("verify.html", text=text, rows=None, error=error,
                                   limit=params.MAX_VERIFY), 400
    try:
        ids = pages.parse_ids(text)
    except pages.TooMany as exc:
        return render_template("verify.html", text=text, rows=None, error=str(exc)), 400
    rows = answers(store(), ids, today()) if ids else None
    return render_template("verify.html", text=text, rows=rows, error=None,
                           today=today(), limit=params.MAX_VERIFY)
