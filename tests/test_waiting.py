"""The tests' waiting helpers: they return what the condition found, and fail naming what never came."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.waiting import wait_for, wait_until


async def test_wait_for_returns_what_a_plain_or_async_condition_found() -> None:
    changed = asyncio.Event()
    asyncio.get_running_loop().call_soon(changed.set)
    assert await wait_for(lambda: changed.is_set() and "seen", 10, "the change") == "seen"

    async def found() -> list[int]:
        return [1]

    assert await wait_for(found, 10, "the rows") == [1]


async def test_wait_for_fails_at_its_deadline_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="waiting for the report"):
        await wait_for(lambda: False, 0.05, "the report")


def test_wait_until_sees_a_change_made_by_another_thread() -> None:
    changed = threading.Event()
    threading.Thread(target=changed.set).start()
    assert wait_until(changed.is_set, 10, "the change") is True


def test_wait_until_fails_at_its_deadline_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="waiting for the line"):
        wait_until(lambda: None, 0.05, "the line")
