"""The peers most end-to-end tests need: a simulated SMSC in a process of its own, and a receiver of
the customer's callbacks. A test that needs them otherwise defines its own fixture of the same name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.receiver import Receiver, receiver
from tests.e2e.support import Simulator


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    sim = Simulator()
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def callbacks() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


# test_scale_out.py's tests that bound a time (the connector's rate over two nodes, a bind moving within
# its lease): they run alone, as the tests marked `serial` do (scripts/test).
_TIMED_SCALE_OUT = ("tps_is_one_budget", "within_the_lease")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name == "test_scale_out.py" and any(part in item.name for part in _TIMED_SCALE_OUT):
            item.add_marker(pytest.mark.serial)
