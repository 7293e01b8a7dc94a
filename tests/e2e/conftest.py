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
