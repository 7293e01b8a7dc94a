"""Argument types: a value the command line cannot take is refused by argparse, with usage (exit 2)."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
from collections.abc import Callable
from pathlib import Path

from smsplatform.domain.expiry import parse_seconds
from smsplatform.domain.numbers import Carrier

# Given before or after the command (or its group), a flag is kept, not reset by another level's default.
HIDDEN = argparse.SUPPRESS


def common(parser: argparse.ArgumentParser) -> None:
    """Where the database is, and `--json`: accepted at every level of the command line."""
    parser.add_argument(
        "--data-dir", type=Path, default=HIDDEN, help="where the SQLite database lives (./data)"
    )
    parser.add_argument(
        "--database-url", default=HIDDEN, help="e.g. postgresql://user@host/db instead of SQLite"
    )
    parser.add_argument("--config", type=Path, default=HIDDEN, help="a TOML file of settings")
    parser.add_argument(
        "--json", action="store_true", default=HIDDEN, help="print JSON (an object or a list of objects)"
    )


def text(limit: int) -> Callable[[str], str]:
    """Text the database keeps in a column of `limit` characters."""

    def parse(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError("must not be empty")
        if len(value.strip()) > limit:
            raise argparse.ArgumentTypeError(f"at most {limit} characters")
        return value.strip()

    return parse


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value!r}")
    return number


def cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address or CIDR block: {value!r}") from None


def carrier(value: str) -> str:
    try:
        return Carrier(value.strip().lower()).value
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown carrier {value!r}; one of: {', '.join(c.value for c in Carrier)}"
        ) from None


def carriers(value: str) -> tuple[str, ...]:
    return tuple(carrier(part) for part in value.split(",") if part.strip())


def _moment(value: str) -> tuple[dt.datetime, bool]:
    """A local date or date and time; True when only a date was given."""
    value = value.strip()
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time()), True
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value), False
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or time (YYYY-MM-DD or 'YYYY-MM-DD HH:MM[:SS]'): {value!r}"
        ) from None


def _seconds(moment: dt.datetime) -> int:
    # Naive: local time, as the output shows it; an explicit offset is honoured.
    return int(moment.timestamp() if moment.tzinfo else moment.astimezone().timestamp())


def since(value: str) -> int:
    """From the start of a day, or from a moment (local time)."""
    moment, _ = _moment(value)
    return _seconds(moment)


def until(value: str) -> int:
    """Up to (excluding) the end of a day, or a moment: `--until 2026-12-07` includes that day."""
    moment, whole_day = _moment(value)
    return _seconds(moment + dt.timedelta(days=1) if whole_day else moment)


def last_day(value: str) -> int:
    """The last second of a day (local time): an appkey expiring on a day works through it."""
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
    return _seconds(dt.datetime.combine(day + dt.timedelta(days=1), dt.time())) - 1


def grace(value: str) -> int:
    """How long an old appkey keeps working: `0` (not at all), `3600`, `30m`, `24h`, `7d`."""
    if value.strip() in ("0", "0s", "0m", "0h", "0d"):
        return 0
    try:
        return parse_seconds(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("1 second", "0 seconds")) from None
