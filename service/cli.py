"""The commands ``corledger serve`` (the HTTP service, run by gunicorn) and ``corledger tokens
create/list/revoke`` (who may call it). Registered by :mod:`commands.cli`."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from typing import Any

import click
from rich.table import Table

from commands.config import ConfigError, ServeSettings, load_config
from commands.session import Session, console, emit_json
from service.auth import TOKEN_ROLES
from service.tokens import TokenError, TokenInfo, create_token, list_tokens, revoke_token
from storage.store import DEFAULT_DB, StoreError


def _url(session: Session) -> str:
    return session.db_url or os.environ.get("CORLEDGER_DB") or DEFAULT_DB


def _row(info: TokenInfo) -> dict[str, Any]:
    return {"id": info.token_id, "name": info.name, "role": info.role,
            "partner": info.partner,
            "created_at": info.created_at.isoformat().replace("+00:00", "Z"),
            "revoked_at": info.revoked_at.isoformat().replace("+00:00", "Z")
            if info.revoked_at else None}


@click.group()
def tokens() -> None:
    """API tokens: create (shown once, only its hash is kept), list, revoke."""


@tokens.command("create")
@click.option("--role", required=True, type=click.Choice([str(r) for r in TOKEN_ROLES]),
              help="partner: its own employers; regulator: reads all; operator: reference "
                   "data and scans")
@click.option("--partner", metavar="PARTNER", help="the partner of a partner token")
@click.option("--name", required=True, help="who holds the token, e.g. \"BCCSA QA desk\"")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_obj
def create(session: Session, role: str, partner: str | None, name: str, as_json: bool) -> None:
    """Create a token and print it once: it cannot be shown again."""
    session.store()  # the ledger must exist and open
    try:
        token, info = create_token(_url(session), name=name, role=role, partner=partner,
                                   now=session.now())
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        emit_json({**_row(info), "token": token})
        return
    click.echo(token)
    click.echo(f"token {info.token_id} for {info.name} ({info.role}"
               f"{' ' + info.partner if info.partner else ''}): keep it now, it is not "
               "shown again", err=True)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_obj
def list_(session: Session, as_json: bool) -> None:
    """Every token: id, holder, role, partner, created and revoked (never the secret)."""
    session.store()
    rows = [_row(info) for info in list_tokens(_url(session))]
    if as_json:
        emit_json({"tokens": rows})
        return
    table = Table("id", "name", "role", "partner", "created", "revoked")
    for r in rows:
        table.add_row(r["id"], r["name"], r["role"], r["partner"] or "-", r["created_at"],
                      r["revoked_at"] or "-")
    console().print(table)


@tokens.command("revoke")
@click.argument("token_id")
@click.pass_obj
def revoke(session: Session, token_id: str) -> None:
    """Revoke a token by its id (from `tokens list`): it gets 401 from then on."""
    session.store()
    try:
        info = revoke_token(_url(session), token_id, session.now())
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"token {info.token_id} ({info.name}) revoked at "
               f"{_row(info)['revoked_at']}")


def _access_logging(target: str) -> None:
    """Access log lines (JSON, one a request) to stderr ("-") or a file."""
    handler: logging.Handler = (logging.StreamHandler(sys.stderr) if target == "-"
                                else logging.FileHandler(target, encoding="utf-8"))
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("corledger.access")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


@click.command()
@click.option("--host", help="the address to listen on (default 127.0.0.1)")
@click.option("--port", type=click.IntRange(0, 65535), help="the port (default 8080)")
@click.option("--workers", type=click.IntRange(min=1), help="worker processes (default 2)")
@click.option("--config", "config_file", metavar="FILE",
              help="TOML configuration (default $CORLEDGER_CONFIG); [serve] and CORLEDGER_SERVE_*")
@click.pass_obj
def serve(session: Session, host: str | None, port: int | None, workers: int | None,
          config_file: str | None) -> None:
    """Serve the HTTP API (gunicorn): /v1, /openapi.json, /docs, /health."""
    from gunicorn.app.base import BaseApplication

    from service.app import create_app
    from storage.engine import engine_for

    try:
        config = load_config(config_file, os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    settings, scan = config.serve, config.scan
    overrides = {k: v for k, v in (("host", host), ("port", port), ("workers", workers))
                 if v is not None}
    settings = ServeSettings(**{**settings.__dict__, **overrides})
    db_url = _url(session)
    try:
        session.store()  # fail here, with the store's message, not in every worker
    except StoreError as exc:  # pragma: no cover - Session.store raises ClickException
        raise click.ClickException(str(exc)) from exc
    list_tokens(db_url)  # creates the tokens table before workers race to
    session.close()
    # Workers are forked from this process: a pooled connection opened here would be shared
    # by all of them (their queries would interleave on one socket). Close them here, and let
    # each worker forget what it inherited (SQLAlchemy's advice for forking servers).
    engine_for(db_url).dispose()

    def post_fork(_server: Any, _worker: Any) -> None:
        engine_for(db_url).dispose(close=False)
    _access_logging(settings.access_log)
    # The pages' session cookies are signed with one key that every worker shares: a random
    # one per start unless the environment sets it (then sessions outlive restarts).
    os.environ.setdefault("CORLEDGER_SESSION_KEY", secrets.token_urlsafe(32))

    class Service(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {"bind": f"{settings.host}:{settings.port}",
                               "workers": settings.workers, "worker_class": "sync",
                               "timeout": 600, "graceful_timeout": 30,
                               "errorlog": "-", "loglevel": "info",
                               "proc_name": "corledger-serve",
                               "post_fork": post_fork}.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(db_url, settings=settings, scan=scan)

    click.echo(f"corledger serving {session_url_safe(db_url)} on "
               f"http://{settings.host}:{settings.port} ({settings.workers} workers)", err=True)
    Service().run()


def session_url_safe(url: str) -> str:
    """The URL as it may be printed: without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


COMMANDS = [tokens, serve]
