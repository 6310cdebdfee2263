"""Real parts for the lapse scan and notification tests: a loopback HTTP receiver, a loopback
SMTP server (aiosmtpd), and employers whose lapse risk the tests can predict."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import audit, line, registration

LOOPBACK = "127.0.0.1"


def certified(employer: str, qa_on: date, partner: str = "GENERIC") -> list[dict[str, Any]]:
    """An employer certified on ``qa_on`` (GENERIC: maintenance audit due a year later)."""
    submitted = qa_on - timedelta(days=14)
    return [
        registration(employer, (qa_on - timedelta(days=200)).isoformat(), partner=partner),
        audit(employer, submitted.isoformat(),
              started=(submitted - timedelta(days=20)).isoformat(),
              completed=(submitted - timedelta(days=10)).isoformat()),
        line("QADecided", employer, qa_on.isoformat(), {"audit": "A1", "outcome": "accepted"},
             id=f"{employer}-qa"),
    ]


def due_in(days: int, today: date) -> date:
    """The QA date that makes a GENERIC employer's maintenance audit due ``days`` after
    ``today`` (due = QA date one year later)."""
    due = today + timedelta(days=days)
    try:
        return due.replace(year=due.year - 1)
    except ValueError:  # Feb 29
        return due.replace(year=due.year - 1, day=28)


@dataclass
class Receiver:
    """An HTTP server on loopback recording each POSTed JSON body; the first ``fail_first``
    requests get ``fail_status``."""

    fail_first: int = 0
    fail_status: int = 503
    redirect_to: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[dict[str, Any]]:
        """The bodies of the requests that were answered with success."""
        with self.lock:
            return [r for i, r in enumerate(self.requests) if i >= self.fail_first]

    def ids(self) -> list[str]:
        return [r["id"] for r in self.delivered()]


@contextmanager
def http_receiver(fail_first: int = 0, fail_status: int = 503,
                  redirect_to: str | None = None) -> Iterator[Receiver]:
    """A loopback receiver; with ``redirect_to`` every request is answered 302 to there."""
    receiver = Receiver(fail_first, fail_status, redirect_to)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server interface
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {"method": self.command}
            with receiver.lock:
                receiver.requests.append(body)
                receiver.headers.append(dict(self.headers))
                failing = len(receiver.requests) <= receiver.fail_first
            if receiver.redirect_to:
                self.send_response(302)
                self.send_header("Location", receiver.redirect_to)
            else:
                self.send_response(receiver.fail_status if failing else 200)
            self.end_headers()

        do_GET = do_POST  # noqa: N815 - a redirected client would come back with a GET

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    receiver.url = f"http://{LOOPBACK}:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """What the loopback SMTP server received."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """An aiosmtpd server on loopback, recording envelope recipients and content."""
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
            box.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                 "content": envelope.content.decode("utf-8", "replace")})
            return "250 OK"

    controller = Controller(Handler(), hostname=LOOPBACK, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
