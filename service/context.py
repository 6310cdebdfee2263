"""What a request handler asks of the running service: the store, the caller, the clock.

Views (the JSON API's and the pages') use these and nothing else to reach the ledger, so the
store is opened once per process and the clock is read in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g

from commands.config import ScanSettings, ServeSettings
from commands.session import today_in
from projections.sql.payment_run import DecisionCache
from service.auth import PUBLIC, Principal
from storage.store import LedgerStore, open_store


@dataclass
class ServiceState:
    """One per app: the database URL, the clock, the lazily opened store, and the payment
    runs kept between requests."""

    db_url: str
    clock: Callable[[], datetime]
    settings: ServeSettings
    # the configuration's scan settings, as every command's: the zone of "today" and the
    # window of a scan (POST /v1/scan without `within`, as `corledger scan`)
    scan: ScanSettings
    decisions: DecisionCache = field(default_factory=DecisionCache)
    _store: LedgerStore | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of "today"."""
        return self.scan.zone

    def store(self) -> LedgerStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.db_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def state() -> ServiceState:
    """The running app's :class:`ServiceState`."""
    return current_app.extensions["corledger"]  # type: ignore[no-any-return]


def store() -> LedgerStore:
    """The ledger this service answers from."""
    return state().store()


def decisions() -> DecisionCache:
    """The payment runs this process keeps between requests (by log position)."""
    return state().decisions


def db_url() -> str:
    """The ledger's database URL, password included (never print it)."""
    return state().db_url


def principal() -> Principal:
    """Who is asking (the public when no token was given)."""
    return getattr(g, "principal", PUBLIC)


def scan_settings() -> ScanSettings:
    """The configuration's scan settings (``serve --config``'s file, and the environment)."""
    return state().scan


def now() -> datetime:
    """The service's clock reading, UTC."""
    return state().clock().astimezone(UTC)


def today() -> date:
    """Today in the configured time zone (``CORLEDGER_TIMEZONE``, else the configuration's
    ``scan.timezone``, as for every command): the default ``as_of``."""
    return today_in(now(), state().zone)
