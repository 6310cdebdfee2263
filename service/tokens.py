"""API tokens: a random secret shown once, only its SHA-256 stored, compared in constant time.

A token reads ``clt_<id>_<secret>``: ``id`` (8 hex digits) finds the row, ``secret`` is 256
random bits. The row keeps the SHA-256 of the whole token, the principal it stands for (name,
role, partner) and when it was created and revoked; a revoked or unknown token resolves to
nothing (401). Tokens are access control, not ledger facts, so they live in a table of their
own beside the events, made on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, select, update

from ledger.events import PARTNERS
from service.auth import TOKEN_ROLES, Principal, Role
from storage.engine import engine_for
from storage.schema import ensure

PREFIX = "clt_"
MAX_NAME = 200  # the holder's name, also recorded as the events' ``by``

# The service's own metadata, not the ledger's shared one: the tokens table is made by the
# service on first use (``tokens``, ``serve``), and Alembic leaves tables it does not declare.
metadata = MetaData()

api_tokens = Table(
    "api_tokens", metadata,
    Column("token_id", String(16), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("name", String(MAX_NAME), nullable=False),
    Column("role", String(16), nullable=False),
    Column("partner", String(16)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


class TokenError(Exception):
    """A token cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``tokens list`` shows it: never the secret, never its hash."""

    token_id: str
    name: str
    role: str
    partner: str | None
    created_at: datetime
    revoked_at: datetime | None


def _utc(moment: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite gives it back without its offset)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _info(row: Any) -> TokenInfo:
    created = _utc(row.created_at)
    assert created is not None
    return TokenInfo(row.token_id, row.name, row.role, row.partner, created,
                     _utc(row.revoked_at))


def hash_token(token: str) -> str:
    """The stored form of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(token.encode()).hexdigest()


def _engine(db_url: str) -> Engine:
    engine = engine_for(db_url)
    ensure(engine, [api_tokens])
    return engine


def create_token(db_url: str, *, name: str, role: str, partner: str | None,
                 now: datetime) -> tuple[str, TokenInfo]:
    """Stores a new token for a principal; returns the token (shown once) and its row."""
    if role not in {str(r) for r in TOKEN_ROLES}:
        raise TokenError(f"role: expected one of {', '.join(map(str, TOKEN_ROLES))}, "
                         f"got {role!r}")
    if role == Role.PARTNER:
        if partner is None:
            raise TokenError("partner: a partner token needs --partner")
        partner = partner.upper()
        if partner not in PARTNERS:
            raise TokenError(f"partner: expected one of {', '.join(PARTNERS)}, got {partner!r}")
    elif partner is not None:
        raise TokenError(f"partner: only a partner token names a partner, not a {role} token")
    if not name.strip():
        raise TokenError("name: a token needs a name (who holds it)")
    if len(name) > MAX_NAME:
        raise TokenError(f"name: at most {MAX_NAME} characters, got {len(name)}")
    token_id = secrets.token_hex(4)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    info = TokenInfo(token_id, name, role, partner, now, None)
    with _engine(db_url).begin() as conn:
        conn.execute(api_tokens.insert().values(
            token_id=token_id, token_hash=hash_token(token), name=name, role=role,
            partner=partner, created_at=now, revoked_at=None))
    return token, info


def list_tokens(db_url: str) -> list[TokenInfo]:
    """Every token, oldest first, revoked ones too."""
    with _engine(db_url).connect() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.created_at,
                                                        api_tokens.c.token_id)).all()
    return [_info(r) for r in rows]


def revoke_token(db_url: str, token_id: str, now: datetime) -> TokenInfo:
    """Revokes a token by its id (the 8 hex digits after ``clt_``, or the whole token)."""
    if token_id.startswith(PREFIX):
        token_id = token_id[len(PREFIX):].split("_", 1)[0]
    with _engine(db_url).begin() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)
                           ).first()
        if row is None:
            raise TokenError(f"no token with id {token_id!r}")
        info = _info(row)
        if row.revoked_at is None:
            conn.execute(update(api_tokens).where(api_tokens.c.token_id == token_id)
                         .values(revoked_at=now))
            info = replace(info, revoked_at=now)
    return info


def resolve(db_url: str, token: str) -> Principal | None:
    """The principal a presented token stands for; None when unknown, malformed or revoked."""
    if not token.startswith(PREFIX) or token.count("_") < 2:
        return None
    token_id = token[len(PREFIX):].split("_", 1)[0]
    return principal_by_hash(db_url, token_id, hash_token(token))


def principal_by_hash(db_url: str, token_id: str, presented: str) -> Principal | None:
    """The principal of token ``token_id`` when ``presented`` is its SHA-256 and it is not
    revoked (a browser session keeps the id and hash, never the token)."""
    with _engine(db_url).connect() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id)
                           ).first()
    # Compare even when the id is unknown, so the time taken does not tell the two apart.
    stored = row.token_hash if row is not None else "0" * 64
    if not hmac.compare_digest(presented, stored) or row is None or row.revoked_at is not None:
        return None
    return Principal(row.name, Role(row.role), row.partner, row.token_id)
