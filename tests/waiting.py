"""Waiting in tests: for a condition, with a deadline, never for a fixed time.

A test that sleeps a fixed time and then asserts is slow on a quiet machine and wrong on a busy one.
These helpers poll a condition until it holds and fail, naming what never happened, at a deadline
long enough for a loaded machine. To show that something did NOT happen, wait for a later event that
could only come after it (a request answered after it, a heartbeat, a log line written after it).

The one kind of sleep kept is a delay that is itself the behaviour under test (a client that sends
slowly); it goes through `deliberate_delay`, so that it is never mistaken for waiting.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")


async def wait_for(
    condition: Callable[[], T | Awaitable[T]], within: float, what: str, *, every: float = 0.01
) -> T:
    """Poll `condition` (plain or async) until it returns something truthy, and return that.

    Fails the test, naming `what`, when it has not after `within` seconds; the condition is tried
    once more at the deadline, so a slow poll cannot miss a change that came just in time.
    """
    deadline = time.monotonic() + within
    while True:
        outcome = condition()
        result = cast(T, await outcome if inspect.isawaitable(outcome) else outcome)
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(min(every, max(0.0, deadline - time.monotonic())))


def wait_until(condition: Callable[[], T], within: float, what: str, *, every: float = 0.05) -> T:
    """`wait_for` for code that does not run an event loop (threads, subprocesses, a browser)."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))


def deliberate_delay(seconds: float) -> None:
    """Let `seconds` pass on purpose: the delay is what the test exercises (bytes sent slowly, or
    sent as separate TCP segments), not a wait for something to happen."""
    time.sleep(seconds)
