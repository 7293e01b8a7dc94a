"""Which connectors may carry a carrier's messages, and in which order to try them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

L = TypeVar("L")


@dataclass(frozen=True, slots=True)
class RouteTable:
    """carrier → connector names in failover order.

    The operator's routes come first; a carrier without one goes to the connectors whose `carriers`
    list names it (by name), and failing that to the default route the composition root chose (the
    embedded simulator in a fresh install), so a message never waits for a route nobody will set.
    """

    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    declared: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default: tuple[str, ...] = ()

    def names(self, carrier: str) -> tuple[str, ...]:
        return self.routes.get(carrier) or self.declared.get(carrier) or self.default

    @classmethod
    def build(
        cls,
        routes: Mapping[str, Sequence[str]],
        connector_carriers: Mapping[str, Sequence[str]],
        default: Sequence[str],
    ) -> RouteTable:
        declared: dict[str, list[str]] = {}
        for name in sorted(connector_carriers):
            for carrier in connector_carriers[name]:
                declared.setdefault(carrier, []).append(name)
        return cls(
            {carrier: tuple(names) for carrier, names in routes.items() if names},
            {carrier: tuple(names) for carrier, names in declared.items()},
            tuple(default),
        )


def healthy_first(links: Sequence[L], is_up: Callable[[L], bool]) -> list[L]:
    """The links in route order, those that are up before those that are not.

    The first healthy link carries the traffic; a link that is down is still tried last, since it
    may come back within the submit's bind wait.
    """
    up = [link for link in links if is_up(link)]
    return up + [link for link in links if not is_up(link)]
