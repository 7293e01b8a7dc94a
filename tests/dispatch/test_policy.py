from __future__ import annotations

from smsplatform.dispatch.policy import DispatchPolicy


def test_retry_delay_doubles_up_to_the_cap() -> None:
    policy = DispatchPolicy(retry_base=1.0, retry_cap=300.0)
    assert [policy.retry_delay(n) for n in (1, 2, 3, 4, 9, 10)] == [1.0, 2.0, 4.0, 8.0, 256.0, 300.0]
    assert policy.retry_delay(10_000) == 300.0
    assert policy.retry_delay(0) == 1.0
