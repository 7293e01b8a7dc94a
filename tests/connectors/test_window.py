"""The window: a slot per unanswered request, handed over in arrival order."""

from __future__ import annotations

import asyncio

import pytest

from smsplatform.connectors.window import Window


async def test_waiters_get_freed_slots_in_order() -> None:
    window = Window(2)
    assert await window.acquire() and await window.acquire()
    order: list[int] = []

    async def take(n: int) -> None:
        assert await window.acquire()
        order.append(n)

    waiters = [asyncio.create_task(take(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert window.used == 2 and order == []
    window.release()
    window.release()
    await asyncio.sleep(0)
    assert order == [0, 1]
    window.release()
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2] and window.used == 2


async def test_close_wakes_waiters_with_false() -> None:
    window = Window(1)
    await window.acquire()
    waiter = asyncio.create_task(window.acquire())
    await asyncio.sleep(0)
    window.close()
    assert await waiter is False
    assert await window.acquire() is False


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    window = Window(1)
    await window.acquire()
    waiter = asyncio.create_task(window.acquire())
    await asyncio.sleep(0)
    window.release()  # handed to the waiter...
    waiter.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert window.used == 0
    assert await window.acquire()


async def test_wait_idle() -> None:
    window = Window(3)
    await window.acquire()
    idle = asyncio.create_task(window.wait_idle())
    await asyncio.sleep(0)
    assert not idle.done()
    window.release()
    await asyncio.wait_for(idle, 1)


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Window(0)
