"""Route order by link health; the route table itself is a domain rule (`domain/routes.py`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

L = TypeVar("L")


def healthy_first(links: Sequence[L], is_up: Callable[[L], bool]) -> list[L]:
    """The links in route order, those that are up before those that are not.

    The first healthy link carries the traffic; a link that is down is still tried last, since it
    may come back within the submit's bind wait.
    """
    up = [link for link in links if is_up(link)]
    return up + [link for link in links if not is_up(link)]
