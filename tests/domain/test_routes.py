"""Route rules: which connectors carry a carrier, in which order, and where each comes from."""

from __future__ import annotations

from smsplatform.domain.routes import (
    BUILTIN_DEFAULT_ROUTE,
    SIMULATED_LINKS,
    RouteTable,
    effective_routes,
    route_table,
)


def test_operator_routes_then_declared_carriers_then_the_default() -> None:
    table = RouteTable.build(
        {"mobile": ["cmpp-a", "smpp-b"], "unicom": []},
        {"smpp-b": ("unicom", "telecom"), "smgp-c": ("telecom",)},
        ["sim-smpp"],
    )
    assert table.names("mobile") == ("cmpp-a", "smpp-b")
    assert table.names("unicom") == ("smpp-b",)  # an empty route is no route
    assert table.names("telecom") == ("smgp-c", "smpp-b")  # by name
    assert table.names("broadnet") == ("sim-smpp",)
    assert table.names("unknown") == ("sim-smpp",)


def test_the_simulators_carry_their_carriers_until_a_connector_declares_them() -> None:
    table = route_table({}, {}, simulators_on=True)
    assert table.names("mobile") == ("sim-cmpp",)
    assert table.names("unicom") == ("sim-sgip",)
    assert table.names("telecom") == table.names("broadnet") == ("sim-smgp",)
    assert table.names("elsewhere") == BUILTIN_DEFAULT_ROUTE == ("sim-smpp",)

    # A real CMPP link for China Mobile takes the carrier from the simulator instead of sharing it.
    assert route_table({}, {"cmpp-gz": ("mobile",)}, simulators_on=True).names("mobile") == ("cmpp-gz",)
    # A configured connector named like a built-in replaces it, its carriers included.
    replaced = route_table({}, {"sim-cmpp": ()}, simulators_on=True)
    assert replaced.names("mobile") == ("sim-smpp",)

    off = route_table({}, {}, simulators_on=False)
    assert off.names("mobile") == ()


def test_effective_routes_name_every_carrier_and_the_source_of_each_link() -> None:
    routes = effective_routes(
        {"mobile": ["cmpp-bj", "smpp-agg"], "iot": ["smpp-agg"]},
        {"smgp-sh": ("telecom",), "smpp-agg": ()},
        simulators_on=True,
    )
    assert list(routes) == ["mobile", "unicom", "telecom", "broadnet", "iot"]
    assert routes["mobile"] == [("cmpp-bj", "route"), ("smpp-agg", "route")]
    assert routes["unicom"] == [("sim-sgip", "built-in default")]
    assert routes["telecom"] == [("smgp-sh", "declared")]
    assert routes["broadnet"] == [("sim-smgp", "built-in default")]
    assert routes["iot"] == [("smpp-agg", "route")]

    without = effective_routes({}, {"smgp-sh": ("telecom",)}, simulators_on=False)
    assert without == {"mobile": [], "unicom": [], "telecom": [("smgp-sh", "declared")], "broadnet": []}


def test_the_builtin_simulated_links_and_their_carriers() -> None:
    assert SIMULATED_LINKS == {
        "sim-smpp": (),
        "sim-cmpp": ("mobile",),
        "sim-sgip": ("unicom",),
        "sim-smgp": ("telecom", "broadnet"),
    }
