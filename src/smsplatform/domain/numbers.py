"""Mainland mobile numbers: the one accepted spelling, and which carrier serves a number.

Every later step (frequency limits, opt-out lists, routing, status queries) keys on the
11-digit form, so numbers are normalised once, strictly, at the edge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType

__all__ = ["Carrier", "CarrierTable", "normalize_mobile"]

# [0-9] rather than \d: \d also matches other scripts' digits (e.g. full-width "１").
_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_PREFIX = re.compile(r"[0-9]{3,7}")
_MIN_PREFIX = 3


def normalize_mobile(raw: str) -> str | None:
    """The 11-digit number, or None when ``raw`` is not a mainland mobile number.

    Accepted: optional ``+86``, ``86`` or ``0086`` directly followed by ``1[3-9]`` and nine
    more ASCII digits, with whitespace around it. Spaces or hyphens inside are refused:
    guessing at them would let two spellings of one number past the frequency limits.
    """
    match = _MOBILE.fullmatch(raw.strip())
    return match.group(1) if match else None


class Carrier(StrEnum):
    """The four mainland networks; virtual operators count as the network carrying them."""

    MOBILE = "mobile"
    UNICOM = "unicom"
    TELECOM = "telecom"
    BROADNET = "broadnet"


class CarrierTable:
    """Longest-prefix match from 3-7 digit number segments to carriers.

    Immutable: ``with_prefixes`` returns a new table, so a shared default is safe.
    """

    __slots__ = ("_longest", "_prefixes")

    def __init__(self, prefixes: Mapping[str, Carrier]) -> None:
        table: dict[str, Carrier] = {}
        for prefix, carrier in prefixes.items():
            if not _PREFIX.fullmatch(prefix):
                raise ValueError(f"carrier prefix must be 3-7 digits: {prefix!r}")
            table[prefix] = Carrier(carrier)
        self._prefixes = table
        # Looked up from the longest length the table holds down (every send's numbers go through here).
        self._longest = max(map(len, table), default=_MIN_PREFIX)

    @classmethod
    def default(cls) -> CarrierTable:
        """The table shipped with the platform (``domain/data/carrier_prefixes.txt``)."""
        return _default_table()

    @classmethod
    def parse(cls, text: str) -> CarrierTable:
        """A table from ``prefix carrier`` lines; ``#`` starts a comment, blank lines are skipped."""
        prefixes: dict[str, Carrier] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(f"line {number}: expected 'prefix carrier', got {line!r}")
            prefix, name = fields
            try:
                carrier = Carrier(name.lower())
            except ValueError:
                raise ValueError(f"line {number}: unknown carrier {name!r}") from None
            if prefix in prefixes:
                raise ValueError(f"line {number}: prefix {prefix} listed twice")
            prefixes[prefix] = carrier
        return cls(prefixes)

    @property
    def prefixes(self) -> Mapping[str, Carrier]:
        """A read-only view of every prefix and its carrier."""
        return MappingProxyType(self._prefixes)

    def with_prefixes(self, extra: Mapping[str, Carrier]) -> CarrierTable:
        """A copy with ``extra`` added; an ``extra`` prefix replaces the same prefix here.

        This is how an operator adds a newly issued segment before the shipped table knows it.
        """
        merged = dict(self._prefixes)
        merged.update(extra)
        return CarrierTable(merged)

    def carrier_of(self, mobile: str, pins: Mapping[str, Carrier] | None = None) -> Carrier | None:
        """The carrier serving ``mobile`` (11 digits, as from ``normalize_mobile``), or None.

        ``pins`` holds numbers that moved carrier (携号转网); a pin wins over the prefix.
        """
        if pins:
            pinned = pins.get(mobile)
            if pinned is not None:
                return pinned
        table = self._prefixes
        for length in range(min(self._longest, len(mobile)), _MIN_PREFIX - 1, -1):
            carrier = table.get(mobile[:length])
            if carrier is not None:
                return carrier
        return None

    def __len__(self) -> int:
        return len(self._prefixes)


@cache
def _default_table() -> CarrierTable:
    text = resources.files("smsplatform.domain").joinpath("data/carrier_prefixes.txt").read_text("utf-8")
    return CarrierTable.parse(text)
