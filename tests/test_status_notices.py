"""Status-change notices through the outbox: announced once, to the sinks configured for them,
with the events (or the calendar) behind the change; retried and dead-lettered like flags."""

from __future__ import annotations

import json
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
from commands.notify import EmailSink, dispatch, make_sinks, outbox_counts, outbox_rows
from commands.status_notices import relay_status_changes
from ledger.rulebooks import RULES
from storage.engine import engine_for
from storage.store import LedgerStore
from tests.conftest import Cli, line
from tests.lapse_helpers import certified, due_in, http_receiver


def rule_id(name: str, on: date = date(2020, 1, 1)) -> str:
    """The id of a GENERIC rule in force on ``on``, as the registry names it."""
    return RULES.rulebook_for("GENERIC", on).rule(name).id


QA = date(2020, 6, 15)  # GENERIC: maintenance 1 due 2021-06-15, lapsing on 2021-06-16
WINTER = date(2021, 1, 1)


def relay(store: LedgerStore, db_url: str, config: Config, as_of: date,
          now: datetime | None = None) -> int:
    return relay_status_changes(store, engine_for(db_url), make_sinks(config),
                                now or datetime.now(UTC), as_of)


def deliver(db_url: str, config: Config) -> Any:
    return dispatch(engine_for(db_url), make_sinks(config), config.outbox,
                    lambda: datetime.now(UTC), "w1")


def revocation(employer: str, effective: str) -> dict[str, Any]:
    return line("CertificationRevoked", employer, effective,
                {"authority": "WorkSafeBC", "reason": "fatality investigation"},
                id=f"{employer}-revoked")


def test_a_revocation_is_announced_once_to_the_sinks_that_want_status_notices(
    cli: Cli, store: LedgerStore, db_url: str, tmp_path: Path
) -> None:
    assert cli.import_lines([*certified("E-1", QA), *certified("E-2", QA)]).exit_code == 0
    lapse_file = tmp_path / "flags.jsonl"
    with http_receiver() as hook:
        config = Config(sinks=(WebhookSettings("hook", hook.url, notices=("status",)),
                               JsonlSettings("flags", lapse_file)))
        assert relay(store, db_url, config, WINTER) == 0  # the first run only records
        assert cli.import_lines([revocation("E-1", "2020-12-01")]).exit_code == 0
        assert relay(store, db_url, config, WINTER) == 1  # E-1 only, the hook only
        assert relay(store, db_url, config, WINTER) == 0  # announced once
        assert len(deliver(db_url, config).sent) == 1
        assert deliver(db_url, config).sent == []
        [body] = hook.delivered()
        assert (body["type"], body["employer"], body["from"], body["to"]) == \
            ("StatusChanged", "E-1", "certified", "revoked")
        assert body["id"] == "status:E-1:certified->revoked:2021-01-01"
        assert hook.headers[-1]["Idempotency-Key"] == body["id"]
        assert [(c["time"], c["event"]) for c in body["because"]] == \
            [("transaction", "E-1-revoked")]
        assert body["because"][0]["rules"][0]["rule"] == rule_id("revocation")
    assert not lapse_file.exists()  # a lapse-only sink hears nothing of status changes
    [row] = outbox_rows(engine_for(db_url), ["sent"])
    assert (row["type"], row["event_id"], row["level"]) == ("StatusChanged", body["id"], None)


def test_a_lapse_by_the_calendar_is_announced_when_its_day_comes(
    cli: Cli, store: LedgerStore, db_url: str, tmp_path: Path
) -> None:
    cli.import_lines(certified("E-1", QA))
    out = tmp_path / "status.jsonl"
    config = Config(sinks=(JsonlSettings("file", out, notices=("lapse", "status")),))
    assert relay(store, db_url, config, WINTER) == 0
    assert relay(store, db_url, config, date(2021, 6, 15)) == 0  # still in force
    assert relay(store, db_url, config, date(2021, 6, 16)) == 1  # no event: the calendar
    assert len(deliver(db_url, config).sent) == 1
    [body] = [json.loads(x) for x in out.read_text().splitlines()]
    assert (body["from"], body["to"], body["as_of"]) == ("certified", "cancelled",
                                                         "2021-06-16")
    [cause] = body["because"]
    assert (cause["time"], cause["type"], cause["effective"]) == ("valid", "calendar",
                                                                  "2021-06-16")
    assert cause["rules"][0]["rule"] == rule_id("missed-audit")


def test_a_refused_status_notice_is_dead_lettered(
    cli: Cli, store: LedgerStore, db_url: str
) -> None:
    cli.import_lines(certified("E-1", QA))
    with http_receiver(fail_first=5, fail_status=400) as hook:
        config = Config(outbox=OutboxSettings(max_attempts=3),
                        sinks=(WebhookSettings("hook", hook.url, notices=("status",)),))
        relay(store, db_url, config, WINTER)
        cli.import_lines([revocation("E-1", "2020-12-01")])
        assert relay(store, db_url, config, WINTER) == 1
        assert len(deliver(db_url, config).dead) == 1
    assert outbox_counts(engine_for(db_url)) == {"pending": 0, "sent": 0, "dead": 1}


def test_with_no_status_sink_nothing_is_recorded_or_announced(
    cli: Cli, store: LedgerStore, db_url: str, tmp_path: Path
) -> None:
    cli.import_lines(certified("E-1", QA))
    config = Config(sinks=(JsonlSettings("flags", tmp_path / "f.jsonl"),))
    assert relay(store, db_url, config, WINTER) == 0
    cli.import_lines([revocation("E-1", "2020-12-01")])
    # A status sink added later starts from what it finds: no notice of the past.
    late = Config(sinks=(JsonlSettings("file", tmp_path / "s.jsonl", notices=("status",)),))
    assert relay(store, db_url, late, WINTER) == 0


def test_the_status_e_mail_says_who_from_what_to_what_and_why() -> None:
    sink = EmailSink(EmailSettings("mail", "localhost", to=("regulator@example.org",),
                                   notices=("status",)))
    payload = {"type": "StatusChanged", "id": "status:E-1:certified->revoked:2021-01-01",
               "employer": "E-1", "partner": "BCCSA", "as_of": "2021-01-01",
               "from": "certified", "to": "revoked", "fields": ["status", "certificate"],
               "because": [{"type": "CertificationRevoked", "event": "E-1-revoked",
                            "effective": "2020-12-01", "rules": [
                                {"rule": "BCCSA-2000.revocation", "says": "revoked"}]}]}
    assert sink.wants(payload)
    message = sink.message(payload)
    assert message["Subject"] == "[corledger] status changed: E-1 is now revoked (was certified)"
    body = message.get_content()
    assert "certified -> revoked" in body and "E-1-revoked effective 2020-12-01" in body
    assert not sink.wants({**payload, "type": "LapseRiskFlagged"})


def test_the_notices_a_sink_gets_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[sinks.a]\ntype = "jsonl"\npath = "a.jsonl"\nnotices = ["status"]\n'
                    '[sinks.b]\ntype = "jsonl"\npath = "b.jsonl"\n')
    config = load_config(path, {})
    assert [s.notices for s in config.sinks] == [("status",), ("lapse",)]
    env = load_config(None, {"CORLEDGER_JSONL_PATH": "x.jsonl",
                             "CORLEDGER_NOTICES": "lapse, status"})
    assert env.sinks[0].notices == ("lapse", "status")
    path.write_text('[sinks.a]\ntype = "jsonl"\npath = "a.jsonl"\nnotices = ["clearance"]\n')
    with pytest.raises(ConfigError, match=r"sinks\.a\.notices: expected a non-empty list"):
        load_config(path, {})


def test_outbox_deliver_relays_and_delivers_status_notices(cli: Cli, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    cli.import_lines(certified("E-1", due_in(100, today)))
    out = tmp_path / "status.jsonl"
    config = tmp_path / "corledger.toml"
    config.write_text(f'[sinks.file]\ntype = "jsonl"\npath = "{out}"\nnotices = ["status"]\n')
    first = cli.json("outbox", "--deliver", "--config", str(config))
    assert (first["enqueued"], first["sent"]) == (0, 0)  # the first run only records
    cli.import_lines([revocation("E-1", (today - timedelta(days=1)).isoformat())])
    second = cli.json("outbox", "--deliver", "--config", str(config))
    assert (second["enqueued"], second["sent"]) == (1, 1)
    [body] = [json.loads(x) for x in out.read_text().splitlines()]
    assert (body["employer"], body["from"], body["to"]) == ("E-1", "certified", "revoked")
    assert cli.json("outbox", "--deliver", "--config", str(config))["enqueued"] == 0
