"""``corledger serve`` is configured like the scheduler: a ``[serve]`` table in the TOML file,
overridden by ``CORLEDGER_SERVE_*``; a wrong key or value is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.config import ConfigError, ServeSettings, load_config


def test_serve_defaults_to_loopback_8080_two_workers() -> None:
    assert load_config(None, {}).serve == ServeSettings("127.0.0.1", 8080, 2, 64 << 20, "-")


def test_serve_reads_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "corledger.toml"
    config.write_text('[serve]\nhost = "0.0.0.0"\nport = 9000\nworkers = 4\n'
                      'max_body_bytes = 1000\naccess_log = "/var/log/x.jsonl"\n')
    serve = load_config(config, {"CORLEDGER_SERVE_PORT": "9100",
                                 "CORLEDGER_SERVE_WORKERS": "8"}).serve
    assert serve == ServeSettings("0.0.0.0", 9100, 8, 1000, "/var/log/x.jsonl")


@pytest.mark.parametrize("text, message", [
    ("[serve]\nport = 70000\n", "serve.port: must be from 0 to 65535"),
    ("[serve]\nworkers = 0\n", "serve.workers: must be at least 1"),
    ("[serve]\nbind = 'x'\n", "serve.bind: unknown key"),
    ("[serve]\nport = '80'\n", "serve.port: expected int"),
])
def test_a_wrong_serve_setting_is_named(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "corledger.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(config, {})


def test_a_wrong_serve_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="CORLEDGER_SERVE_PORT: expected a whole number"):
        load_config(None, {"CORLEDGER_SERVE_PORT": "eighty"})


def test_serve_stops_on_a_wrong_config_naming_the_key(cli: object, tmp_path: Path) -> None:
    config = tmp_path / "corledger.toml"
    config.write_text("[serve]\nworkers = 'many'\n")
    result = cli("serve", "--config", str(config))  # type: ignore[operator]
    assert result.exit_code != 0
    assert "serve.workers: expected int" in result.output


@pytest.mark.parametrize("text, environ", [
    ("[scan]\nwithin = 4000000\n", {}),
    ("", {"CORLEDGER_SCAN_WITHIN": "3654"}),
])
def test_a_scan_window_wider_than_the_command_lines_is_refused(
        tmp_path: Path, text: str, environ: dict[str, str]) -> None:
    """As ``--within``: at most 3653 days (a wider one reached outside the calendar, and
    the scan raised a traceback building its own message)."""
    config = tmp_path / "corledger.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match="scan.within: must be at most 3653"):
        load_config(config, environ)
    assert load_config(None, {"CORLEDGER_SCAN_WITHIN": "3653"}).scan.within == 3653
