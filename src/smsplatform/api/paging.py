"""`pagenum` and `pagesize`: defaults 1 and 20, a page at most 100 long."""

from __future__ import annotations

from dataclasses import dataclass

from smsplatform.api import codes
from smsplatform.api.envelope import ApiError
from smsplatform.api.numbers import ascii_int

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 1_000_000


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _positive(params: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    value = ascii_int(raw)
    if value is None or not 1 <= value <= maximum:
        raise ApiError(codes.INVALID_PARAMETER)
    return value


def page_of(params: dict[str, str]) -> Page:
    return Page(
        number=_positive(params, "pagenum", 1, MAX_PAGE_NUMBER),
        size=_positive(params, "pagesize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    )
