from __future__ import annotations

from smsplatform.dispatch.routes import healthy_first


def test_healthy_links_first_in_route_order() -> None:
    up = {"b", "d"}
    assert healthy_first(["a", "b", "c", "d"], lambda name: name in up) == ["b", "d", "a", "c"]
    assert healthy_first(["a", "c"], lambda name: name in up) == ["a", "c"]
