"""RFC 9457 problem details: every error the service gives is ``application/problem+json``.

``{"type", "title", "status", "detail"}`` plus extensions: ``errors`` (a refused import's
lines and fields, as the CLI names them; a request's invalid parameters) and ``instance``
(the path asked for). An error raised anywhere (werkzeug's, flask-smorest's validation, ours)
goes through :func:`problem_response`.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, request
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://corledger.example/problems/"  # a URI naming the problem; not fetched


class Problem(HTTPException):
    """An HTTP error with a problem type of its own and extension members."""

    def __init__(self, code: int, kind: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.kind = kind
        self.extensions = extensions


def problem_response(error: HTTPException) -> Response:
    """The problem+json response of an HTTP error (headers such as Allow are kept)."""
    status = error.code or 500
    body: dict[str, Any] = {
        "type": TYPE_BASE + error.kind if isinstance(error, Problem) else "about:blank",
        "title": error.name,
        "status": status,
        "detail": error.description if status != 500 else
        "the server failed to answer; the error is in its log",
        "instance": request.path,
    }
    if isinstance(error, Problem):
        body.update(error.extensions)
    data = getattr(error, "data", None)  # webargs/flask-smorest validation errors
    if isinstance(data, dict):
        messages = data.get("errors") or data.get("messages")
        if messages:
            body["detail"] = "the request's parameters are not valid"
            body["errors"] = [{"field": f, "message": m} for f, m in _flatten(messages)]
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="corledger"'
    return Response(orjson.dumps(body), status=status, headers=headers,
                    mimetype=PROBLEM_TYPE)


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """webargs' nested ``{location: {field: [messages]}}`` as (``field``, message) pairs; the
    location (query, json) is left out of the field name."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("query", "json", "headers", "files", "form", "view_args"):
                out += _flatten(value, "")
            else:
                out += _flatten(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out += [(prefix or "request", m) for m in messages]
    elif isinstance(messages, list):
        for i, m in enumerate(messages):
            out += _flatten(m, f"{prefix}[{i}]")
    else:
        out.append((prefix or "request", str(messages)))
    return out
