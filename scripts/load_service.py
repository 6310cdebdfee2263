"""A bounded loopback load run of ``corledger serve`` (issue 13): not a timed test.

    python -m scripts.load_service [--db URL] [--employers 40] [--readers 8] [--writers 4]
                                   [--requests 200] [--workers 4] [--json]

It seeds a ledger (``--employers`` BCCSA employers and one GO2HR employer), makes a partner
and a regulator token, starts a real ``corledger serve`` (gunicorn) on a free loopback port,
and then, in the same run:

1. the trivial endpoint: ``--readers`` threads GET ``/health``, ``--requests`` each;
2. the mix: ``--readers`` threads GET an employer's status or history (the partner's token)
   or the roll (the regulator's) while ``--writers`` threads POST batches of new
   ``HeadcountReported`` events, every third batch sent twice (the second time is skipped:
   import is idempotent), ``--requests`` each.

It then counts the ledger's events: every batch's events must be there exactly once (0 lost,
0 doubled), and no request may fail. It prints requests/s of both phases and their ratio;
``--json`` prints one JSON object on stdout. Exit status 1 when anything was lost, doubled
or failed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NOW = datetime.now(UTC)


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def seed_ledger(db_url: str, employers: int) -> list[str]:
    """Registers the employers (one event each, plus a GO2HR one); returns the BCCSA ids."""
    from commands.importer import Importer
    from storage.store import open_store

    ids = [f"BC-L{i:05d}" for i in range(employers)]
    lines = [{"type": "EmployerRegistered", "id": f"{e}-reg", "employer": e,
              "effective": "2020-01-06", "by": "load",
              "data": {"name": f"{e} Ltd", "partner": "BCCSA", "program": "COR",
                       "classification_units": ["G100"], "headcount": 25}}
             for e in ids]
    lines.append({"type": "EmployerRegistered", "id": "GO-L-reg", "employer": "GO-L",
                  "effective": "2020-01-06", "by": "load",
                  "data": {"name": "GO-L Ltd", "partner": "GO2HR", "program": "COR",
                           "classification_units": ["G100"], "headcount": 25}})
    store = open_store(db_url)
    try:
        Importer(store, now=NOW).run(io.BytesIO(b"\n".join(json.dumps(x).encode()
                                                           for x in lines)))
    finally:
        store.close()
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(method: str, url: str, token: str | None, body: bytes | None = None,
            ) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def phase(threads: int, per_thread: int, work: Callable[[int, int], None]) -> float:
    """Runs ``work(thread, i)`` ``per_thread`` times in each of ``threads`` threads; seconds."""
    def loop(t: int) -> None:
        for i in range(per_thread):
            work(t, i)

    workers = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    from service.tokens import create_token
    from storage.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="corload-"))
    db_url = args.db or f"sqlite:///{tmp / 'ledger.db'}"
    employers = seed_ledger(db_url, args.employers)
    partner = create_token(db_url, name="load BCCSA", role="partner", partner="BCCSA",
                           now=NOW)[0]
    regulator = create_token(db_url, name="load regulator", role="regulator", partner=None,
                             now=NOW)[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = tmp / "serve.log"
    corledger = Path(sys.executable).with_name("corledger")
    with server_log.open("wb") as err:
        server = subprocess.Popen(
            [str(corledger), "--db", db_url, "serve", "--port", str(port),
             "--workers", str(args.workers)], stdout=err, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _up(base):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"corledger serve did not start:\n{server_log.read_text()}")
            time.sleep(0.2)
        log(f"serving {db_url} on {base} with {args.workers} workers")
        errors: Counter[str] = Counter()
        lock = threading.Lock()

        def failed(kind: str, status: int, body: bytes) -> None:
            with lock:
                errors[f"{kind} {status}"] += 1
                if errors.total() <= 5:
                    log(f"{kind}: {status} {body[:200]!r}")

        def health(_t: int, _i: int) -> None:
            status, body = request("GET", f"{base}/health", None)
            if status != 200:
                failed("health", status, body)

        trivial_s = phase(args.readers, args.requests, health)
        trivial_n = args.readers * args.requests
        log(f"/health: {trivial_n} requests in {trivial_s:.2f} s")

        sent: dict[str, int] = {}  # event id -> times sent
        added = Counter[str]()

        def read(t: int, i: int) -> None:
            rng = random.Random(t * 100003 + i)
            employer = rng.choice(employers)
            choice = i % 3
            if choice == 0:
                status, body = request("GET", f"{base}/v1/employers/{employer}", partner)
            elif choice == 1:
                status, body = request("GET", f"{base}/v1/employers/{employer}/history",
                                       partner)
            else:
                status, body = request("GET", f"{base}/v1/roll", regulator)
            if status != 200:
                failed("read", status, body)

        def write(t: int, i: int) -> None:
            rng = random.Random(-(t * 100003 + i))
            batch: list[dict[str, Any]] = [{"type": "HeadcountReported", "id": f"load-{t}-{i}-{k}",
                      "employer": rng.choice(employers), "effective": "2024-01-01",
                      "data": {"headcount": rng.randrange(1, 500)}}
                     for k in range(args.batch)]
            body = b"\n".join(json.dumps(x).encode() for x in batch)
            for attempt in range(2 if i % 3 == 0 else 1):
                status, answer = request("POST", f"{base}/v1/events", partner, body)
                if status != 200:
                    failed("write", status, answer)
                    continue
                result = json.loads(answer)
                with lock:
                    added["added"] += result["added"]
                    added["skipped"] += result["skipped"]
                    for x in batch:
                        sent[x["id"]] = sent.get(x["id"], 0) + 1
                if attempt == 1 and result["skipped"] != len(batch):
                    failed("resend not skipped", status, answer)

        def mixed(t: int, i: int) -> None:
            (write if t < args.writers else read)(t, i)

        mixed_s = phase(args.readers + args.writers, args.requests, mixed)
        resends = sum(1 for t in range(args.writers) for i in range(args.requests) if i % 3 == 0)
        mixed_n = (args.readers + args.writers) * args.requests + resends
        log(f"mix: {mixed_n} requests in {mixed_s:.2f} s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        errors_in_log = [x for x in server_log.read_text(errors="replace").splitlines()
                         if not x.startswith('{"time"')]
        if any("Traceback" in x for x in errors_in_log):
            log("the server's log:\n" + "\n".join(errors_in_log[-80:]))

    store = open_store(db_url)
    try:
        stored_ids = Counter(e.event_id for employer in employers
                             for e in store.stream(employer)
                             if e.event_id and e.event_id.startswith("load-"))
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)
    lost = sorted(set(sent) - set(stored_ids))
    doubled = sorted(i for i, n in stored_ids.items() if n > 1)
    unexpected = sorted(set(stored_ids) - set(sent))
    report = {
        "db": db_url.split(":")[0], "gunicorn_workers": args.workers,
        "readers": args.readers, "writers": args.writers, "requests_per_client": args.requests,
        "events_per_write": args.batch,
        "trivial": {"endpoint": "/health", "requests": trivial_n,
                    "seconds": round(trivial_s, 3),
                    "requests_per_s": round(trivial_n / trivial_s, 1)},
        "mixed": {"requests": mixed_n, "seconds": round(mixed_s, 3),
                  "requests_per_s": round(mixed_n / mixed_s, 1),
                  "events_added": added["added"], "events_skipped_on_resend":
                  added["skipped"]},
        "ratio_mixed_to_trivial": round((mixed_n / mixed_s) / (trivial_n / trivial_s), 3),
        "errors": sum(errors.values()), "error_kinds": dict(errors),
        "events_sent": len(sent), "events_stored": sum(stored_ids.values()),
        "lost": len(lost), "doubled": len(doubled), "unexpected": len(unexpected),
    }
    return report


def _up(base: str) -> bool:
    try:
        urllib.request.urlopen(f"{base}/health", timeout=2).close()
        return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="ledger URL (default: a fresh SQLite file); a "
                                     "postgresql:// URL should name an empty database "
                                     "(`corledger --db URL init --create-database`)")
    parser.add_argument("--employers", type=int, default=40)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200, help="per client thread")
    parser.add_argument("--batch", type=int, default=5, help="events per POST")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    if report["errors"] or report["lost"] or report["doubled"] or report["unexpected"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
