"""Browser sign-in: an API token exchanged for an HTTP-only, SameSite session cookie.

The cookie (Flask's signed session) holds the token's id and its SHA-256, never the token:
a copied cookie cannot be replayed as a bearer token against the API, and every page request
checks the pair against the token table again, so revoking the token ends the session. Forms
that write (sign-in, sign-out) carry a CSRF token (Flask-WTF's) bound to the session. The
signing key comes from ``CORLEDGER_SESSION_KEY``; without it each process makes a random one
(sessions then end on restart and need a single worker, or gunicorn's ``--preload``).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

from flask import Flask, g, session
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from service.auth import PUBLIC, Principal
from service.context import db_url
from service.tokens import hash_token, resolve

SESSION_KEY_ENV = "CORLEDGER_SESSION_KEY"
SESSION_HOURS = 8

__all__ = ["CSRFError", "configure", "csrf_token", "check_csrf", "sign_in", "sign_out",
           "session_principal"]


def configure(app: Flask) -> None:
    """Session cookie settings for the pages: HTTP-only, SameSite=Lax, signed with the key
    from the environment (``Secure`` too when ``CORLEDGER_SESSION_SECURE=1``, behind HTTPS)."""
    if not app.secret_key:
        app.secret_key = os.environ.get(SESSION_KEY_ENV) or secrets.token_urlsafe(32)
    app.config.update(
        SESSION_COOKIE_NAME="corledger_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("CORLEDGER_SESSION_SECURE") == "1",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )


def sign_in(token: str) -> Principal | None:
    """Checks a presented API token; on success the session remembers it (id and hash)."""
    principal = resolve(db_url(), token.strip())
    if principal is None or principal.token_id is None:
        return None
    session.clear()
    session.permanent = True
    session["token_id"], session["token_hash"] = principal.token_id, hash_token(token.strip())
    return principal


def sign_out() -> None:
    session.clear()


def session_principal() -> Principal:
    """The principal of this browser session (the public when not signed in, or when the
    token was revoked since)."""
    cached = g.get("web_principal")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    principal = _from_session()
    g.web_principal = principal
    return principal


def _from_session() -> Principal:
    token_id, token_hash = session.get("token_id"), session.get("token_hash")
    if not isinstance(token_id, str) or not isinstance(token_hash, str):
        return PUBLIC
    from service.tokens import principal_by_hash

    principal = principal_by_hash(db_url(), token_id, token_hash)
    if principal is None:
        session.clear()
        return PUBLIC
    return principal


def csrf_token() -> str:
    """The CSRF token for a form in this session."""
    return generate_csrf()  # type: ignore[no-any-return]


def check_csrf(value: str | None) -> str | None:
    """None when ``value`` is this session's CSRF token, else why it is refused."""
    try:
        validate_csrf(value)
    except ValidationError as exc:
        return str(exc.args[0]) if exc.args else "the form's CSRF token is invalid"
    return None
