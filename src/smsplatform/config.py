"""Settings: defaults, then an optional TOML file, then `SMSPLATFORM_*` environment variables, then flags.

Every setting has one name: `auto_approve` in the file is `SMSPLATFORM_AUTO_APPROVE` in the environment.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from smsplatform.store.database import sqlite_url

ENV_PREFIX = "SMSPLATFORM_"


class ConfigError(ValueError):
    """A setting with a value that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite in data_dir
    host: str = "127.0.0.1"
    port: int = 8080
    # Approve new sub-accounts and templates that pass the automatic checks without an operator.
    auto_approve: bool = False
    # Render `status` as an integer: some clients compare it with 0.
    status_as_int: bool = False
    # Requests per caller IP to `send` (code 106); 0 turns a limit off.
    ip_limit_per_second: int = 100
    ip_limit_per_minute: int = 3000
    max_body_bytes: int = 2 * 1024 * 1024
    # Let callbacks reach private and loopback addresses (tests, private networks).
    callback_allow_private: bool = False
    # How long a process trusts its cached configuration (sub-accounts, templates, words) before it
    # checks whether the operator changed something.
    config_poll_seconds: float = 0.5
    log_level: str = "info"

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


def _names() -> set[str]:
    return {f.name for f in fields(Settings)}


def _coerce_all(raw: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    types = {f.name: f.type for f in fields(Settings)}
    return {name: _coerce(name, types[name], value, source) for name, value in raw.items()}


def _coerce(name: str, type_name: Any, value: Any, source: str) -> Any:
    try:
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
            return int(value)
        if type_name == "float":
            return float(value)
        if type_name == "Path":
            return Path(value)
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"{source}: {name}: {exc}") from exc
