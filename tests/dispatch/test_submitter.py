"""Route walking and the judgement of submit answers, against scripted links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import ConnectorStats, OutboundSms, SubmitResult
from smsplatform.dispatch.policy import DispatchPolicy
from smsplatform.dispatch.submitter import submit_message
from smsplatform.domain.message_states import FAILED, REJECTED
from smsplatform.domain.submit_outcomes import Failed, Retry, Submitted
from smsplatform.store.claims import ClaimedMessage

POLICY = DispatchPolicy(retry_base=2.0, retry_cap=60.0)
NOW = 10_000.5


def clock() -> float:
    return NOW


def msg(attempts: int = 1, created_at: int = 9_000, expires_at: int | None = None) -> ClaimedMessage:
    return ClaimedMessage(
        42, 7, "13800138000", "【进制数据】验证码1234", "mobile", 1, attempts, created_at, "0007",
        "verification", expires_at,
    )  # fmt: skip


def ok(*ids: str) -> SubmitResult:
    return SubmitResult(42, True, ids, False, "", False)


def refused(error: str = "0x0000000B") -> SubmitResult:
    return SubmitResult(42, False, (), False, error, False)


def busy(error: str = "0x00000058", maybe_sent: bool = False) -> SubmitResult:
    return SubmitResult(42, False, (), True, error, maybe_sent)


class Link:
    """Answers submits from a script; `state` is what stats() reports after the answer."""

    def __init__(
        self, name: str, answer: SubmitResult, state: str = "bound", source: str = "1069000"
    ) -> None:
        self.name = name
        self.config = ConnectorConfig(name, "smpp", "127.0.0.1", 1, "esme", "pw", source_number=source)
        self.answer = answer
        self.state = state
        self.sent: list[OutboundSms] = []

    async def submit(self, sms: OutboundSms, wire_log: object = None) -> SubmitResult:
        self.sent.append(sms)
        return self.answer

    def stats(self) -> ConnectorStats:
        return ConnectorStats(self.name, self.state, 0, 0, 0, 0, 0)


async def submit(links: Sequence[Link], message: ClaimedMessage | None = None) -> Any:
    return await submit_message(message or msg(), cast(Sequence[Connector], links), POLICY, clock)


async def test_accepted_on_the_first_link() -> None:
    first, second = Link("a", ok("id1", "id2")), Link("b", ok("x"))
    assert await submit([first, second]) == Submitted(42, "a", ("id1", "id2"))
    [sms] = first.sent
    assert (sms.key, sms.source, sms.destination, sms.text) == (
        42,
        "10690000007",
        "13800138000",
        "【进制数据】验证码1234",
    )
    assert second.sent == []


async def test_a_refusal_fails_over_to_the_next_link() -> None:
    first, second = Link("a", refused()), Link("b", ok("x"), source="1065")
    assert await submit([first, second]) == Submitted(42, "b", ("x",))
    assert second.sent[0].source == "10650007"


async def test_a_link_that_stays_down_fails_over() -> None:
    first, second = Link("a", busy("not bound"), state="connecting"), Link("b", ok("x"))
    assert await submit([first, second]) == Submitted(42, "b", ("x",))


async def test_a_busy_link_means_retry_later_not_failover() -> None:
    first, second = Link("a", busy()), Link("b", ok("x"))
    outcome = await submit([first, second], msg(attempts=3))
    assert outcome == Retry(42, 10_009, "0x00000058", "a", False)  # ceil(now + 2 * 2**2)
    assert second.sent == []


async def test_a_possibly_sent_message_never_goes_to_another_link() -> None:
    first, second = Link("a", busy("timeout", maybe_sent=True)), Link("b", ok("x"))
    assert await submit([first, second]) == Retry(42, 10_003, "timeout", "a", True)
    partly = Link("a", SubmitResult(42, False, (), False, "0x0000000B", True))
    assert await submit([partly, second]) == Failed(42, "0x0000000B", REJECTED, "REJECTD", "a", True)
    assert second.sent == []


async def test_refused_everywhere_is_rejected() -> None:
    outcome = await submit([Link("a", refused("0x00000001")), Link("b", refused("0x0000000B"))])
    assert outcome == Failed(42, "0x0000000B", REJECTED, "REJECTD", "b")


async def test_refused_by_one_and_down_on_the_other_is_retried() -> None:
    outcome = await submit([Link("a", refused()), Link("b", busy("not bound"), state="backoff")])
    assert isinstance(outcome, Retry) and outcome.error == "not bound"


async def test_no_link_waits_for_the_configuration() -> None:
    assert await submit([]) == Retry(42, 10_003, "no route", None, False)


async def test_an_expired_message_is_not_sent_but_fails_as_expired() -> None:
    link = Link("a", ok("x"))
    for expires_at in (int(NOW), int(NOW) - 1):  # its maximum age ran out just now, or a while ago
        outcome = await submit([link], msg(expires_at=expires_at))
        assert outcome == Failed(42, "MAXAGE", FAILED, "EXPIRED", None)
    assert link.sent == []
    assert await submit([link], msg(expires_at=int(NOW) + 1)) == Submitted(42, "a", ("x",))


async def test_a_retry_is_never_later_than_the_expiry() -> None:
    # The backoff would say 10_009; the message expires at 10_005 and is taken up again then.
    outcome = await submit([Link("a", busy())], msg(attempts=3, expires_at=10_005))
    assert outcome == Retry(42, 10_005, "0x00000058", "a", False)
    assert await submit([], msg(expires_at=10_002)) == Retry(42, 10_002, "no route", None, False)
