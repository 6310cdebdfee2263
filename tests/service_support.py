"""What the service tests share: a two-partner ledger, a token per role, a real server.

``seed`` imports (through the CLI's importer) one BCCSA employer, one GO2HR employer and a base
rate; ``tokens`` creates a token for each role and one revoked; ``served`` runs a real
``corledger serve`` (gunicorn) on a free loopback port and stops it by its process id.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from commands.importer import Importer
from service.tokens import create_token, revoke_token
from storage.store import open_store
from tests.conftest import audit, line, registration

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)  # the service's clock in these tests
OWN = "BC-OWN"  # registered with BCCSA, the partner token's partner
OTHER = "GO-OTHER"  # registered with GO2HR
PARTNER = "BCCSA"


def seed_lines() -> list[dict[str, Any]]:
    """The ledger every service test starts from."""
    rec = {"recorded_at": "2021-01-01T00:00:00Z", "by": "seed"}
    return [
        line("BaseRateSet", None, "2021-01-01",
             {"jurisdiction": "BC", "cu": "G100", "year": 2021, "base_rate": "3.10"},
             id="rate-G100-2021", **rec),
        registration(OWN, "2020-01-06", partner="BCCSA", **rec),
        audit(OWN, "2020-06-01", recorded_at="2020-06-02T00:00:00Z", by="seed"),
        line("QADecided", OWN, "2020-07-01", {"audit": "A1", "outcome": "accepted"},
             id=f"{OWN}-qa", **rec),
        registration(OTHER, "2020-01-06", partner="GO2HR", **rec),
        audit(OTHER, "2020-06-01", recorded_at="2020-06-02T00:00:00Z", by="seed"),
        line("QADecided", OTHER, "2020-07-01", {"audit": "A1", "outcome": "accepted"},
             id=f"{OTHER}-qa", **rec),
    ]


def jsonl(lines: list[Any]) -> bytes:
    return b"".join((x.encode() if isinstance(x, str) else orjson.dumps(x)) + b"\n"
                    for x in lines)


def seed(db_url: str) -> None:
    store = open_store(db_url)
    try:
        Importer(store, now=NOW).run(io.BytesIO(jsonl(seed_lines())))
    finally:
        store.close()


def tokens(db_url: str) -> dict[str, str]:
    """A token per role (``partner`` is BCCSA's, ``partner_other`` GO2HR's) and a revoked one."""
    made = {
        "partner": create_token(db_url, name="BCCSA QA desk", role="partner", partner="BCCSA",
                                now=NOW)[0],
        "partner_other": create_token(db_url, name="go2HR desk", role="partner",
                                      partner="GO2HR", now=NOW)[0],
        "regulator": create_token(db_url, name="WorkSafeBC", role="regulator", partner=None,
                                  now=NOW)[0],
        "operator": create_token(db_url, name="ops", role="operator", partner=None,
                                 now=NOW)[0],
    }
    revoked, info = create_token(db_url, name="old desk", role="partner", partner="BCCSA",
                                 now=NOW)
    revoke_token(db_url, info.token_id, NOW)
    made["revoked"] = revoked
    return made


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(db_url: str, tmp_path: Path, workers: int = 2,
           environ: dict[str, str] | None = None,
           args: Sequence[str] = ()) -> Iterator[tuple[str, Path]]:
    """A real ``corledger serve`` on loopback (``args`` added to its command line): yields
    its base URL and its stderr file."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    corledger = Path(sys.executable).with_name("corledger")
    command = [str(corledger), "--db", db_url, "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORLEDGER_SERVE_")}
    env.pop("CORLEDGER_CONFIG", None)
    env.update(environ or {})
    with log.open("wb") as err:
        process = subprocess.Popen(command, stdout=err, stderr=err, env=env,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"corledger serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield base, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server's own process group
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def http(method: str, url: str, token: str | None = None,
         body: bytes | Iterable[bytes] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with urllib: status, headers, body (errors included)."""
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={**bearer(token), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
