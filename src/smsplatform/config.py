"""Settings: defaults, then an optional TOML file, then `SMSPLATFORM_*` environment variables, then flags.

Every setting has one name: `auto_approve` in the file is `SMSPLATFORM_AUTO_APPROVE` in the environment.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from smsplatform.domain.expiry import DEFAULT_MAX_AGES, RECEIPT_TIMEOUT, MaxAges
from smsplatform.protocols.admission import ListenerLimits
from smsplatform.store.database import sqlite_url

ENV_PREFIX = "SMSPLATFORM_"
ROLES = ("api", "dispatch", "callbacks", "admin")


class ConfigError(ValueError):
    """A setting with a value that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite in data_dir
    host: str = "127.0.0.1"
    port: int = 8080
    # The operator's console, its management API and /metrics: their own address, never the API's.
    admin_host: str = "127.0.0.1"
    admin_port: int = 8081
    # Signs the console's session cookies; empty: a random key kept in `data_dir/admin.key` (0600).
    admin_secret: str = ""
    # Logs as text lines, or as one JSON object a line (for log shippers).
    log_format: str = "text"
    # Approve new sub-accounts and templates that pass the automatic checks without an operator.
    auto_approve: bool = False
    # Render `status` as an integer: some clients compare it with 0.
    status_as_int: bool = False
    # Requests per caller IP to `send` (code 106); 0 turns a limit off.
    ip_limit_per_second: int = 100
    ip_limit_per_minute: int = 3000
    max_body_bytes: int = 2 * 1024 * 1024
    # Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from these addresses
    # (comma-separated addresses or networks, e.g. a local reverse proxy: 127.0.0.1); empty: from none,
    # so a client cannot pick the address its IP allow-list and per-IP limits see.
    forwarded_allow_ips: str = ""
    # Every listener (the API, the console, the simulators, the SGIP listener): seconds a client has to
    # send a request line and its headers, then its body; seconds an idle keep-alive connection is kept.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 5.0
    # Seconds a connection to a link listener (simulators, SGIP listener) may stay without logging in.
    login_timeout: float = 10.0
    # Open connections one source address may hold on each listener; 0: no cap.
    max_connections_per_source: int = 256
    # Seconds the answer to a login is held back after a failed one from the same address, doubling
    # with each further failure up to `login_failure_delay_max`; a success starts over.
    login_failure_delay: float = 1.0
    login_failure_delay_max: float = 30.0
    # The key that encrypts secrets in the database (appkeys, connector and reply passwords) and keys
    # the appkey lookup hash: base64 text (SMSPLATFORM_SECRET_KEY), else read from `secret_key_file`,
    # else from `data_dir/secret.key`, made on first start (0600). Keep a copy: without it the stored
    # secrets cannot be read.
    secret_key: str = ""
    secret_key_file: str = ""
    # Let callbacks reach private and loopback addresses (tests, private networks).
    callback_allow_private: bool = False
    # Seconds before each retry of a failed callback (the last repeats), for at least 24 hours.
    callback_retry_delays: str = "10,30,60,120,300,600,1800,3600"
    # Requests in flight at once to one sub-account's receiver (its status reports; its replies apart),
    # over kept-alive connections: a receiver taking 20 ms a request then takes thousands of reports a
    # second, and a slow one still gets no more than this from us.
    callback_concurrency: int = 4
    # How long a process trusts its cached configuration (sub-accounts, templates, words) before it
    # checks whether the operator changed something.
    config_poll_seconds: float = 0.5
    log_level: str = "info"
    # What this process runs: "all", or a comma-separated subset of api, dispatch, callbacks (scaled
    # out: several processes on one PostgreSQL database).
    role: str = "all"
    # Processes that run the dispatch role beside the one `serve` starts (one per core by default: one
    # interpreter cannot use more than one core). Each opens its own links to every connector and
    # takes an equal share of the connector's submits-per-second cap. 0: dispatch runs in-process.
    dispatch_workers: int = min(os.cpu_count() or 1, 4)
    # Scaled out: the Redis every node shares (redis://host:6379/0), with `database_url` on PostgreSQL.
    # It holds what must be shared and fast: the frequency, per-IP and daily limits, request-id keys, a
    # connector's rate and its bind leases (cluster/). Empty: each process keeps them as one node does.
    redis_url: str = ""
    # This node's name in leases, link figures and logs (several nodes of one platform need distinct
    # names); empty: the host name.
    node_name: str = ""
    # On PostgreSQL, dispatchers and callback workers are woken through LISTEN/NOTIFY when work comes, on
    # whichever node; off: they find it by polling every second (for comparison, or a pooler that
    # cannot pass notifications on).
    wakeups: bool = True
    # Migrate the database to the newest schema at start. Nodes of a scaled-out platform start with
    # --no-migrate and `smsplatform migrate` runs once, before them.
    migrate: bool = True
    # Days messages, their reports, replies and callbacks are kept; 0: for ever.
    retention_days: int = 90
    # Nodes without the customer API (dispatch, callbacks) answer /healthz and /readyz on this port
    # (0: not at all); the API's listener answers them itself.
    health_host: str = "127.0.0.1"
    health_port: int = 0
    # The built-in simulated carriers (embedded default upstream). Port 0: any free port; the control
    # port (MO injection, faults; see simulator/control.py) is off unless given.
    simulators: bool = True
    simulator_host: str = "127.0.0.1"
    simulator_port: int = 0
    simulator_control_port: int = 0
    simulator_receipt_delay: float = 0.2
    # Seconds a submitted message waits for its status report; then it ends `unknown` and its customer
    # gets an UNKNOWN report (a connector's `receipt_timeout` option overrides it for its messages).
    receipt_timeout: int = RECEIPT_TIMEOUT
    # Seconds a message of each kind may wait to be submitted (link down, retries) before it fails with
    # an EXPIRED report and a refund; `account max-age` overrides them per sub-account.
    max_age_verification: int = DEFAULT_MAX_AGES.verification
    max_age_notification: int = DEFAULT_MAX_AGES.notification
    max_age_marketing: int = DEFAULT_MAX_AGES.marketing

    @property
    def retry_delays(self) -> tuple[int, ...]:
        try:
            delays = tuple(int(part) for part in self.callback_retry_delays.split(",") if part.strip())
        except ValueError as exc:
            raise ConfigError(f"callback_retry_delays: whole seconds, comma-separated: {exc}") from exc
        if not delays or min(delays) < 0:
            raise ConfigError("callback_retry_delays: at least one delay, none negative")
        return delays

    @property
    def max_ages(self) -> MaxAges:
        return MaxAges(self.max_age_verification, self.max_age_notification, self.max_age_marketing)

    @property
    def listener_limits(self) -> ListenerLimits:
        return ListenerLimits(
            header_timeout=self.header_timeout,
            body_timeout=self.body_timeout,
            keepalive_timeout=self.keepalive_timeout,
            login_timeout=self.login_timeout,
            max_connections_per_source=self.max_connections_per_source,
            login_failure_delay=self.login_failure_delay,
            login_failure_delay_max=self.login_failure_delay_max,
        )

    @property
    def roles(self) -> frozenset[str]:
        wanted = {r.strip() for r in self.role.split(",") if r.strip()}
        if "all" in wanted:
            return frozenset(ROLES)
        unknown = wanted - set(ROLES)
        if unknown or not wanted:
            raise ConfigError(
                f"role: unknown {', '.join(sorted(unknown)) or '(empty)'}; use all or {', '.join(ROLES)}"
            )
        return frozenset(wanted)

    @property
    def node(self) -> str:
        return self.node_name or socket.gethostname()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Flags from the command line: only the ones given (not None) win."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **_coerce_all(given, source="command line"))


def load_settings(environ: Mapping[str, str] | None = None, config_file: Path | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = config_file or (
        Path(environ[f"{ENV_PREFIX}CONFIG"]) if f"{ENV_PREFIX}CONFIG" in environ else None
    )
    if config_file is not None:
        try:
            with config_file.open("rb") as fh:
                from_file = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {config_file}: {exc}") from exc
        unknown = set(from_file) - _names()
        if unknown:
            raise ConfigError(f"config file {config_file}: unknown settings {', '.join(sorted(unknown))}")
        values.update(_coerce_all(from_file, source=str(config_file)))
    for name in _names():
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ:
            values.update(_coerce_all({name: environ[env_name]}, source=env_name))
    return Settings(**values)


def as_environ(settings: Settings) -> dict[str, str]:
    """`settings` as the environment variables that `load_settings` reads back (for child processes)."""
    return {
        ENV_PREFIX + f.name.upper(): str(getattr(settings, f.name)).lower()
        if isinstance(getattr(settings, f.name), bool)
        else str(getattr(settings, f.name))
        for f in fields(Settings)
    }


def _names() -> set[str]:
    return {f.name for f in fields(Settings)}


def _coerce_all(raw: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    types = {f.name: f.type for f in fields(Settings)}
    return {name: _coerce(name, types[name], value, source) for name, value in raw.items()}


def _coerce(name: str, type_name: Any, value: Any, source: str) -> Any:
    # TOML gives typed values (lists, tables, floats), the environment and flags give text: anything that
    # is not the setting's type, or out of its range, is refused here rather than failing later.
    try:
        return _in_range(name, _converted(type_name, value))
    except ValueError as exc:
        raise ConfigError(f"{source}: {name}: {exc}") from exc


_POSITIVE = frozenset(
    {
        "max_body_bytes",
        "receipt_timeout",
        "max_age_verification",
        "max_age_notification",
        "max_age_marketing",
        "header_timeout",
        "body_timeout",
        "keepalive_timeout",
        "login_timeout",
        "callback_concurrency",
    }
)
LOG_LEVELS = frozenset({"critical", "error", "warning", "info", "debug"})
LOG_FORMATS = frozenset({"text", "json"})


def _converted(type_name: Any, value: Any) -> Any:
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"expected a boolean, got {value!r}")
    if type_name == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(value)
    if type_name == "float":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"expected a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        return number
    if not isinstance(value, str | Path):
        raise ValueError(f"expected text, got {value!r}")
    return Path(value) if type_name == "Path" else str(value)


def _in_range(name: str, value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise ValueError(f"must not be negative, got {value}")
    if name.endswith("port") and value > 65535:
        raise ValueError(f"not a port number: {value}")
    if name in _POSITIVE and value == 0:
        raise ValueError("must be positive")
    if name == "log_format" and value not in LOG_FORMATS:
        raise ValueError(f"expected one of {', '.join(sorted(LOG_FORMATS))}, got {value!r}")
    if name == "log_level" and value.lower() not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(sorted(LOG_LEVELS))}, got {value!r}")
    return value
