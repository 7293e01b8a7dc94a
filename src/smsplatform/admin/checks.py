"""Checks of an operator's input, shared by the operations: a readable ValueError, never a database error.

SQLite keeps a text longer than its column and PostgreSQL refuses it; checking here gives one answer on
both, and one message whichever face the value came through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from smsplatform.domain.canonical import has_control
from smsplatform.domain.numbers import Carrier

# Far beyond any quota a customer buys, well inside a 64-bit column after many top-ups.
MAX_COUNT = 10**12
# A 32-bit column (daily request limit, window, rate).
MAX_INT32 = 2**31 - 1


def text(value: str, *, field: str, limit: int) -> str:
    """`value` stripped: not empty, at most `limit` characters, no control character but line breaks."""
    stripped = value.strip()
    if not stripped:
        raise ValueError(f"{field} must not be empty")
    if has_control(stripped, line_breaks=True):
        raise ValueError(f"{field} must not hold control characters")
    if len(stripped) > limit:
        raise ValueError(f"{field} has at most {limit} characters")
    return stripped


def positive(value: int, *, field: str, maximum: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be a whole number, got {value!r}")
    if not 0 < value <= maximum:
        raise ValueError(f"{field} must be between 1 and {maximum}, got {value}")
    return value


def carrier(value: str) -> str:
    try:
        return Carrier(value.strip().lower()).value
    except ValueError:
        raise ValueError(
            f"unknown carrier {value!r}; one of: {', '.join(c.value for c in Carrier)}"
        ) from None


def cidr(value: str) -> str:
    """An IP address or CIDR block, as a network (`10.0.0.1` → `10.0.0.1/32`)."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(f"not an IP address or CIDR block: {value!r}") from None


def ids(values: Sequence[int], *, field: str = "id") -> list[int]:
    """Ids of a bulk action: whole numbers, each once, in the order given."""
    if not values:
        raise ValueError(f"give at least one {field}")
    seen: dict[int, None] = {}
    for value in values:
        seen[positive(value, field=field, maximum=2**63 - 1)] = None
    return list(seen)
