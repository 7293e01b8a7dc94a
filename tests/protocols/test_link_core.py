"""The link core without sockets or sleeps: SMPP bytes in, events and bytes out, a clock passed in."""

from __future__ import annotations

import math
from typing import Any

import pytest

from smsplatform.protocols.link.core import (
    MAX_SEQUENCE,
    Close,
    CloseCause,
    Event,
    Expired,
    LateResponse,
    Link,
    LinkSettings,
    LinkState,
    LinkTested,
    Malformed,
    Request,
    RequestKind,
    Response,
    Unbinding,
)
from smsplatform.protocols.link.framing import LinkEnd, PduKind
from smsplatform.protocols.link.smpp import SmppFraming
from smsplatform.protocols.smpp import codec
from smsplatform.protocols.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    DataSm,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smsplatform.protocols.smpp.status import CommandStatus

START = 1000.0


class SmppSessionPdus:
    def link_test(self, sequence: int) -> Pdu | None:
        return EnquireLink(sequence=sequence)

    def link_test_response(self, pdu: Pdu) -> Pdu:
        return EnquireLinkResp(sequence=pdu.sequence)

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return UnbindResp(sequence=pdu.sequence)


def make_link(end: LinkEnd = LinkEnd.ESME, *, accepted: bool = False, **settings: Any) -> Link[Pdu]:
    link: Link[Pdu] = Link(
        SmppFraming(end),
        SmppSessionPdus(),
        LinkSettings(**settings),
        accepted=accepted,
        link_test_name="enquire_link",
    )
    link.connection_made(START)
    return link


def bound_link(**settings: Any) -> Link[Pdu]:
    link = make_link(**settings)
    link.bound()
    return link


def sent(link: Link[Pdu]) -> list[Pdu]:
    """The PDUs the link has queued for the peer since the last look."""
    reader = codec.PduReader()
    reader.receive_data(link.data_to_send())
    pdus = []
    while (pdu := reader.next_pdu()) is not None:
        pdus.append(pdu)
    return pdus


def events(link: Link[Pdu], *pdus: Pdu | bytes, now: float = START) -> list[Event]:
    """Feed PDUs (or raw bytes) and drain every event."""
    for pdu in pdus:
        link.receive_data(pdu if isinstance(pdu, bytes) else codec.encode(pdu), now)
    drained = []
    while (event := link.next_event()) is not None:
        drained.append(event)
    return drained


def submit(link: Link[Pdu], sequence: int, now: float = START, tries: int = 1) -> None:
    assert link.window.try_acquire()
    pdu = SubmitSm(sequence=sequence, source_addr="1", destination_addr="2", short_message=b"hi")
    link.request(
        sequence, codec.encode(pdu), RequestKind.SUBMIT, f"token {sequence}", now, tries=tries, windowed=True
    )


# -- sequences and the window ----------------------------------------------------------------------


def test_sequence_numbers_wrap_to_one_after_the_largest() -> None:
    link = make_link()
    assert [link.next_sequence(), link.next_sequence()] == [1, 2]
    link.sequence = MAX_SEQUENCE - 1
    assert [link.next_sequence(), link.next_sequence()] == [MAX_SEQUENCE, 1]


def test_a_full_window_takes_no_request_until_a_response_frees_a_slot() -> None:
    link = bound_link(window=2)
    submit(link, 1)
    submit(link, 2)
    assert link.in_flight == 2 and not link.window.try_acquire()

    [answered] = events(link, SubmitSmResp(sequence=2, message_id="B"))

    assert isinstance(answered, Response) and answered.request.token == "token 2"
    assert answered.request.kind is RequestKind.SUBMIT
    assert link.in_flight == 1 and link.window.try_acquire()


def test_a_response_to_nothing_pending_is_late_and_frees_nothing() -> None:
    link = bound_link(window=1)
    submit(link, 1)
    [late] = events(link, SubmitSmResp(sequence=9, message_id="X"))
    assert isinstance(late, LateResponse) and link.in_flight == 1


# -- deadlines -------------------------------------------------------------------------------------


def test_a_request_expires_at_its_deadline_and_frees_its_slot() -> None:
    link = bound_link(window=1, response_timeout=5.0)
    submit(link, 1)
    sent(link)
    assert link.next_deadline() == START + 5.0

    assert link.tick(START + 4.9) == []
    [expired] = link.tick(START + 5.0)

    assert isinstance(expired, Expired) and expired.request.token == "token 1"
    assert link.in_flight == 0 and link.pending == {}
    [late] = events(link, SubmitSmResp(sequence=1, message_id="A"))  # the answer comes after all
    assert isinstance(late, LateResponse)


def test_a_request_with_tries_left_is_sent_again_before_it_expires() -> None:
    link = bound_link(response_timeout=5.0)
    submit(link, 7, tries=2)
    [first] = sent(link)

    assert link.tick(START + 5.0) == []
    assert sent(link) == [first]  # the same frame again
    [expired] = link.tick(START + 10.0)
    assert isinstance(expired, Expired)


# -- heartbeats ------------------------------------------------------------------------------------


def test_a_link_test_goes_out_once_the_line_was_idle_for_the_interval() -> None:
    link = bound_link(enquire_interval=30.0, response_timeout=10.0)
    assert link.next_deadline() == START + 30.0
    link.tick(START + 29.0)
    assert sent(link) == []

    link.tick(START + 30.0)
    [link_test] = sent(link)
    assert isinstance(link_test, EnquireLink)
    link.tick(START + 31.0)
    assert sent(link) == []  # one at a time

    [answered] = events(link, EnquireLinkResp(sequence=link_test.sequence), now=START + 32.0)
    assert isinstance(answered, Response) and answered.request.kind is RequestKind.LINK_TEST
    assert link.tick(START + 45.0) == [] and link.is_bound  # answered: no close at its deadline
    link.tick(START + 62.0)
    assert [type(pdu) for pdu in sent(link)] == [EnquireLink]  # idle again since the answer


def test_traffic_from_the_peer_postpones_the_link_test() -> None:
    link = bound_link(enquire_interval=30.0)
    events(link, EnquireLink(sequence=4), now=START + 20.0)
    assert [type(pdu) for pdu in sent(link)] == [EnquireLinkResp]
    link.tick(START + 30.0)
    assert sent(link) == []


def test_a_link_test_left_unanswered_closes_the_link() -> None:
    link = bound_link(enquire_interval=30.0, response_timeout=10.0)
    link.tick(START + 30.0)
    sent(link)
    assert link.tick(START + 39.0) == []

    [close] = link.tick(START + 40.0)

    assert close == Close(CloseCause.LINK_TEST_MISSED, "no answer to enquire_link", abort=True)
    assert link.state is LinkState.CLOSING


def test_the_peers_link_test_is_answered_by_the_link() -> None:
    link = bound_link()
    [event] = events(link, EnquireLink(sequence=12))
    assert isinstance(event, LinkTested)
    assert sent(link) == [EnquireLinkResp(sequence=12)]


def test_a_protocol_without_a_link_test_sends_none() -> None:
    class NoLinkTest(SmppSessionPdus):
        def link_test(self, sequence: int) -> None:
            return None

    link: Link[Pdu] = Link(SmppFraming(LinkEnd.ESME), NoLinkTest(), LinkSettings(enquire_interval=1.0))
    link.connection_made(START)
    link.bound()
    assert not link.send_link_test(START)
    assert link.tick(START + 100.0) == [] and sent(link) == []


# -- binds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [CommandStatus.ESME_ROK, CommandStatus.ESME_RINVPASWD])
def test_our_bind_is_answered_to_the_driver_who_judges_it(status: CommandStatus) -> None:
    link = make_link()
    link.binding()
    bind = BindTransceiver(sequence=link.next_sequence(), system_id="esme", password="pw")
    link.request(bind.sequence, codec.encode(bind), RequestKind.BIND, "bind", START)
    assert sent(link) == [bind]

    [answer] = events(
        link, BindTransceiverResp(sequence=bind.sequence, command_status=status, system_id="SMSC")
    )

    assert isinstance(answer, Response) and answer.request.kind is RequestKind.BIND
    assert link.state is LinkState.BINDING  # until the driver says
    if status == CommandStatus.ESME_ROK:
        link.bound()
        assert link.is_bound
    else:
        link.close()
        assert link.state.value == "closing"


def test_an_accepted_connection_that_does_not_bind_closes_at_the_login_timeout() -> None:
    link = make_link(LinkEnd.SMSC, accepted=True, login_timeout=10.0)
    assert link.state is LinkState.BINDING and link.next_deadline() == START + 10.0
    assert link.tick(START + 9.9) == []

    [close] = link.tick(START + 10.0)

    assert close.cause is CloseCause.NO_BIND and close.abort  # type: ignore[attr-defined]


def test_the_smsc_accepts_a_bind_and_reads_on() -> None:
    link = make_link(LinkEnd.SMSC, accepted=True, login_timeout=10.0)
    bind = BindTransceiver(sequence=1, system_id="esme", password="pw")
    submit_sm = SubmitSm(sequence=2, source_addr="1", destination_addr="2", short_message=b"x")
    link.receive_data(codec.encode(bind) + codec.encode(submit_sm), START)

    request = link.next_event()
    assert isinstance(request, Request) and request.kind is PduKind.BIND and request.pdu == bind
    link.accept_bind(codec.encode(BindTransceiverResp(sequence=1, system_id="SMSC")))

    assert link.is_bound and link.login_deadline is None
    following = link.next_event()
    assert isinstance(following, Request) and following.kind is PduKind.SUBMIT
    assert sent(link) == [BindTransceiverResp(sequence=1, system_id="SMSC")]
    assert link.tick(START + 60.0) == []  # no login timeout once bound


def test_a_refused_bind_is_answered_and_nothing_behind_it_is_read() -> None:
    link = make_link(LinkEnd.SMSC, accepted=True)
    bind = BindTransceiver(sequence=1, system_id="esme", password="guess")
    guess = BindTransceiver(sequence=2, system_id="esme", password="guess 2")
    link.receive_data(codec.encode(bind) + codec.encode(guess), START)
    assert isinstance(link.next_event(), Request)

    link.refuse_bind(
        codec.encode(BindTransceiverResp(sequence=1, command_status=CommandStatus.ESME_RINVPASWD))
    )

    assert link.next_event() is None and link.state is LinkState.CLOSING
    assert [pdu.command_status for pdu in sent(link)] == [CommandStatus.ESME_RINVPASWD]


def test_a_held_bind_stops_the_login_timeout_and_the_reading() -> None:
    link = make_link(LinkEnd.SMSC, accepted=True, login_timeout=1.0)
    bind = BindTransceiver(sequence=1, system_id="esme", password="pw")
    link.receive_data(codec.encode(bind) + codec.encode(EnquireLink(sequence=2)), START)
    assert isinstance(link.next_event(), Request)

    link.hold_bind()
    assert link.next_event() is None and link.tick(START + 5.0) == []  # the wait is ours

    link.accept_bind(codec.encode(BindTransceiverResp(sequence=1)))
    link.resume_after_bind(START + 5.0)
    assert isinstance(link.next_event(), LinkTested)


@pytest.mark.parametrize(("end", "kind"), [(LinkEnd.ESME, PduKind.DELIVER), (LinkEnd.SMSC, PduKind.SUBMIT)])
def test_the_esme_and_the_smsc_sort_data_sm_each_its_own_way(end: LinkEnd, kind: PduKind) -> None:
    """data_sm is the one request that travels both ways: a message to whichever end takes it."""
    link = make_link(end)
    deliver_sm = DeliverSm(sequence=3, source_addr="1", destination_addr="2", short_message=b"r")
    data_sm = DataSm(sequence=4, source_addr="1", destination_addr="2")

    deliver, data = events(link, deliver_sm, data_sm)

    assert isinstance(deliver, Request) and deliver.kind is PduKind.DELIVER
    assert isinstance(data, Request) and data.kind is kind


# -- framing errors --------------------------------------------------------------------------------


def test_a_malformed_pdu_is_answered_and_the_link_reads_on() -> None:
    link = bound_link()
    unknown_command = bytes.fromhex("00000010 00000099 00000000 00000005")
    malformed, tested = events(link, unknown_command, EnquireLink(sequence=6))

    assert isinstance(malformed, Malformed) and isinstance(tested, LinkTested)
    assert sent(link) == [
        GenericNack(sequence=5, command_status=CommandStatus.ESME_RINVCMDID),
        EnquireLinkResp(sequence=6),
    ]


def test_lost_framing_is_answered_then_the_link_closes_reading_nothing_more() -> None:
    link = bound_link()
    bad_length = bytes.fromhex("00000004 00000015 00000000 00000005")
    [close] = events(link, bad_length + codec.encode(EnquireLink(sequence=6)))

    assert isinstance(close, Close) and close.cause is CloseCause.FRAMING_LOST and not close.abort
    assert link.state is LinkState.CLOSING
    assert [type(pdu) for pdu in sent(link)] == [GenericNack]  # the link test behind it is unread


def test_a_pdu_begun_and_not_finished_closes_the_link_at_the_body_timeout() -> None:
    link = bound_link(body_timeout=5.0, enquire_interval=0)
    frame = codec.encode(EnquireLink(sequence=1))
    assert events(link, frame[:10], now=START) == []
    assert link.partial_since == START and link.next_deadline() == START + 5.0
    assert link.tick(START + 5.0) == []

    [close] = link.tick(START + 5.1)

    assert isinstance(close, Close) and close.cause is CloseCause.STALLED and close.abort


def test_a_pdu_half_read_while_the_driver_paused_reading_is_not_the_peers_fault() -> None:
    link = bound_link(body_timeout=5.0, enquire_interval=0)
    events(link, codec.encode(EnquireLink(sequence=1))[:10], now=START)
    link.pause_reading()
    assert link.tick(START + 60.0) == []
    link.resume_reading(START + 60.0)
    assert link.tick(START + 64.0) == []
    assert events(link, codec.encode(EnquireLink(sequence=1))[10:], now=START + 64.0) != []
    assert link.partial_since is None


# -- unbind ----------------------------------------------------------------------------------------


def test_the_peers_unbind_is_answered_at_once_with_nothing_in_flight() -> None:
    link = bound_link(unbind_wait=2.0)
    [close] = events(link, Unbind(sequence=8))
    assert close == Close(CloseCause.UNBOUND, "unbound by peer", abort=False)
    assert sent(link) == [UnbindResp(sequence=8)]


def test_the_peers_unbind_waits_for_the_answers_to_our_submits() -> None:
    link = bound_link(unbind_wait=2.0)
    submit(link, 1)
    submit(link, 2)
    sent(link)

    [unbinding] = events(link, Unbind(sequence=8))
    assert isinstance(unbinding, Unbinding) and link.unbinding and link.state is LinkState.CLOSING
    assert sent(link) == []
    first = events(link, SubmitSmResp(sequence=1, message_id="A"))
    assert [type(event) for event in first] == [Response] and sent(link) == []

    answered, close = events(link, SubmitSmResp(sequence=2, message_id="B"))

    assert isinstance(answered, Response) and isinstance(close, Close) and close.cause is CloseCause.UNBOUND
    assert sent(link) == [UnbindResp(sequence=8)]


def test_the_peers_unbind_is_answered_at_unbind_wait_whatever_is_still_out() -> None:
    link = bound_link(unbind_wait=2.0, response_timeout=30.0)
    submit(link, 1)
    sent(link)
    events(link, Unbind(sequence=8), now=START + 1.0)
    assert link.next_deadline() == START + 3.0
    assert link.tick(START + 2.9) == []

    [close] = link.tick(START + 3.0)

    assert isinstance(close, Close) and close.cause is CloseCause.UNBOUND
    assert sent(link) == [UnbindResp(sequence=8)]


def test_the_peers_unbind_on_a_link_with_no_unbind_wait_is_answered_at_once() -> None:
    link = bound_link(unbind_wait=0.0)
    submit(link, 1)
    [close] = events(link, Unbind(sequence=8))
    assert isinstance(close, Close) and UnbindResp(sequence=8) in sent(link)


def test_a_lost_connection_hands_back_every_pending_request() -> None:
    link = bound_link(response_timeout=math.inf)
    submit(link, 1)
    submit(link, 2)
    lost = link.connection_lost()
    assert [entry.token for entry in lost] == ["token 1", "token 2"]
    assert link.state is LinkState.CLOSED and link.in_flight == 0 and link.tick(START + 1e9) == []
