"""Notifications: outbox relay and dispatch against a loopback webhook, SMTP server and file."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from commands.config import (
    Config,
    ConfigError,
    EmailSettings,
    JsonlSettings,
    OutboxSettings,
    WebhookSettings,
    load_config,
)
from commands.notify import (
    dispatch,
    make_sinks,
    outbox_counts,
    outbox_rows,
    relay,
)
from commands.scan import scan
from storage.engine import engine_for
from storage.store import LedgerStore
from tests.lapse_helpers import certified, http_receiver, smtp_server

NOW = datetime(2021, 7, 1, 9, 30, tzinfo=UTC)
QA = date(2020, 6, 15)  # GENERIC: maintenance audit due 2021-06-15


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def flagged(cli: Any, store: LedgerStore) -> LedgerStore:
    """E-1 flagged critical (as of 2021-05-20)."""
    assert cli.import_lines(certified("E-1", QA)).exit_code == 0
    assert len(scan(store, [date(2021, 5, 20)], 90, NOW).flagged) == 1
    return store


def deliver(store: LedgerStore, db_url: str, config: Config, clock: Clock,
            worker: str = "w1") -> Any:
    engine = engine_for(db_url)
    sinks = make_sinks(config)
    relay(store, engine, sinks, clock())
    return dispatch(engine, sinks, config.outbox, clock, worker)


def test_webhook_failing_twice_then_succeeding_is_delivered_once(
        flagged: LedgerStore, db_url: str) -> None:
    settings = OutboxSettings(max_attempts=5, backoff_seconds=10)
    with http_receiver(fail_first=2) as hook:
        config = Config(outbox=settings, sinks=(WebhookSettings("hook", hook.url),))
        clock = Clock()
        first = deliver(flagged, db_url, config, clock)
        assert (len(first.sent), len(first.retrying)) == (0, 1)
        assert deliver(flagged, db_url, config, clock).to_json()["retrying"] == 0  # not due
        clock.advance(10)  # first backoff: 10 s
        assert len(deliver(flagged, db_url, config, clock).retrying) == 1
        clock.advance(19)  # second backoff is 20 s: not yet
        assert len(hook.requests) == 2 and deliver(flagged, db_url, config, clock).sent == []
        clock.advance(1)
        assert len(deliver(flagged, db_url, config, clock).sent) == 1
        for _ in range(3):
            clock.advance(3600)
            deliver(flagged, db_url, config, clock)
        assert len(hook.requests) == 3
        assert hook.ids() == ["lapse:E-1:2021-06-15:critical"]
        body = hook.delivered()[0]
        assert body["type"] == "LapseRiskFlagged" and body["partner"] == "GENERIC"
        assert body["data"] == {"due": "2021-06-15", "level": "critical", "reasons": []}
        assert hook.headers[-1]["Idempotency-Key"] == "lapse:E-1:2021-06-15:critical"
    engine = engine_for(db_url)
    assert outbox_counts(engine) == {"pending": 0, "sent": 1, "dead": 0}


def test_dead_letter_after_n_tries_shown_by_outbox_failed_and_requeued(
        cli: Any, flagged: LedgerStore, db_url: str, tmp_path: Path) -> None:
    with http_receiver(fail_first=100) as hook:
        config_file = tmp_path / "corledger.toml"
        config_file.write_text(
            "[outbox]\nmax_attempts = 3\nbackoff_seconds = 0\n"
            f'[sinks.hook]\ntype = "webhook"\nurl = "{hook.url}"\n')
        for attempt in (1, 2, 3):
            result = cli("outbox", "--deliver", "--config", str(config_file))
            # the run that dead-letters the delivery says so in its exit code
            assert result.exit_code == (1 if attempt == 3 else 0), result.output
        assert "1 delivery was dead-lettered" in result.stderr
        assert len(hook.requests) == 3
        dead = cli.json("outbox", "--failed", "--config", str(config_file))
        assert dead["counts"] == {"pending": 0, "sent": 0, "dead": 1}
        (row,) = dead["rows"]
        assert (row["status"], row["attempts"], row["sink"]) == ("dead", 3, "hook")
        assert row["last_error"].startswith("HTTP 503")
        cli("outbox", "--deliver", "--config", str(config_file))
        assert len(hook.requests) == 3  # dead rows are not retried
        hook.fail_first = 0
        hook.requests.clear()
        again = cli.json("outbox", "--requeue", "--deliver", "--config", str(config_file))
        assert again["requeued"] == 1 and again["sent"] == 1
        assert again["counts"] == {"pending": 0, "sent": 1, "dead": 0}
        assert hook.ids() == ["lapse:E-1:2021-06-15:critical"]


def test_a_client_error_is_dead_at_once(flagged: LedgerStore, db_url: str) -> None:
    with http_receiver(fail_first=1, fail_status=400) as hook:
        config = Config(sinks=(WebhookSettings("hook", hook.url),))
        assert len(deliver(flagged, db_url, config, Clock()).dead) == 1


def test_every_sink_gets_each_flag_once(cli: Any, flagged: LedgerStore, db_url: str,
                                        tmp_path: Path) -> None:
    out = tmp_path / "flags.jsonl"
    with http_receiver() as hook, smtp_server() as mail:
        config = Config(sinks=(
            JsonlSettings("file", out), WebhookSettings("hook", hook.url),
            EmailSettings("mail", "127.0.0.1", port=mail.port, to=("ops@example.org",))))
        clock = Clock()
        assert len(deliver(flagged, db_url, config, clock).sent) == 3
        scan(flagged, [date(2021, 5, 20), date(2021, 5, 21)], 90, NOW)  # nothing new
        clock.advance(60)
        assert deliver(flagged, db_url, config, clock).sent == []
        scan(flagged, [date(2021, 6, 20)], 90, NOW)  # missed: a new flag
        clock.advance(60)
        assert len(deliver(flagged, db_url, config, clock).sent) == 3
    ids = ["lapse:E-1:2021-06-15:critical", "lapse:E-1:2021-06-15:missed"]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ids
    assert hook.ids() == ids
    assert [m["to"] for m in mail.messages] == [["ops@example.org"]] * 2
    assert "Subject: [corledger] critical lapse risk: E-1 due 2021-06-15" in \
        mail.messages[0]["content"]
    assert outbox_counts(engine_for(db_url)) == {"pending": 0, "sent": 6, "dead": 0}


def test_email_goes_to_the_partners_recipients(cli: Any, store: LedgerStore,
                                               db_url: str) -> None:
    from tests.conftest import audit, line, registration

    bccsa = [registration("B-1", "2020-01-06", partner="BCCSA"),
             audit("B-1", "2020-06-01"),
             line("QADecided", "B-1", "2020-06-15", {"audit": "A1", "outcome": "accepted"},
                  id="B-1-qa")]
    assert cli.import_lines(certified("E-1", QA) + bccsa).exit_code == 0
    # E-1 (GENERIC) is due 2021-06-15; B-1 (BCCSA) is due 2021-12-31.
    result = scan(store, [date(2021, 5, 20), date(2021, 11, 15)], 90, NOW)
    assert sorted(c.entry["employer"] for c in result.flagged) == ["B-1", "E-1"]
    with smtp_server() as mail:
        config = Config(sinks=(EmailSettings(
            "mail", "127.0.0.1", port=mail.port, sender="corledger@example.org",
            to=("ops@example.org",), partners=(("BCCSA", ("cor@bccsa.example",)),)),))
        assert len(deliver(store, db_url, config, Clock()).sent) == 2
    to = {m["content"].split("X-Corledger-Flag: ")[1].split("\n")[0].strip(): m["to"]
          for m in mail.messages}
    assert to == {"lapse:E-1:2021-06-15:critical": ["ops@example.org"],
                  "lapse:B-1:2021-12-31:warning": ["cor@bccsa.example"]}


def test_a_notice_goes_to_the_partner_of_the_registration_that_stands(
        cli: Any, store: LedgerStore, db_url: str) -> None:
    """A second registration keyed under another partner, then voided, names no one: the
    flag is announced for (and mailed to) the partner of the registration that stands."""
    from tests.conftest import line, registration

    wrong = registration("B-1", "2020-09-01", partner="GO2HR", id="B-1-reg-wrong")
    void = line("EventVoided", "B-1", "2020-09-02",
                {"target": "B-1-reg-wrong", "reason": "keyed under the wrong partner"},
                id="B-1-void")
    assert cli.import_lines(certified("B-1", QA, partner="BCCSA") + [wrong, void]
                            ).exit_code == 0
    assert [c.entry["employer"] for c in scan(store, [date(2021, 11, 15)], 90, NOW).flagged
            ] == ["B-1"]
    with smtp_server() as mail, http_receiver() as hook:
        config = Config(sinks=(
            WebhookSettings("hook", hook.url),
            EmailSettings("mail", "127.0.0.1", port=mail.port, to=("ops@example.org",),
                          partners=(("BCCSA", ("cor@bccsa.example",)),
                                    ("GO2HR", ("desk@go2hr.example",))))))
        assert len(deliver(store, db_url, config, Clock()).sent) == 2
    assert [body["partner"] for body in hook.delivered()] == ["BCCSA"]
    assert [m["to"] for m in mail.messages] == [["cor@bccsa.example"]]


def test_relay_enqueues_once_even_when_run_again(flagged: LedgerStore, db_url: str,
                                                 tmp_path: Path) -> None:
    engine = engine_for(db_url)
    sinks = make_sinks(Config(sinks=(JsonlSettings("file", tmp_path / "f.jsonl"),)))
    assert relay(flagged, engine, sinks, NOW) == 1
    assert relay(flagged, engine, sinks, NOW) == 0
    assert [r["event_id"] for r in outbox_rows(engine, ["pending"])] == [
        "lapse:E-1:2021-06-15:critical"]


def test_a_flag_imported_without_an_id_is_announced_once_under_its_key(
        cli: Any, store: LedgerStore, db_url: str, tmp_path: Path) -> None:
    """The format lets a LapseRiskFlagged come without an id: it is announced under the key
    its employer, due date and level give it (unique in the ledger), exactly once, and the
    flags after it are relayed and delivered as ever."""
    from tests.conftest import line

    partners_flag = line("LapseRiskFlagged", "E-1", "2021-04-01",
                         {"due": "2021-06-15", "level": "notice", "reasons": []},
                         recorded_at="2021-04-01T10:00:00Z")
    assert cli.import_lines(certified("E-1", QA) + [partners_flag]).exit_code == 0
    assert len(scan(store, [date(2021, 5, 20)], 90, NOW).flagged) == 1  # critical
    out = tmp_path / "flags.jsonl"
    with http_receiver() as hook:
        config = Config(sinks=(JsonlSettings("file", out), WebhookSettings("hook", hook.url)))
        clock = Clock()
        assert len(deliver(store, db_url, config, clock).sent) == 4
        clock.advance(3600)
        assert deliver(store, db_url, config, clock).sent == []  # relayed once, sent once
    keys = ["lapse:E-1:2021-06-15:notice", "lapse:E-1:2021-06-15:critical"]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == keys
    assert [h["Idempotency-Key"] for h in hook.headers] == keys
    assert sorted(r["event_id"] for r in outbox_rows(engine_for(db_url), ["sent"])) == \
        sorted(keys * 2)


def test_no_event_takes_the_key_of_a_flag_imported_without_an_id_so_each_flag_is_announced(
        cli: Any, store: LedgerStore, db_url: str, tmp_path: Path) -> None:
    """An id-less flag is announced under ``lapse:<employer>:<due>:<level>``; a second flag
    sent under that very id would share its outbox row and never be announced, so the
    import refuses it (naming the line and the id), and under an id of its own it is."""
    from tests.conftest import line, registration

    def flag(employer: str, **envelope: Any) -> dict[str, Any]:
        return line("LapseRiskFlagged", employer, "2021-02-20",
                    {"due": "2021-03-16", "level": "critical", "reasons": []}, **envelope)

    key = "lapse:GEN-A:2021-03-16:critical"
    assert cli.import_lines([registration("GEN-A"), registration("GEN-B"),
                             flag("GEN-A")]).exit_code == 0
    taken = cli.import_lines([flag("GEN-B", id=key)])
    assert taken.exit_code != 0 and f"line 1: id: {key!r} is the key of" in taken.stderr
    assert cli.import_lines([flag("GEN-B", id="genb-flag")]).exit_code == 0
    out = tmp_path / "flags.jsonl"
    config = Config(sinks=(JsonlSettings("file", out),))
    assert len(deliver(store, db_url, config, Clock()).sent) == 2
    assert sorted((x["employer"], x["id"]) for x in map(json.loads, out.read_text().splitlines())) \
        == [("GEN-A", key), ("GEN-B", "genb-flag")]


def test_two_dispatchers_deliver_a_row_once(flagged: LedgerStore, db_url: str) -> None:
    """Claims are exclusive: a second worker skips a row the first has leased."""
    import threading

    with http_receiver() as hook:
        config = Config(sinks=(WebhookSettings("hook", hook.url),))
        relay(flagged, engine_for(db_url), make_sinks(config), NOW)
        barrier = threading.Barrier(4)

        def work(name: str) -> None:
            barrier.wait()
            dispatch(engine_for(db_url), make_sinks(config), config.outbox, Clock(), name)

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(hook.requests) == 1


def test_a_delivery_is_bounded_by_its_timeout_so_a_live_worker_never_outlasts_its_lease(
        flagged: LedgerStore, db_url: str) -> None:
    """A webhook that trickles its answer a byte at a time (each read well inside the
    socket timeout) cannot hold a delivery past timeout_seconds: the try fails in time,
    and a second dispatcher, started after the first one's lease would have run out, does
    not deliver the flag again."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posted: list[str] = []

    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server interface
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            posted.append(self.headers.get("Idempotency-Key", "?"))
            try:
                for byte in b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n":  # ~4 s
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass  # the client gave up
            self.close_connection = True

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        config = Config(outbox=OutboxSettings(lease_seconds=2, backoff_seconds=30),
                        sinks=(WebhookSettings("hook", url, timeout_seconds=1),))
        relay(flagged, engine_for(db_url), make_sinks(config), NOW)
        results: list[Any] = []

        def work(name: str) -> None:
            results.append(dispatch(engine_for(db_url), make_sinks(config), config.outbox,
                                    lambda: datetime.now(UTC), name))

        first = threading.Thread(target=work, args=("w1",))
        first.start()
        time.sleep(2.5)  # the first worker's lease (2 s) is over
        work("w2")
        first.join()
    finally:
        server.shutdown()
        server.server_close()
    assert posted == ["lapse:E-1:2021-06-15:critical"]
    (row,) = outbox_rows(engine_for(db_url), ["pending"])
    assert row["attempts"] == 1
    assert row["last_error"] == "no answer within timeout_seconds (1 s)"


def test_outbox_lists_pending(cli: Any, flagged: LedgerStore, tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text('[sinks.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/x"\n')
    # Relayed but not delivered: a row pending for the hook.
    relay(flagged, engine_for(cli.db_url),
          make_sinks(load_config(config_file, {})), NOW)
    doc = cli.json("outbox", "--config", str(config_file))
    assert doc["counts"]["pending"] == 1
    assert doc["rows"][0]["event_id"] == "lapse:E-1:2021-06-15:critical"
    assert "1 pending, 0 sent, 0 dead" in cli("outbox").output


def test_config_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("""
[scan]
within = 60
time = "05:45"
timezone = "America/Vancouver"
[outbox]
max_attempts = 4
[sinks.mail]
type = "email"
host = "127.0.0.1"
from = "c@example.org"
to = ["ops@example.org"]
password_env = "MY_SMTP_PASSWORD"
[sinks.mail.partners]
bccsa = ["cor@bccsa.example"]
[sinks.hook]
type = "webhook"
url = "http://127.0.0.1:1/x"
bearer_token_env = "HOOK_TOKEN"
""")
    config = load_config(path, {"MY_SMTP_PASSWORD": "s3cret", "HOOK_TOKEN": "t0k",
                                "CORLEDGER_SCAN_WITHIN": "45",
                                "CORLEDGER_JSONL_PATH": str(tmp_path / "x.jsonl")})
    assert config.scan.within == 45 and config.scan.time.hour == 5
    assert config.scan.timezone == "America/Vancouver" and config.outbox.max_attempts == 4
    sinks = {s.name: s for s in config.sinks}
    mail = sinks["mail"]
    assert isinstance(mail, EmailSettings) and mail.password == "s3cret"
    assert mail.recipients("BCCSA") == ("cor@bccsa.example",)
    assert mail.recipients("GO2HR") == ("ops@example.org",)
    hook = sinks["hook"]
    assert isinstance(hook, WebhookSettings)
    assert dict(hook.headers)["Authorization"] == "Bearer t0k"
    assert isinstance(sinks["jsonl"], JsonlSettings)
    env_only = load_config(None, {"CORLEDGER_SMTP_HOST": "127.0.0.1",
                                  "CORLEDGER_SMTP_TO": "a@x.org, b@x.org",
                                  "CORLEDGER_SMTP_TO_AMHSA": "c@x.org"})
    (email,) = env_only.sinks
    assert isinstance(email, EmailSettings)
    assert email.recipients("AMHSA") == ("c@x.org",)
    assert email.recipients(None) == ("a@x.org", "b@x.org")


@pytest.mark.parametrize("text, message", [
    ("[scan]\nwithin = 'x'\n", "scan.within"),
    ("[scan]\ntime = '25:00'\n", "scan.time"),
    ("[scan]\ntimezone = 'Mars/Olympus'\n", "scan.timezone"),
    ("[scan]\nwhen = 1\n", "scan.when: unknown key"),
    ("[sinks.x]\ntype = 'pigeon'\n", "sinks.x.type"),
    ("[sinks.x]\ntype = 'webhook'\n", "sinks.x.url"),
    ("[sinks.x]\ntype = 'email'\nhost = 'h'\nto = ['not-an-address']\n", "sinks.x.to"),
    ("not toml [", "not valid TOML"),
    # URLs the HTTP client could not send to, refused before any delivery is tried
    ("[sinks.x]\ntype = 'webhook'\nurl = 'http://127.0.0.1:80a/hook'\n", "sinks.x.url"),
    ("[sinks.x]\ntype = 'webhook'\nurl = 'http://127.0.0.1/a hook'\n", "sinks.x.url"),
    ("[sinks.x]\ntype = 'webhook'\nurl = 'https://h:99999/'\n", "sinks.x.url"),
    ("[sinks.x]\ntype = 'webhook'\nurl = 'http://[::1/'\n", "sinks.x.url"),
    ("[sinks.x]\ntype = 'webhook'\nurl = 'ftp://h/x'\n", "sinks.x.url"),
    ("[sinks.x]\ntype = 'webhook'\nurl = 'http://h\u00e9.example/'\n", "sinks.x.url"),
    ("[sinks.x]\ntype = 'webhook'\nurl = 'http://h/'\nheaders = { 'X-Key' = \"a\\r\\nb\" }\n",
     "sinks.x.headers.X-Key"),
    ("[sinks.x]\ntype = 'webhook'\nurl = 'http://h/'\nheaders = { 'X-Key' = '\u20ac' }\n",
     "sinks.x.headers.X-Key"),
    ("[sinks.x]\ntype = 'webhook'\nurl = 'http://h/'\nheaders = { 'X Key' = 'v' }\n",
     "sinks.x.headers.X Key"),
    # a lease a delivery could outlast: another worker would deliver the row again
    ("[outbox]\nlease_seconds = 10\n[sinks.x]\ntype = 'webhook'\nurl = 'http://h/'\n",
     "outbox.lease_seconds (10) must be longer than sinks.x.timeout_seconds (10)"),
    ("[outbox]\nlease_seconds = 1\n[sinks.x]\ntype = 'webhook'\nurl = 'http://h/'\n"
     "timeout_seconds = 10\n", "outbox.lease_seconds (1) must be longer than sinks.x"),
    ("[outbox]\nlease_seconds = 30\n[sinks.m]\ntype = 'email'\nhost = 'h'\n",
     "outbox.lease_seconds (30) must be longer than sinks.m.timeout_seconds (30)"),
])
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path, {})


@pytest.mark.parametrize("token", ["tok-SECRET-4f2a9c\r", "tok-SECRET-4f2a9c\n",
                                   "tok-SECRET-\u20ac"])
def test_a_token_no_header_can_carry_is_refused_naming_the_key_never_the_token(
        tmp_path: Path, token: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[sinks.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:1/x"\n'
                    'bearer_token_env = "HOOK_TOKEN"\n')
    with pytest.raises(ConfigError) as refused:
        load_config(path, {"HOOK_TOKEN": token})
    assert str(refused.value).startswith("sinks.hook.bearer_token_env ($HOOK_TOKEN): ")
    with pytest.raises(ConfigError) as from_env:
        load_config(None, {"CORLEDGER_WEBHOOK_URL": "http://127.0.0.1:1/x",
                           "CORLEDGER_WEBHOOK_TOKEN": token})
    assert str(from_env.value).startswith("$CORLEDGER_WEBHOOK_TOKEN: ")
    for message in (str(refused.value), str(from_env.value)):
        assert "tok-SECRET" not in message


@pytest.mark.parametrize("hook_url, header", [
    (None, ("Authorization", "Bearer tok-SECRET-4f2a9c\r")),  # ValueError: invalid header
    (None, ("Authorization", "Bearer tok-SECRET-\u20ac")),     # UnicodeEncodeError
    ("http://127.0.0.1:80a/hook", ("Authorization", "Bearer tok-SECRET-4f2a9c")),  # InvalidURL
])
def test_any_failure_of_a_delivery_is_a_counted_try_that_never_shows_the_token(
        flagged: LedgerStore, db_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, hook_url: str | None,
        header: tuple[str, str]) -> None:
    """Settings the configuration would refuse, built by hand: whatever a delivery raises
    is one failed try (backoff, then the dead letter), with the token taken out of the
    message, and the rows behind it are delivered in the same pass."""
    out = tmp_path / "flags.jsonl"
    settings = OutboxSettings(max_attempts=2, backoff_seconds=10)
    with http_receiver() as hook:
        config = Config(outbox=settings, sinks=(
            WebhookSettings("hook", hook_url or hook.url, headers=(header,)),
            JsonlSettings("file", out)))
        clock = Clock()
        first = deliver(flagged, db_url, config, clock)
        assert (len(first.sent), len(first.retrying), first.dead) == (1, 1, [])
        assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [
            "lapse:E-1:2021-06-15:critical"]  # the row behind the failing one
        clock.advance(10)
        assert len(deliver(flagged, db_url, config, clock).dead) == 1
        assert hook.requests == []
    (row,) = outbox_rows(engine_for(db_url), ["dead"])
    assert (row["sink"], row["attempts"]) == ("hook", 2)
    assert row["last_error"].split(":")[0] in ("ValueError", "UnicodeEncodeError",
                                               "InvalidURL")
    for text in (row["last_error"], caplog.text):
        assert "tok-SECRET" not in text


def test_relay_without_sinks_keeps_its_position(flagged: LedgerStore, db_url: str,
                                                tmp_path: Path) -> None:
    engine = engine_for(db_url)
    assert relay(flagged, engine, {}, NOW) == 0
    sinks = make_sinks(Config(sinks=(JsonlSettings("file", tmp_path / "f.jsonl"),)))
    assert relay(flagged, engine, sinks, NOW) == 1


def test_a_webhook_redirect_is_a_failed_attempt_and_never_leaks_the_token(
        flagged: LedgerStore, db_url: str) -> None:
    settings = OutboxSettings(max_attempts=2, backoff_seconds=10)
    token = ("Authorization", "Bearer s3cret-token")
    with http_receiver() as elsewhere, http_receiver(redirect_to=None) as hook:
        hook.redirect_to = elsewhere.url  # another origin (another port)
        config = Config(outbox=settings, sinks=(WebhookSettings("hook", hook.url,
                                                                headers=(token,)),))
        clock = Clock()
        first = deliver(flagged, db_url, config, clock)
        assert (first.sent, len(first.retrying)) == ([], 1)
        clock.advance(10)
        second = deliver(flagged, db_url, config, clock)
        assert second.sent == [] and len(hook.requests) == 2
        assert elsewhere.requests == []  # nothing, and no token, reached the other origin
    rows = outbox_rows(engine_for(db_url), ["dead"])
    assert len(rows) == 1 and "redirect" in rows[0]["last_error"]
    assert outbox_counts(engine_for(db_url)) == {"pending": 0, "sent": 0, "dead": 1}


def test_smtp_login_without_tls_is_refused_unless_explicitly_allowed(tmp_path: Path) -> None:
    env = {"CORLEDGER_SMTP_HOST": "127.0.0.1", "CORLEDGER_SMTP_USER": "flags",
           "CORLEDGER_SMTP_PASSWORD": "pw", "CORLEDGER_SMTP_TO": "qa@example.org"}
    with pytest.raises(ConfigError, match="password in clear"):
        load_config(None, env)
    config_file = tmp_path / "c.toml"
    config_file.write_text('[sinks.mail]\ntype = "email"\nhost = "127.0.0.1"\n'
                           'username = "flags"\nto = ["qa@example.org"]\n')
    with pytest.raises(ConfigError, match="sinks.mail: .*password in clear"):
        load_config(config_file, {})
    assert load_config(None, {**env, "CORLEDGER_SMTP_STARTTLS": "1"}).sinks


def test_allowed_plaintext_smtp_login_warns_and_delivers(
        cli: Any, flagged: LedgerStore, db_url: str, tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.lapse_helpers import LOOPBACK, free_port

    logins: list[tuple[bytes, bytes]] = []

    def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str,
                     data: Any) -> AuthResult:
        logins.append((data.login, data.password))
        return AuthResult(success=True)

    class Handler:
        async def handle_DATA(self, *_args: Any) -> str:  # noqa: N802
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname=LOOPBACK, port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        config_file = tmp_path / "c.toml"
        config_file.write_text(
            f'[sinks.mail]\ntype = "email"\nhost = "{LOOPBACK}"\nport = {port}\n'
            'username = "flags"\npassword_env = "PW"\nto = ["qa@example.org"]\n'
            "allow_plaintext_auth = true\n")
        config = load_config(config_file, {"PW": "pw"})
        from commands.config import transport_warnings

        assert any("in clear" in w for w in transport_warnings(config))
        result = deliver(flagged, db_url, config, Clock())
        assert len(result.sent) == 1 and logins == [(b"flags", b"pw")]
    finally:
        controller.stop()
