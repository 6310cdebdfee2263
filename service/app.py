"""The WSGI app: ``create_app(db_url)`` builds the Flask app that ``corledger serve`` runs.

It wires the store and clock (:mod:`service.context`), resolves the caller from its bearer
token (:mod:`service.tokens`) before every request, answers every error as RFC 9457
problem+json (:mod:`service.problems`), adds ``ETag``s (``If-None-Match`` gives 304), writes
a structured access log without tokens, and registers the JSON API (``/v1``), the OpenAPI
document (``/openapi.json``), a docs page (``/docs``), ``/health`` and, when the module
exists, the server-rendered pages (``service.web``'s ``blueprint``).
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask, Response, g, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, Unauthorized

from commands.config import ScanSettings, ServeSettings, configured_scan
from service.auth import PUBLIC
from service.context import ServiceState
from service.problems import problem_response
from service.tokens import resolve
from storage.store import DEFAULT_DB

access_log = logging.getLogger("corledger.access")

API_TITLE = "corledger"
API_VERSION = "v1"


class ProblemApi(Api):
    """flask-smorest's Api, answering every HTTP error as problem+json."""

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        if (error.code or 500) >= 500:
            logging.getLogger("corledger.service").error("request failed: %s", error)
        return problem_response(error)


def create_app(db_url: str | None = None, *, clock: Callable[[], datetime] | None = None,
               settings: ServeSettings | None = None, scan: ScanSettings | None = None,
               ) -> Flask:
    """The service's app over the ledger at ``db_url`` (default ``$CORLEDGER_DB``, else
    ``sqlite:///corledger.db``); ``clock`` is read for "today" and for import times, and
    ``scan`` (default: the environment's configuration) says which day "today" is (its time
    zone) and how far a scan looks (its window), as for ``corledger scan``."""
    settings = settings or ServeSettings()
    app = Flask("corledger")
    app.config.update(
        API_TITLE=API_TITLE, API_VERSION=API_VERSION, OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_SORT_KEYS=False,
    )
    app.extensions["corledger"] = ServiceState(
        db_url or os.environ.get("CORLEDGER_DB") or DEFAULT_DB,
        clock or (lambda: datetime.now(UTC)), settings,
        scan or configured_scan(os.environ))
    api = ProblemApi(app, spec_kwargs={
        "info": {"description": "An event-sourced ledger of COR and SECOR certifications: "
                                "partners, regulators, operators and the public."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    })
    app.before_request(_start_clock)
    app.before_request(_authenticate)
    app.after_request(_conditional)
    app.after_request(_log_access)
    app.after_request(_drain_refused_body)

    from service import api_v1, docs, health

    app.register_blueprint(health.blueprint)
    app.register_blueprint(docs.blueprint)
    for blueprint in api_v1.BLUEPRINTS:
        api.register_blueprint(blueprint)
    _register_pages(app)
    return app


def _register_pages(app: Flask) -> None:
    """Registers the server-rendered pages (``service.web.blueprint``) when they exist."""
    try:
        web = importlib.import_module("service.web")
    except ModuleNotFoundError as exc:
        if exc.name != "service.web":
            raise
        return
    app.register_blueprint(web.blueprint)


def _authenticate() -> None:
    """Sets ``g.principal`` from ``Authorization: Bearer TOKEN``: the public without one; 401
    for an unknown, malformed or revoked token."""
    from service.context import db_url

    header = request.headers.get("Authorization")
    if header is None:
        g.principal = PUBLIC
        return
    scheme, _, token = header.partition(" ")
    principal = resolve(db_url(), token.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        raise Unauthorized("the token is unknown or revoked (Authorization: Bearer TOKEN)")
    g.principal = principal


def _start_clock() -> None:
    g.started = time.perf_counter()


def _conditional(response: Response) -> Response:
    """A strong ETag on every successful GET; ``If-None-Match`` with it gives 304. Answers are
    revalidated every time, and kept out of shared caches when a token asked."""
    if request.method in ("GET", "HEAD") and response.status_code == 200 \
            and not response.is_streamed:
        from service.context import principal

        response.vary.update(("Authorization", "Accept"))
        # Revalidate every time (a status changes with the date); what a token reads is
        # for its holder only, never for a shared cache.
        response.cache_control.no_cache = True
        if principal().token_id is not None:
            response.cache_control.private = True
        if not response.get_etag()[0]:
            response.add_etag()
        response.make_conditional(request)
    return response


def _log_access(response: Response) -> Response:
    """One JSON object per request: who asked what and how it went; never the token."""
    from service.context import principal

    if access_log.isEnabledFor(logging.INFO):
        who = principal()
        started = g.get("started")
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": request.method, "path": request.path,
            "query": request.query_string.decode("latin-1") or None,
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "principal": who.name, "role": str(who.role), "partner": who.partner,
            "token_id": who.token_id, "remote": request.remote_addr,
            "bytes_in": request.content_length, "bytes_out": response.content_length,
        }
        access_log.info(orjson.dumps(entry).decode())
    return response


#: How much of an over-limit body is read and thrown away before the 413 is sent.
DRAIN_CAP = 64 << 20


def _drain_refused_body(response: Response) -> Response:
    """After a 413, read and discard what is left of the body (up to :data:`DRAIN_CAP`) so
    a client still sending it reads the refusal instead of a reset connection: the worker
    closes the socket after answering, and unread bytes make the kernel reset it."""
    stream = request.environ.get("wsgi.input")
    if response.status_code != 413 or stream is None:
        return response
    left = DRAIN_CAP
    try:
        while left > 0 and (chunk := stream.read(min(1 << 16, left))):
            left -= len(chunk)
    except (OSError, ValueError):
        pass
    return response
