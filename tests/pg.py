"""Fresh PostgreSQL databases for tests, on the server ``CORLEDGER_TEST_POSTGRES`` names.

``CORLEDGER_TEST_POSTGRES`` is the URL of a database on a server where the role may create
databases, e.g. ``postgresql://corledger@127.0.0.1:54329/postgres`` as printed by
``scripts/pg-test-server.sh start``. Each test gets a database of its own, so tests never
see each other's events; they are all dropped when the test session ends.
"""

from __future__ import annotations

import atexit
import itertools
import os
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from storage.postgres import connection_settings

_counter = itertools.count(1)
_created: list[str] = []
_admin: psycopg.Connection[Any] | None = None


def server_url() -> str:
    """The test server's URL (the variable must be set)."""
    url = os.environ.get("CORLEDGER_TEST_POSTGRES")
    if not url:
        raise RuntimeError("CORLEDGER_TEST_POSTGRES is not set: no PostgreSQL server to test on")
    return url


def admin() -> psycopg.Connection[Any]:
    """One autocommit connection to the server's maintenance database, kept for the session."""
    global _admin
    if _admin is None or _admin.closed:
        settings = connection_settings(make_url(server_url()))
        if not settings["password"]:
            del settings["password"]
        _admin = psycopg.connect(autocommit=True, **settings)
    return _admin


def database_url(name: str) -> str:
    """The URL of database ``name`` on the test server."""
    return make_url(server_url()).set(database=name).render_as_string(hide_password=False)


def fresh_database_url() -> str:
    """Creates an empty database and returns its URL; it is dropped at the end of the run."""
    name = f"corledger_test_{os.getpid()}_{next(_counter)}"
    # FILE_COPY clones the (tiny) template at once, faster than the default WAL_LOG.
    admin().execute(sql.SQL("CREATE DATABASE {} STRATEGY = FILE_COPY").format(
        sql.Identifier(name)))
    if not _created:
        atexit.register(drop_created_databases)
    _created.append(name)
    return database_url(name)


def drop_created_databases() -> None:
    """Drops every database this process created (cheap: a few ms each)."""
    try:
        conn = admin()
        while _created:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(_created.pop())))
        conn.close()
    except psycopg.Error:
        pass  # the throwaway server is gone already: nothing to clean up
