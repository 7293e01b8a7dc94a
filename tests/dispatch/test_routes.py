from __future__ import annotations

from smsplatform.dispatch.routes import RouteTable, healthy_first


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


def test_healthy_links_first_in_route_order() -> None:
    up = {"b", "d"}
    assert healthy_first(["a", "b", "c", "d"], lambda name: name in up) == ["b", "d", "a", "c"]
    assert healthy_first(["a", "c"], lambda name: name in up) == ["a", "c"]
