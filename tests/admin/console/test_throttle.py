"""Failed logins slowed down per address and per name: doubling waits up to a cap, cleared by a
success, the same whether the name exists or not."""

from __future__ import annotations

import asyncio
import time

from starlette.applications import Starlette

from smsplatform.admin.console.site import Console
from smsplatform.admin.console.throttle import FIRST_DELAY, MAX_DELAY, LoginThrottle, delay_after, take_turn
from tests.admin.console.conftest import ADMIN, PASSWORD, Browser


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_failure_doubles_the_wait_up_to_the_cap() -> None:
    assert [delay_after(n) for n in range(1, 5)] == [0.5, 1.0, 2.0, 4.0]
    assert delay_after(50) == MAX_DELAY


def test_a_failure_holds_back_the_next_attempt_from_that_address_and_for_that_name() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    keys = LoginThrottle.keys("10.0.0.1", "ada")
    assert throttle.begin(keys)
    throttle.failed(keys)
    assert not throttle.begin(keys)
    assert not throttle.begin(LoginThrottle.keys("10.0.0.2", "ada"))  # the name, from anywhere
    assert not throttle.begin(LoginThrottle.keys("10.0.0.1", "bob"))  # the address, for any name
    assert throttle.begin(LoginThrottle.keys("10.0.0.2", "bob"))
    clock.now += FIRST_DELAY
    assert throttle.begin(keys)
    throttle.failed(keys)
    assert throttle.wait(keys) == 2 * FIRST_DELAY


def test_attempts_in_parallel_pass_one_at_a_time() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    keys = LoginThrottle.keys("10.0.0.1", "ada")
    assert throttle.begin(keys)
    assert not throttle.begin(keys)  # the first one's answer is not in yet


def test_a_success_clears_the_slate() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    keys = LoginThrottle.keys("10.0.0.1", "ada")
    for _ in range(5):
        clock.now += MAX_DELAY
        assert throttle.begin(keys)
        throttle.failed(keys)
    clock.now += MAX_DELAY
    assert throttle.begin(keys)
    throttle.succeeded(keys)
    assert throttle.wait(keys) == 0 and throttle.begin(keys)


def test_old_failures_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    keys = LoginThrottle.keys("10.0.0.1", "ada")
    for _ in range(4):
        clock.now += MAX_DELAY
        throttle.begin(keys)
        throttle.failed(keys)
    clock.now += 2 * 3600
    assert throttle.begin(keys)
    throttle.failed(keys)
    assert throttle.wait(keys) == FIRST_DELAY


async def test_an_early_attempt_waits_for_its_turn() -> None:
    throttle = LoginThrottle()
    keys = LoginThrottle.keys("10.0.0.1", "ada")
    await take_turn(throttle, keys)
    throttle.failed(keys)
    started = time.monotonic()
    await asyncio.wait_for(take_turn(throttle, keys), timeout=5)
    assert time.monotonic() - started >= FIRST_DELAY * 0.9


async def test_failed_logins_are_slowed_and_a_success_clears_them(
    console: Starlette, browser: Browser
) -> None:
    throttle = console.state.console.throttle
    assert isinstance(console.state.console, Console)
    await browser.get("/login")
    for name in ("nobody", ADMIN):
        answer = await browser.post("/login", {"name": name, "password": "wrong password!"})
        assert answer.status_code == 401
    address_key, name_key = LoginThrottle.keys("127.0.0.1", ADMIN)
    assert throttle.wait([address_key]) > 0 and throttle.wait([name_key]) > 0
    started = time.monotonic()
    answer = await browser.post("/login", {"name": ADMIN, "password": PASSWORD})
    assert answer.status_code == 303
    assert time.monotonic() - started >= FIRST_DELAY  # two failures from this address: a second's wait
    assert throttle.wait([address_key, name_key]) == 0
