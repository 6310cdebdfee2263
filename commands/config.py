"""Configuration of the lapse scan, the outbox and the notification sinks.

Read from a TOML file (``--config FILE`` or ``$CORLEDGER_CONFIG``) and from environment
variables, which win over the file so a service unit can override one value without editing
it. Loading is pure: the caller passes the file path and the environment mapping, and gets
back frozen settings or a :class:`ConfigError` naming the offending key.

File format (every table and key is optional)::

    [scan]
    within = 90                  # days ahead (and back, for missed ones)
    time = "06:00"               # daily scan, HH:MM in `timezone`
    timezone = "UTC"             # an IANA zone name
    misfire_grace_seconds = 3600
    max_catch_up_days = 366      # at most this many missed dates are scanned after downtime

    [outbox]
    max_attempts = 8             # dead-lettered after this many failed tries
    backoff_seconds = 30         # first retry delay; doubles each try
    max_backoff_seconds = 3600
    dispatch_every_seconds = 60  # how often the scheduler retries pending deliveries
    lease_seconds = 300          # a claimed row is retried after this if its worker died;
                                 # longer than every sink's timeout_seconds

    [serve]                      # corledger serve (the HTTP service)
    host = "127.0.0.1"
    port = 8080
    workers = 2
    max_body_bytes = 67108864    # a larger POST /v1/events gets 413
    access_log = "-"             # "-" for stderr, else a file (one JSON object a line)

    [sinks.flags-file]
    type = "jsonl"
    path = "/var/lib/corledger/lapse-flags.jsonl"
    notices = ["lapse", "status"]   # which notices it gets (default: ["lapse"]); "status":
                                    # an employer's status changed (commands.status_notices)

    [sinks.partner-hook]
    type = "webhook"
    url = "https://hooks.example.org/corledger"
    timeout_seconds = 10
    headers = { "X-Team" = "safety" }
    bearer_token_env = "CORLEDGER_WEBHOOK_TOKEN"   # the secret stays in the environment

    [sinks.mail]
    type = "email"
    host = "smtp.example.org"
    port = 587
    starttls = true
    username = "corledger"
    password_env = "CORLEDGER_SMTP_PASSWORD"
    from = "corledger@example.org"
    to = ["safety-ops@example.org"]           # when the partner has no list of its own
    [sinks.mail.partners]
    BCCSA = ["cor@bccsa.example"]

Environment variables (each overrides the file):

- ``CORLEDGER_SCAN_WITHIN``, ``CORLEDGER_SCAN_TIME``, ``CORLEDGER_TIMEZONE``,
  ``CORLEDGER_MISFIRE_GRACE_SECONDS``, ``CORLEDGER_MAX_CATCH_UP_DAYS``;
- ``CORLEDGER_OUTBOX_MAX_ATTEMPTS``, ``CORLEDGER_OUTBOX_BACKOFF_SECONDS``,
  ``CORLEDGER_OUTBOX_DISPATCH_EVERY_SECONDS``;
- ``CORLEDGER_JSONL_PATH`` adds (or replaces) a sink named ``jsonl``;
- ``CORLEDGER_WEBHOOK_URL`` (with ``CORLEDGER_WEBHOOK_TOKEN``) a sink named ``webhook``;
- ``CORLEDGER_NOTICES`` (e.g. ``lapse,status``): the notices the ``jsonl``, ``webhook`` and
  ``email`` sinks set up by these variables get (default: ``lapse``);
- ``CORLEDGER_SMTP_HOST`` a sink named ``email``, with ``CORLEDGER_SMTP_PORT``,
  ``CORLEDGER_SMTP_FROM``, ``CORLEDGER_SMTP_TO`` (comma-separated),
  ``CORLEDGER_SMTP_USER``, ``CORLEDGER_SMTP_PASSWORD``, ``CORLEDGER_SMTP_STARTTLS``
  (``1``/``0``) and ``CORLEDGER_SMTP_TO_<PARTNER>`` per partner (e.g. ``..._TO_BCCSA``);
- ``CORLEDGER_SERVE_HOST``, ``CORLEDGER_SERVE_PORT``, ``CORLEDGER_SERVE_WORKERS``,
  ``CORLEDGER_SERVE_MAX_BODY_BYTES``, ``CORLEDGER_SERVE_ACCESS_LOG``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.options import MAX_WITHIN_DAYS

CONFIG_ENV = "CORLEDGER_CONFIG"
NOTICE_KINDS = ("lapse", "status")  # lapse-risk flags; status changes
DEFAULT_NOTICES = ("lapse",)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and why."""


@dataclass(frozen=True)
class ScanSettings:
    """When and how far ahead the scheduled lapse scan looks."""

    within: int = 90
    time: time = time(6, 0)
    timezone: str = "UTC"
    misfire_grace_seconds: int = 3600
    max_catch_up_days: int = 366

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window(self, asked: int | None) -> int:
        """The days a scan looks ahead (and back): those ``asked`` (``--within``, the API's
        ``within``), else the configured ``within`` (``$CORLEDGER_SCAN_WITHIN``, else the
        file's ``scan.within``, else 90)."""
        return self.within if asked is None else asked


@dataclass(frozen=True)
class OutboxSettings:
    """How the dispatcher retries: exponential backoff, then the dead letter."""

    max_attempts: int = 8
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    dispatch_every_seconds: int = 60
    lease_seconds: int = 300

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try (1, 2, ...)."""
        return min(self.backoff_seconds * 2 ** max(attempts - 1, 0), self.max_backoff_seconds)


@dataclass(frozen=True)
class JsonlSettings:
    """Append one JSON line per flag to a file."""

    name: str
    path: Path
    notices: tuple[str, ...] = DEFAULT_NOTICES


@dataclass(frozen=True)
class WebhookSettings:
    """POST one JSON document per flag to a URL."""

    name: str
    url: str
    timeout_seconds: float = 10.0
    headers: tuple[tuple[str, str], ...] = ()
    bearer_token_env: str | None = None
    notices: tuple[str, ...] = DEFAULT_NOTICES


@dataclass(frozen=True)
class EmailSettings:
    """One e-mail per flag, to the partner's recipients (else the default ``to``)."""

    name: str
    host: str
    port: int = 25
    sender: str = "corledger@localhost"
    to: tuple[str, ...] = ()
    partners: tuple[tuple[str, tuple[str, ...]], ...] = ()
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    password_env: str | None = None
    timeout_seconds: float = 30.0
    allow_plaintext_auth: bool = False
    notices: tuple[str, ...] = DEFAULT_NOTICES

    @property
    def plaintext_auth(self) -> bool:
        """Whether a login would send the password in clear (AUTH PLAIN is only base64)."""
        return bool(self.username) and not (self.starttls or self.ssl)

    def recipients(self, partner: str | None) -> tuple[str, ...]:
        """Who hears about a flag of an employer enrolled with ``partner``."""
        for name, addresses in self.partners:
            if partner is not None and name.upper() == partner.upper():
                return addresses
        return self.to


SinkSettings = JsonlSettings | WebhookSettings | EmailSettings


@dataclass(frozen=True)
class ServeSettings:
    """Where ``corledger serve`` listens, with how many workers, and what it accepts."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    max_body_bytes: int = 64 * 1024 * 1024
    access_log: str = "-"  # "-": stderr; else a file path


@dataclass(frozen=True)
class Config:
    """Everything the scan, the scheduler and the dispatcher are configured with."""

    scan: ScanSettings = field(default_factory=ScanSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    sinks: tuple[SinkSettings, ...] = ()
    serve: ServeSettings = field(default_factory=ServeSettings)


def configured_zone(environ: Mapping[str, str]) -> ZoneInfo:
    """The one time zone of "today" for every command: ``$CORLEDGER_TIMEZONE``, else the
    config file's ``scan.timezone`` (``$CORLEDGER_CONFIG``), else UTC."""
    return configured_scan(environ).zone


def configured_scan(environ: Mapping[str, str]) -> ScanSettings:
    """The scan settings of the environment's configuration (``$CORLEDGER_CONFIG`` and the
    ``CORLEDGER_SCAN_*`` and ``CORLEDGER_TIMEZONE`` variables)."""
    return load_config(None, environ).scan


def load_config(path: str | Path | None, environ: Mapping[str, str]) -> Config:
    """The configuration from ``path`` (else ``$CORLEDGER_CONFIG``, else none) and ``environ``."""
    chosen = path or environ.get(CONFIG_ENV)
    document: dict[str, Any] = {}
    if chosen:
        file = Path(chosen)
        try:
            document = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{file}: no such config file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML ({exc})") from None
    _only(document, {"scan", "outbox", "sinks", "serve"}, "")
    config = Config(
        scan=_scan(_table(document, "scan")),
        outbox=_outbox(_table(document, "outbox")),
        sinks=tuple(_sink(name, _table(_table(document, "sinks"), name, "sinks."))
                    for name in _table(document, "sinks")),
        serve=_serve(_table(document, "serve")),
    )
    return _from_environ(config, environ)


# --- the file ---------------------------------------------------------------------------------


def _table(doc: Mapping[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{prefix}{key}: expected a table")
    return value


def _only(doc: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key (expected one of "
                          f"{', '.join(sorted(allowed))})")


def _get(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any,
         where: str) -> Any:
    value = doc.get(key, default)
    if value is default:
        return value
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(f"{where}{key}: expected {_kind_name(kind)}, not a boolean")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}{key}: expected {_kind_name(kind)}, got {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _positive(value: float, key: str, minimum: float = 1) -> None:
    if value < minimum:
        raise ConfigError(f"{key}: must be at least {minimum:g}, got {value!r}")


def _scan(doc: Mapping[str, Any]) -> ScanSettings:
    _only(doc, {"within", "time", "timezone", "misfire_grace_seconds", "max_catch_up_days"},
          "scan.")
    d = ScanSettings()
    settings = ScanSettings(
        within=_get(doc, "within", int, d.within, "scan."),
        time=parse_time_of_day(_get(doc, "time", str, None, "scan."), "scan.time")
        if "time" in doc else d.time,
        timezone=_get(doc, "timezone", str, d.timezone, "scan."),
        misfire_grace_seconds=_get(doc, "misfire_grace_seconds", int,
                                   d.misfire_grace_seconds, "scan."),
        max_catch_up_days=_get(doc, "max_catch_up_days", int, d.max_catch_up_days, "scan."),
    )
    return _check_scan(settings)


def _check_scan(settings: ScanSettings) -> ScanSettings:
    _positive(settings.within, "scan.within", 0)
    if settings.within > MAX_WITHIN_DAYS:  # as --within: a window past it reaches no rule
        raise ConfigError(f"scan.within: must be at most {MAX_WITHIN_DAYS}, "
                          f"got {settings.within!r}")
    _positive(settings.misfire_grace_seconds, "scan.misfire_grace_seconds")
    _positive(settings.max_catch_up_days, "scan.max_catch_up_days")
    try:
        settings.zone  # noqa: B018 - validates the zone name
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"scan.timezone: unknown time zone {settings.timezone!r}") from None
    return settings


def parse_time_of_day(text: str, key: str) -> time:
    """``HH:MM`` (24-hour) as a time."""
    try:
        hour, minute = (int(part) for part in text.split(":"))
        return time(hour, minute)
    except ValueError:
        raise ConfigError(f"{key}: expected HH:MM (24-hour), got {text!r}") from None


def _outbox(doc: Mapping[str, Any]) -> OutboxSettings:
    _only(doc, {"max_attempts", "backoff_seconds", "max_backoff_seconds",
                "dispatch_every_seconds", "lease_seconds"}, "outbox.")
    d = OutboxSettings()
    settings = OutboxSettings(
        max_attempts=_get(doc, "max_attempts", int, d.max_attempts, "outbox."),
        backoff_seconds=float(_get(doc, "backoff_seconds", (int, float), d.backoff_seconds,
                                   "outbox.")),
        max_backoff_seconds=float(_get(doc, "max_backoff_seconds", (int, float),
                                       d.max_backoff_seconds, "outbox.")),
        dispatch_every_seconds=_get(doc, "dispatch_every_seconds", int,
                                    d.dispatch_every_seconds, "outbox."),
        lease_seconds=_get(doc, "lease_seconds", int, d.lease_seconds, "outbox."),
    )
    return _check_outbox(settings)


def _check_outbox(settings: OutboxSettings) -> OutboxSettings:
    _positive(settings.max_attempts, "outbox.max_attempts")
    _positive(settings.backoff_seconds, "outbox.backoff_seconds", 0)
    _positive(settings.dispatch_every_seconds, "outbox.dispatch_every_seconds")
    _positive(settings.lease_seconds, "outbox.lease_seconds")
    return settings


def _serve(doc: Mapping[str, Any]) -> ServeSettings:
    _only(doc, {"host", "port", "workers", "max_body_bytes", "access_log"}, "serve.")
    d = ServeSettings()
    return _check_serve(ServeSettings(
        host=_get(doc, "host", str, d.host, "serve."),
        port=_get(doc, "port", int, d.port, "serve."),
        workers=_get(doc, "workers", int, d.workers, "serve."),
        max_body_bytes=_get(doc, "max_body_bytes", int, d.max_body_bytes, "serve."),
        access_log=_get(doc, "access_log", str, d.access_log, "serve."),
    ))


def _check_serve(settings: ServeSettings) -> ServeSettings:
    if not 0 <= settings.port <= 65535:
        raise ConfigError(f"serve.port: must be from 0 to 65535, got {settings.port!r}")
    _positive(settings.workers, "serve.workers")
    _positive(settings.max_body_bytes, "serve.max_body_bytes")
    return settings


def _addresses(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and "@" in v for v in value):
        raise ConfigError(f"{key}: expected a list of e-mail addresses, got {value!r}")
    return tuple(value)


def _sink(name: str, doc: Mapping[str, Any]) -> SinkSettings:
    where = f"sinks.{name}."
    kind = doc.get("type")
    if kind == "jsonl":
        _only(doc, {"type", "path", "notices"}, where)
        if "path" not in doc:
            raise ConfigError(f"{where}path: required for a jsonl sink")
        return JsonlSettings(name, Path(_get(doc, "path", str, None, where)),
                             notices=_notices(doc, where))
    if kind == "webhook":
        _only(doc, {"type", "url", "timeout_seconds", "headers", "bearer_token_env",
                    "notices"}, where)
        url = _get(doc, "url", str, None, where)
        if not url:
            raise ConfigError(f"{where}url: required, an http:// or https:// URL")
        check_url(url, f"{where}url")
        headers = _table(doc, "headers", where)
        if not all(isinstance(v, str) for v in headers.values()):
            raise ConfigError(f"{where}headers: every value must be a string")
        for header, value in headers.items():
            check_header(header, value, f"{where}headers.{header}")
        return WebhookSettings(
            name, url,
            timeout_seconds=float(_get(doc, "timeout_seconds", (int, float), 10.0, where)),
            headers=tuple(sorted(headers.items())),
            bearer_token_env=_get(doc, "bearer_token_env", str, None, where),
            notices=_notices(doc, where),
        )
    if kind == "email":
        _only(doc, {"type", "host", "port", "from", "to", "partners", "starttls", "ssl",
                    "username", "password_env", "timeout_seconds", "allow_plaintext_auth",
                    "notices"}, where)
        host = _get(doc, "host", str, None, where)
        if not host:
            raise ConfigError(f"{where}host: required for an email sink")
        partners = _table(doc, "partners", where)
        return EmailSettings(
            name, host,
            port=_get(doc, "port", int, 25, where),
            sender=_get(doc, "from", str, "corledger@localhost", where),
            to=_addresses(doc.get("to", []), f"{where}to"),
            partners=tuple((p.upper(), _addresses(v, f"{where}partners.{p}"))
                           for p, v in sorted(partners.items())),
            starttls=_get(doc, "starttls", bool, False, where),
            ssl=_get(doc, "ssl", bool, False, where),
            username=_get(doc, "username", str, None, where),
            password_env=_get(doc, "password_env", str, None, where),
            timeout_seconds=float(_get(doc, "timeout_seconds", (int, float), 30.0, where)),
            allow_plaintext_auth=_get(doc, "allow_plaintext_auth", bool, False, where),
            notices=_notices(doc, where),
        )
    raise ConfigError(f"{where}type: expected jsonl, webhook or email, got {kind!r}")


_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")  # what http.client refuses in a URL
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


def check_url(url: str, key: str) -> None:
    """Refuses a webhook URL the HTTP client could not send to (it would fail every
    delivery): http or https, a host, a port from 1 to 65535 if given, no user or password,
    ASCII without spaces or control characters."""
    problem = None
    if not url.isascii() or _URL_FORBIDDEN.search(url):
        problem = "must be ASCII without spaces or control characters (percent-encode them)"
    else:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:  # a port not a number from 0 to 65535, a bad IPv6 host
            raise ConfigError(f"{key}: {exc}, got {url!r}") from None
        if "@" in parts.netloc:  # not quoted: it may hold a password
            raise ConfigError(f"{key}: must not hold a user name or password (send a token "
                              "with bearer_token_env or a header instead)")
        if problem is None and parts.scheme not in ("http", "https"):
            problem = "must be an http:// or https:// URL"
        elif problem is None and not parts.hostname:
            problem = "has no host"
        elif problem is None and port == 0:
            problem = "has a port that is not a number from 1 to 65535"
    if problem:
        raise ConfigError(f"{key}: {problem}, got {url!r}")


def check_header(name: str, value: str, key: str) -> None:
    """Refuses a webhook header the HTTP client would reject at every delivery: a name that
    is not a token, a value that is not one line of Latin-1 text. The value is never quoted
    in the message (it may be a token)."""
    if not _HEADER_NAME.fullmatch(name):
        raise ConfigError(f"{key}: {name!r} is not a valid HTTP header name")
    if "\r" in value or "\n" in value:
        raise ConfigError(f"{key}: the value holds a carriage return or line feed (an "
                          "environment file saved with CRLF line endings?); a header value "
                          "must be one line")
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        raise ConfigError(f"{key}: the value holds a control character")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ConfigError(f"{key}: the value holds a character outside Latin-1, which an "
                          "HTTP header cannot carry") from None


def _notices(doc: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """Which notices a sink gets: a list of ``lapse`` and ``status`` (default: lapse)."""
    value = doc.get("notices", list(DEFAULT_NOTICES))
    if not isinstance(value, list) or not value \
            or not all(isinstance(v, str) and v in NOTICE_KINDS for v in value):
        raise ConfigError(f"{where}notices: expected a non-empty list of "
                          f"{' and '.join(repr(k) for k in NOTICE_KINDS)}, got {value!r}")
    return tuple(dict.fromkeys(value))


# --- the environment --------------------------------------------------------------------------


def _int_env(environ: Mapping[str, str], key: str) -> int | None:
    text = environ.get(key)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"${key}: expected a whole number, got {text!r}") from None


def _flag_env(environ: Mapping[str, str], key: str) -> bool | None:
    text = environ.get(key)
    if text is None or text == "":
        return None
    return text.strip().lower() in ("1", "true", "yes", "on")


def _from_environ(config: Config, environ: Mapping[str, str]) -> Config:
    scan = config.scan
    for key, attr in (("CORLEDGER_SCAN_WITHIN", "within"),
                      ("CORLEDGER_MISFIRE_GRACE_SECONDS", "misfire_grace_seconds"),
                      ("CORLEDGER_MAX_CATCH_UP_DAYS", "max_catch_up_days")):
        value = _int_env(environ, key)
        if value is not None:
            changes: dict[str, Any] = {attr: value}
            scan = replace(scan, **changes)
    if environ.get("CORLEDGER_SCAN_TIME"):
        scan = replace(scan, time=parse_time_of_day(environ["CORLEDGER_SCAN_TIME"],
                                                    "$CORLEDGER_SCAN_TIME"))
    if environ.get("CORLEDGER_TIMEZONE"):
        scan = replace(scan, timezone=environ["CORLEDGER_TIMEZONE"])
    outbox = config.outbox
    for key, attr in (("CORLEDGER_OUTBOX_MAX_ATTEMPTS", "max_attempts"),
                      ("CORLEDGER_OUTBOX_BACKOFF_SECONDS", "backoff_seconds"),
                      ("CORLEDGER_OUTBOX_DISPATCH_EVERY_SECONDS", "dispatch_every_seconds")):
        value = _int_env(environ, key)
        if value is not None:
            updates: dict[str, Any] = {attr: value}
            outbox = replace(outbox, **updates)

    sinks = {s.name: s for s in config.sinks}
    # Secrets named in the file are read from the environment here, once.
    for name, sink in list(sinks.items()):
        if isinstance(sink, EmailSettings) and sink.password_env:
            secret = environ.get(sink.password_env)
            if secret:
                sinks[name] = replace(sink, password=secret)
        if isinstance(sink, WebhookSettings) and sink.bearer_token_env:
            token = environ.get(sink.bearer_token_env)
            if token:
                check_header("Authorization", f"Bearer {token}",
                             f"sinks.{name}.bearer_token_env (${sink.bearer_token_env})")
                sinks[name] = replace(sink, headers=tuple(sorted(
                    {**dict(sink.headers), "Authorization": f"Bearer {token}"}.items())))
    if environ.get("CORLEDGER_JSONL_PATH"):
        sinks["jsonl"] = JsonlSettings("jsonl", Path(environ["CORLEDGER_JSONL_PATH"]))
    if environ.get("CORLEDGER_WEBHOOK_URL"):
        check_url(environ["CORLEDGER_WEBHOOK_URL"], "$CORLEDGER_WEBHOOK_URL")
        headers: tuple[tuple[str, str], ...] = ()
        if environ.get("CORLEDGER_WEBHOOK_TOKEN"):
            headers = (("Authorization", f"Bearer {environ['CORLEDGER_WEBHOOK_TOKEN']}"),)
            check_header(*headers[0], "$CORLEDGER_WEBHOOK_TOKEN")
        sinks["webhook"] = WebhookSettings("webhook", environ["CORLEDGER_WEBHOOK_URL"],
                                           headers=headers)
    if environ.get("CORLEDGER_SMTP_HOST"):
        prefix = "CORLEDGER_SMTP_TO_"
        partners = tuple(sorted(
            (key[len(prefix):].upper(), _split(value))
            for key, value in environ.items() if key.startswith(prefix) and value))
        sinks["email"] = EmailSettings(
            "email", environ["CORLEDGER_SMTP_HOST"],
            port=_int_env(environ, "CORLEDGER_SMTP_PORT") or 25,
            sender=environ.get("CORLEDGER_SMTP_FROM") or "corledger@localhost",
            to=_split(environ.get("CORLEDGER_SMTP_TO", "")),
            partners=partners,
            starttls=bool(_flag_env(environ, "CORLEDGER_SMTP_STARTTLS")),
            username=environ.get("CORLEDGER_SMTP_USER") or None,
            password=environ.get("CORLEDGER_SMTP_PASSWORD") or None,
            allow_plaintext_auth=bool(_flag_env(environ, "CORLEDGER_SMTP_ALLOW_PLAINTEXT_AUTH")),
        )
    if environ.get("CORLEDGER_NOTICES"):  # the notices of the sinks set up above
        notices = _notices({"notices": list(_split(environ["CORLEDGER_NOTICES"]))},
                           "CORLEDGER_NOTICES: ")
        for name in ("jsonl", "webhook", "email"):
            if name in sinks and environ.get(_SINK_ENV[name]):
                sinks[name] = replace(sinks[name], notices=notices)
    for sink in sinks.values():
        _check_transport(sink)
    serve = config.serve
    if environ.get("CORLEDGER_SERVE_HOST"):
        serve = replace(serve, host=environ["CORLEDGER_SERVE_HOST"])
    if environ.get("CORLEDGER_SERVE_ACCESS_LOG"):
        serve = replace(serve, access_log=environ["CORLEDGER_SERVE_ACCESS_LOG"])
    for key, attr in (("CORLEDGER_SERVE_PORT", "port"), ("CORLEDGER_SERVE_WORKERS", "workers"),
                      ("CORLEDGER_SERVE_MAX_BODY_BYTES", "max_body_bytes")):
        value = _int_env(environ, key)
        if value is not None:
            serving: dict[str, Any] = {attr: value}
            serve = replace(serve, **serving)
    outbox = _check_outbox(outbox)
    check_lease(outbox, tuple(sinks.values()))
    return Config(scan=_check_scan(scan), outbox=outbox, sinks=tuple(sinks.values()),
                  serve=_check_serve(serve))


def check_lease(outbox: OutboxSettings, sinks: tuple[SinkSettings, ...]) -> None:
    """Refuses a lease not longer than a sink's timeout: a worker still delivering when its
    lease ends would let another worker claim the row and deliver it a second time. (The
    dispatcher bounds each delivery by its sink's timeout in all.)"""
    for sink in sinks:
        timeout = getattr(sink, "timeout_seconds", None)
        if timeout is not None and outbox.lease_seconds <= timeout:
            raise ConfigError(
                f"outbox.lease_seconds ({outbox.lease_seconds}) must be longer than "
                f"sinks.{sink.name}.timeout_seconds ({timeout:g}): a delivery still running "
                "when its lease ends would be claimed and delivered again by another worker")


_SINK_ENV = {"jsonl": "CORLEDGER_JSONL_PATH", "webhook": "CORLEDGER_WEBHOOK_URL",
             "email": "CORLEDGER_SMTP_HOST"}


def _check_transport(sink: SinkSettings) -> None:
    """Refuses an SMTP login in clear unless the configuration says it accepts that."""
    if isinstance(sink, EmailSettings) and sink.plaintext_auth and not sink.allow_plaintext_auth:
        raise ConfigError(
            f"sinks.{sink.name}: a username with neither starttls nor ssl would send the "
            "password in clear; set starttls = true or ssl = true (or, on a trusted network "
            "only, allow_plaintext_auth = true / CORLEDGER_SMTP_ALLOW_PLAINTEXT_AUTH=1)")


def transport_warnings(config: Config) -> list[str]:
    """What a command that delivers should warn about at start (accepted insecure choices)."""
    return [f"warning: sink {s.name!r} logs in to {s.host}:{s.port} without TLS "
            "(allow_plaintext_auth): the password crosses the network in clear"
            for s in config.sinks if isinstance(s, EmailSettings) and s.plaintext_auth]


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())
