"""Which connectors carry a carrier's messages, in which order, and why.

Dispatch builds a RouteTable from the configuration and follows it; the console and the CLI show the
same table with `effective_routes`, so what an operator reads is what dispatch does.

A carrier's connectors come from the first of these that names any:

1. "route": the operator's route for the carrier (`route set`), in its order;
2. "declared": the configured connectors whose carriers list names the carrier, by name;
3. "built-in default": with the simulators on (the embedded default), the simulated link of the
   carrier's protocol (China Mobile's gateways speak CMPP, China Unicom's SGIP, China Telecom's and
   Broadnet's SMGP), and failing that the default route, the simulated SMPP link.

So a fresh install delivers end to end with nothing configured, and a connector the operator adds for
a carrier takes the carrier from the simulator rather than sharing it with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from smsplatform.domain.numbers import Carrier

ROUTE: Final = "route"
DECLARED: Final = "declared"
BUILTIN_DEFAULT: Final = "built-in default"

# The built-in simulated carriers, in port order (simulator_port and simulator_control_port are the
# first of four), and the carriers each one carries by default; SMPP serves routes the operator sets,
# and carriers nothing else carries.
BUILTIN_SIMULATORS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("smpp", ()),
    ("cmpp", (Carrier.MOBILE.value,)),
    ("sgip", (Carrier.UNICOM.value,)),
    ("smgp", (Carrier.TELECOM.value, Carrier.BROADNET.value)),
)


def simulator_name(protocol: str) -> str:
    """The connector name of the built-in simulated link speaking `protocol`."""
    return f"sim-{protocol}"


# Built-in link name -> the carriers it carries by default.
SIMULATED_LINKS: Final[Mapping[str, tuple[str, ...]]] = {
    simulator_name(protocol): carriers for protocol, carriers in BUILTIN_SIMULATORS
}
# Where a message goes when nothing else names its carrier and the simulators are on.
BUILTIN_DEFAULT_ROUTE: Final[tuple[str, ...]] = (simulator_name(BUILTIN_SIMULATORS[0][0]),)


@dataclass(frozen=True, slots=True)
class RouteTable:
    """carrier → connector names in failover order; see the module docstring for the tiers."""

    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    declared: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    builtin: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default: tuple[str, ...] = ()

    def names(self, carrier: str) -> tuple[str, ...]:
        return (
            self.routes.get(carrier)
            or self.declared.get(carrier)
            or self.builtin.get(carrier)
            or self.default
        )

    def sourced(self, carrier: str) -> list[tuple[str, str]]:
        """`names(carrier)`, each with where it comes from: "route", "declared" or "built-in default"."""
        if names := self.routes.get(carrier):
            return [(name, ROUTE) for name in names]
        if names := self.declared.get(carrier):
            return [(name, DECLARED) for name in names]
        return [(name, BUILTIN_DEFAULT) for name in self.builtin.get(carrier) or self.default]

    @classmethod
    def build(
        cls,
        routes: Mapping[str, Sequence[str]],
        connector_carriers: Mapping[str, Sequence[str]],
        default: Sequence[str] = (),
        builtin_carriers: Mapping[str, Sequence[str]] | None = None,
    ) -> RouteTable:
        """From the operator's routes, the configured connectors' carriers lists, the default route and
        the built-in links' carriers (a configured connector of the same name replaces a built-in)."""
        builtin = {
            name: carriers
            for name, carriers in (builtin_carriers or {}).items()
            if name not in connector_carriers
        }
        return cls(
            {carrier: tuple(names) for carrier, names in routes.items() if names},
            _by_carrier(connector_carriers),
            _by_carrier(builtin),
            tuple(default),
        )


def _by_carrier(connector_carriers: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for name in sorted(connector_carriers):
        for carrier in connector_carriers[name]:
            found.setdefault(carrier, []).append(name)
    return {carrier: tuple(names) for carrier, names in found.items()}


def route_table(
    routes: Mapping[str, Sequence[str]],
    connector_carriers: Mapping[str, Sequence[str]],
    simulators_on: bool,
) -> RouteTable:
    """The RouteTable a dispatch process builds from this configuration, the simulators on or off."""
    if not simulators_on:
        return RouteTable.build(routes, connector_carriers)
    return RouteTable.build(routes, connector_carriers, BUILTIN_DEFAULT_ROUTE, SIMULATED_LINKS)


def effective_routes(
    configured_routes: Mapping[str, Sequence[str]],
    connector_carriers: Mapping[str, Sequence[str]],
    simulators_on: bool,
) -> dict[str, list[tuple[str, str]]]:
    """For every carrier (the four networks, and any other a route or a connector names): the
    connectors its messages go to, in order, each with its source ("route", "declared" or "built-in
    default"). An empty list: its messages wait for a route."""
    table = route_table(configured_routes, connector_carriers, simulators_on)
    carriers = dict.fromkeys([*(c.value for c in Carrier), *sorted({*table.routes, *table.declared})])
    return {carrier: table.sourced(carrier) for carrier in carriers}
