"""One TCP connection speaking one protocol through its adapter: the ESME's end of the link core.

The sans-IO link core (`protocols/link/core.py`, shared with the simulator's SMSC end) frames bytes,
matches responses to requests, keeps the window, times requests out (resending them when the protocol
wants several tries), sends link tests when the line is idle and answers the peer's link tests and
unbinds. A session drives it with the socket and the clock, and hands reports and MO to its owner,
acknowledging each only after the owner has taken it.

The same class serves connections we open (we send the bind) and connections we accept (the peer
binds and the adapter judges it), so a protocol whose SMSC connects back (SGIP) reuses all of it.

Hot path: asyncio.Protocol callbacks, no per-PDU tasks; writes made in one loop iteration are joined
into one transport.write; one timer task per session sweeps timeouts and heartbeats. A submit that
finds the window full is queued and sent by the session itself when a response frees a slot, so its
submitter wakes once, for its answer; a report is acknowledged from a callback on its owner's future.

A `WireLog` given with a submit hears of each segment as it goes on the wire and as it is answered,
and is flushed before any bytes reach the socket: after a crash, what the SMSC may have received and
what it answered are on record (dispatch's submit journal). An SMSC that unbinds gets its answer only
once the submits on the wire are answered, or after `unbind_wait`: closing at once would leave them
unanswered, and sent again, while the SMSC had taken them.

A session accepted on a listener is let in by the listener's `SourceAdmission`: over its source
address's connection cap it is closed before anything is read; without a bind within `login_timeout`
it is closed; the answer to its bind waits `login_delay` when its address failed recently, and nothing
behind the bind is read meanwhile. Any session whose peer begins a PDU and does not finish it within
`response_timeout` is dropped (a link without a heartbeat would otherwise never notice). All this is
at connect, at bind and in the timer task: the submit and report path does not see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Generic, Protocol, cast

from smsplatform.connectors.adapter import (
    AckStatus,
    BindAcceptance,
    BindResult,
    Delivery,
    P,
    PduKind,
    ProtocolAdapter,
    RequestFrame,
    SegmentAnswer,
    SessionRole,
)
from smsplatform.connectors.model import OutboundSms, SubmitResult
from smsplatform.connectors.ratelimit import TokenBucket
from smsplatform.connectors.window import Window
from smsplatform.protocols.admission import SourceAdmission
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.core import (
    Close,
    Event,
    Expired,
    LateResponse,
    Link,
    LinkSettings,
    LinkState,
    Malformed,
    Request,
    RequestKind,
    Response,
    Unbinding,
)

log = logging.getLogger(__name__)

DeliveryHandler = Callable[[Delivery], Awaitable[None] | None]

# A submit segment as its WireLog knows it: (message key, segment number from 1, segments).
_Note = tuple[int, int, int]

SessionState = LinkState  # the session's state is its link's


class WireLog(Protocol):
    """Where a session notes its submits: each segment before it is written, each answer as it comes.

    `flush` comes before any bytes are handed to the socket, so that whatever the SMSC may have
    received is on record first.
    """

    def written(self, connector: str, key: int, segment: int, segments: int) -> None: ...

    def answered(self, connector: str, key: int, segment: int, answer: SegmentAnswer) -> None: ...

    def flush(self) -> None: ...


class _Failure(StrEnum):
    """What a request's future holds when no response came."""

    TIMEOUT = "timeout"
    LOST = "link lost"
    NOT_SENT = "not sent"  # the session ended before the request could leave


@dataclass(frozen=True, slots=True)
class SessionSettings:
    window: int = 16
    response_timeout: float = 30.0
    response_tries: int = 1  # sends of one request before it times out for good
    enquire_interval: float = 30.0  # idle seconds (nothing received) before a link test
    max_unacked_deliveries: int = 256  # stop reading while this many deliveries await their owner
    unbind_wait: float = 2.0  # seconds an SMSC that unbinds waits for the answers to our submits


@dataclass(slots=True)
class LinkCounters:
    """Counters shared by the sessions of one connector."""

    sent: int = 0
    errors: int = 0
    timeouts: int = 0
    late_responses: int = 0
    received_reports: int = 0
    received_mo: int = 0


class Session(asyncio.Protocol, Generic[P]):
    """A link to one peer. See the module docstring."""

    def __init__(
        self,
        adapter: ProtocolAdapter[P],
        settings: SessionSettings,
        counters: LinkCounters,
        on_delivery: DeliveryHandler,
        *,
        accepted: bool = False,
        name: str = "",
        admission: SourceAdmission | None = None,
    ) -> None:
        self.adapter = adapter
        self.name = name  # the connector's, as a WireLog records it
        self.settings = settings
        self.counters = counters
        self.accepted = accepted  # the peer connected to us and must bind
        self._admission = admission if accepted else None  # the listener's, which lets peers in
        self.role: SessionRole | None = None
        self.close_reason = ""
        self.peer = ""
        self._on_delivery = on_delivery
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self._transport: asyncio.Transport | None = None
        self._window = Window(settings.window)
        login_timeout = 0.0
        if accepted:
            login_timeout = settings.response_timeout if admission is None else admission.limits.login_timeout
        self._link: Link[P] = Link(
            adapter.framing,
            adapter,
            LinkSettings(
                window=settings.window,
                response_timeout=settings.response_timeout,
                response_tries=settings.response_tries,
                enquire_interval=settings.enquire_interval,
                login_timeout=login_timeout,
                # A link without a heartbeat would otherwise never notice a peer stuck mid-PDU.
                body_timeout=settings.response_timeout,
                unbind_wait=settings.unbind_wait,
            ),
            accepted=accepted,
            window=self._window,
            on_output=self._flush_soon,
            link_test_name=adapter.link_test_name,
        )
        self._encode = adapter.framing.encode
        # submits awaiting a slot
        self._queued: deque[tuple[Hashable, bytes, asyncio.Future[Any], _Note | None]] = deque()
        self._wire_log: WireLog | None = None
        self._writable: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._ticker: asyncio.Task[None] | None = None
        self._unacked = 0  # deliveries handed to the owner and not yet acknowledged
        self._acks: set[asyncio.Future[Any]] = set()  # what the owner is still doing with them
        self._source = ""  # the peer's address, while the admission counts this connection
        self._login_timer: asyncio.TimerHandle | None = None

    # -- public -----------------------------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        return self._link.state

    @property
    def in_flight(self) -> int:
        return self._link.in_flight

    @property
    def waiting(self) -> int:
        """Submits queued for a slot of the window."""
        return len(self._queued)

    @property
    def is_bound(self) -> bool:
        return self._link.state is LinkState.BOUND

    def next_sequence(self) -> int:
        return self._link.next_sequence()

    async def bind(self, role: SessionRole) -> BindResult:
        """Log in as `role` on a connection we opened.

        When not ok, the result's error is the whole reason, for the operator: "bind refused: " and
        the adapter's reading of the answer, or why no answer came.
        """
        link = self._link
        link.binding()
        try:
            future = self._send_request(
                self.adapter.bind_request(role, link.next_sequence()), RequestKind.BIND
            )
        except (ValueError, ProtocolError) as error:  # e.g. a password longer than the protocol allows
            return BindResult(False, f"cannot send the bind: {error}")
        answer = await future
        if answer is _Failure.TIMEOUT:
            return BindResult(False, f"no answer to the bind within {self.settings.response_timeout:g} s")
        if isinstance(answer, _Failure):
            return BindResult(False, f"no answer to the bind: {self.close_reason or answer.value}")
        result = self.adapter.bind_result(cast(P, answer))
        if result.ok and link.state is LinkState.BINDING:
            self.role = role
            link.bound()
        elif result.ok:
            return BindResult(False, f"link lost after the bind: {self.close_reason or 'closed'}")
        else:
            return BindResult(False, f"bind refused: {result.error}")
        return result

    async def submit(
        self, sms: OutboundSms, bucket: TokenBucket | None, wire_log: WireLog | None = None
    ) -> SubmitResult | None:
        """Send every segment of `sms` and judge the answers; `wire_log` hears of each segment.

        None when the session ended before any segment left, so the caller may use another session.
        """
        adapter = self.adapter
        try:  # every segment is encoded before any is sent, so a bad message never half leaves
            frames = adapter.submit_frames(sms, self._link.next_sequence)
        except (ValueError, ProtocolError) as error:  # unencodable text, too many segments, long address
            self.counters.errors += 1
            return SubmitResult(sms.key, False, (), False, f"invalid message: {error}", False)
        total = len(frames)
        if wire_log is None:
            notes: list[_Note | None] = [None] * total
        else:
            self._wire_log = wire_log
            notes = [(sms.key, number, total) for number in range(1, total + 1)]
        if bucket is None:
            pairs = zip(frames, notes, strict=True)
            futures = [self._submit_when_room(key, frame, note) for (key, frame), note in pairs]
        else:  # under a rate cap each segment also waits for its turn, which only its submitter can
            futures = await self._submit_paced(frames, bucket, notes)
        answers: list[Any] = []
        try:
            for future in futures:  # a plain loop: an awaiting comprehension would be one more coroutine
                answer = await future
                if answer is _Failure.NOT_SENT:
                    break  # and so were the segments after it
                answers.append(answer)
        except asyncio.CancelledError:
            for future in futures:
                future.cancel()  # segments still queued must not leave for a submitter that gave up
            raise
        if not answers:
            return None
        return self._judge(sms, answers, total)

    async def close_gracefully(self, grace: float) -> None:
        """Let in-flight requests finish, unbind, close; abort whatever is left at the deadline."""
        link = self._link
        if link.state is LinkState.CLOSED:
            return
        if self._transport is None:
            self.abort("stopped")
            return
        deadline = self._loop.time() + grace
        try:
            if link.state is LinkState.BOUND:
                link.begin_closing()
                async with asyncio.timeout_at(deadline):
                    await self._window.wait_idle()
                if self._acks:  # reports being stored: acknowledge them rather than have them resent
                    await asyncio.wait(set(self._acks), timeout=max(0.0, deadline - self._loop.time()))
                self._close_window()
                future = self._send_request(self.adapter.unbind(link.next_sequence()), RequestKind.UNBIND)
                async with asyncio.timeout_at(deadline):
                    await future
            self._close("stopped")
            async with asyncio.timeout_at(deadline):
                await asyncio.shield(self.closed)
        except TimeoutError:
            self.abort("stop deadline passed")

    def abort(self, reason: str) -> None:
        """Drop the connection at once."""
        if not self.close_reason:
            self.close_reason = reason
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()  # connection_lost follows and finishes the session
        else:
            self._finish()

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.closed.done():  # aborted while connecting
            cast(asyncio.Transport, transport).abort()
            return
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        admission = self._admission
        if admission is not None:
            source = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)
            if not admission.connection_opened(source):
                self.close_reason = f"{source} holds {admission.open_connections(source)} connections already"
                log.debug("%s: refused: %s", self.name, self.close_reason)
                cast(asyncio.Transport, transport).abort()  # connection_lost follows and finishes the session
                return
            self._source = source
        self._transport = cast(asyncio.Transport, transport)
        link = self._link
        link.connection_made(self._loop.time())
        login_deadline = link.login_deadline
        if login_deadline is not None:
            self._login_timer = self._loop.call_at(login_deadline, self._login_due, login_deadline)
        self._ticker = self._loop.create_task(self._tick())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.close_reason:
            self.close_reason = f"connection lost: {exc}" if exc else "closed by peer"
        self._transport = None
        if self._source and self._admission is not None:
            self._admission.connection_closed(self._source)
            self._source = ""
        self._finish()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None:
            if not self._writable.done():
                self._writable.set_result(None)
            self._writable = None
        if self._queued:
            self._send_queued()

    def data_received(self, data: bytes) -> None:
        link = self._link
        link.receive_data(data, self._loop.time())
        while self._transport is not None:
            event = link.next_event()
            if event is None:
                return  # more bytes needed, or nothing more is read for now (a bind held or refused)
            try:
                if type(event) is Response:  # the commonest first, without another call
                    self._response(event)
                else:
                    self._handle(event)
            except ProtocolError as error:
                close = link.protocol_error(error)
                if close is not None:
                    self._handle(close)
                else:
                    log.warning("%s: malformed PDU: %s", self.peer, error)
            except Exception:  # an adapter bug must not take the link down with it
                log.exception("%s: failed to handle %r", self.peer, event)

    def eof_received(self) -> bool | None:
        self.close_reason = self.close_reason or "closed by peer"
        return None

    # -- incoming ---------------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        if type(event) is Response:
            self._response(event)
        elif type(event) is Request:
            self._request_of_peer(event.kind, event.pdu)
        elif isinstance(event, Close):
            self._closed_by_link(event)
        elif isinstance(event, LateResponse):
            self.counters.late_responses += 1
        elif isinstance(event, Malformed):
            log.warning("%s: malformed PDU: %s", self.peer, event.error)
        elif isinstance(event, Unbinding):
            self._refuse_queued()  # no submit leaves meanwhile; those waiting go to the next session
        elif isinstance(event, Expired):
            self._expired(event)

    def _response(self, event: Response[P]) -> None:
        entry = event.request
        kind = entry.kind
        answer: Any = event.pdu
        if kind is RequestKind.SUBMIT:
            if self._queued:  # the link freed its slot: it goes to a queued submit
                self._send_queued()
            future, note = entry.token
            answer = self._read_answer(answer)
            wire_log = self._wire_log
            if note is not None and wire_log is not None:
                wire_log.answered(self.name, note[0], note[1], answer)
        elif kind is RequestKind.LINK_TEST:
            return
        else:
            future = entry.token
        if future is not None and not future.done():
            future.set_result(answer)

    def _request_of_peer(self, kind: PduKind, pdu: P) -> None:
        link = self._link
        if kind is PduKind.DELIVER:
            # Reports keep coming while an SMSC that unbinds waits for our answer: take them.
            open_ = link.state is LinkState.BOUND or link.unbinding
            if open_ and self.role is not None and self.role.receives:
                self._deliver(pdu)
            else:
                self._reject(pdu)
        elif kind is PduKind.BIND and self.accepted and link.state is LinkState.BINDING:
            self._accept(pdu)
        else:
            self._reject(pdu)

    def _closed_by_link(self, event: Close) -> None:
        if event.abort:
            self.abort(event.reason)
            return
        if event.reason.startswith("framing lost"):
            log.warning("%s: %s", self.peer, event.reason)
        self._close(event.reason)

    def _reject(self, pdu: P) -> None:
        answer = self.adapter.reject(pdu)
        if answer is not None:
            self._link.send(self._encode(answer))

    def _accept(self, pdu: P) -> None:
        """Judge the peer's bind now; answer it now, or after the admission's delay for its address
        (right and wrong alike, so that the time of the answer tells nothing)."""
        acceptance = self.adapter.accept_bind(pdu)
        admission, source = self._admission, self._source
        if admission is None or not source:
            self._answer_bind(pdu, acceptance)
            return
        now = self._loop.time()
        delay = admission.login_delay(source, now)
        if acceptance is not None and acceptance.role is not None:
            admission.login_succeeded(source)
        else:
            admission.login_failed(source, now)
        if delay <= 0:
            self._answer_bind(pdu, acceptance)
            return
        # The peer did bind in time: the wait is ours, so the login timeout no longer runs.
        self._cancel_login_timer()
        self._link.hold_bind()  # nothing behind the bind is read meanwhile
        if self._transport is not None:
            self._transport.pause_reading()
        self._loop.call_later(delay, self._answer_held_bind, pdu, acceptance)

    def _answer_bind(self, pdu: P, acceptance: BindAcceptance[P] | None) -> None:
        link = self._link
        if acceptance is None:
            answer = self.adapter.reject(pdu)
            link.refuse_bind(None if answer is None else self._encode(answer))
            self._close("bind not accepted")
        elif acceptance.role is None:
            link.refuse_bind(self._encode(acceptance.response))
            self._close("bind refused")
        else:  # refused, whatever the peer sent behind the bind is not read (no guesses in one go)
            self._cancel_login_timer()
            link.accept_bind(self._encode(acceptance.response))
            self.role = acceptance.role

    def _answer_held_bind(self, pdu: P, acceptance: BindAcceptance[P] | None) -> None:
        link = self._link
        if self._transport is None or link.state is not LinkState.BINDING:
            return
        self._answer_bind(pdu, acceptance)
        if link.is_bound and self._transport is not None:
            link.resume_after_bind(self._loop.time())
            self._transport.resume_reading()
            self.data_received(b"")  # PDUs that came behind the bind

    def _login_due(self, deadline: float) -> None:
        self._login_timer = None
        # A timer may fire a hair before its time: the link must see the deadline reached.
        self._run_tick(max(self._loop.time(), deadline))

    def _cancel_login_timer(self) -> None:
        if self._login_timer is not None:
            self._login_timer.cancel()
            self._login_timer = None

    def _deliver(self, pdu: P) -> None:
        adapter = self.adapter
        send = self._link.send
        try:
            delivery = adapter.read_deliver(pdu)
        except ProtocolError as error:
            log.warning("%s: unusable deliver: %s", self.peer, error)
            send(adapter.deliver_response_frame(pdu, AckStatus.REJECT))
            return
        try:
            pending = self._on_delivery(delivery)
        except Exception:
            log.exception("%s: delivery handler failed; asking for redelivery", self.peer)
            send(adapter.deliver_response_frame(pdu, AckStatus.RETRY))
            return
        if pending is None:
            send(adapter.deliver_response_frame(pdu, AckStatus.OK))
            return
        # A callback on the owner's future, not a task awaiting it: with a report per message, a task
        # each would cost more than the rest of taking the report in.
        future = asyncio.ensure_future(pending)
        self._acks.add(future)
        self._unacked += 1
        future.add_done_callback(partial(self._acknowledge, pdu))
        if self._unacked >= self.settings.max_unacked_deliveries and self._transport is not None:
            self._transport.pause_reading()
            self._link.pause_reading()
            self._reading_paused = True

    def _acknowledge(self, pdu: P, done: asyncio.Future[Any]) -> None:
        """Answer a deliver once its owner finished with it: OK when stored, else ask for it again."""
        self._acks.discard(done)
        self._unacked -= 1
        if not done.cancelled():
            error = done.exception()
            status = AckStatus.OK
            if error is not None:
                log.error("%s: delivery handler failed; asking for redelivery", self.peer, exc_info=error)
                status = AckStatus.RETRY
            if self._transport is not None:
                self._link.send(self.adapter.deliver_response_frame(pdu, status))
        if self._reading_paused and self._unacked < self.settings.max_unacked_deliveries // 2:
            self._reading_paused = False
            self._link.resume_reading(self._loop.time())
            if self._transport is not None:
                self._transport.resume_reading()

    # -- outgoing ---------------------------------------------------------------------------------

    def _submit_when_room(self, key: Hashable, frame: bytes, note: _Note | None) -> asyncio.Future[Any]:
        """Queue a submit; the session sends it as soon as the window has room.

        The session sends queued submits itself when a response frees a slot, so a submitter waits
        once, for its response, rather than also for a slot to be handed to it.
        """
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queued.append((key, frame, future, note))
        self._send_queued()
        return future

    async def _submit_paced(
        self, frames: list[RequestFrame], bucket: TokenBucket, notes: list[_Note | None]
    ) -> list[asyncio.Future[Any]]:
        """Send each frame once it has a slot and the rate cap lets it go; stop at the first that cannot."""
        futures: list[asyncio.Future[Any]] = []
        for (key, frame), note in zip(frames, notes, strict=True):
            if not await self._window.acquire():
                break
            try:
                await bucket.take()
                if self._writable is not None:
                    await asyncio.shield(self._writable)
            except asyncio.CancelledError:
                self._free_slot()
                raise
            if self._link.state is not LinkState.BOUND:
                self._free_slot()
                break
            futures.append(
                self._request(key, frame, RequestKind.SUBMIT, self.settings.response_tries, note=note)
            )
        return futures

    def _send_request(self, pdu: P, kind: RequestKind) -> asyncio.Future[Any]:
        adapter = self.adapter
        return self._request(adapter.key(pdu), self._encode(pdu), kind, tries=1)

    def _request(
        self,
        key: Hashable,
        frame: bytes,
        kind: RequestKind,
        tries: int,
        future: asyncio.Future[Any] | None = None,
        note: _Note | None = None,
    ) -> asyncio.Future[Any]:
        """Send a request; its future gets the response (a submit's: its SegmentAnswer), or a _Failure.

        A submit holds a slot of the window, which the link frees when it is answered or expires.
        """
        if future is None:
            future = self._loop.create_future()
        if self._transport is None:
            future.set_result(_Failure.LOST)
            return future
        if note is not None and self._wire_log is not None:
            self._wire_log.written(self.name, *note)
        submit = kind is RequestKind.SUBMIT
        token = (future, note) if submit else future
        self._link.request(key, frame, kind, token, self._loop.time(), tries, submit)
        return future

    def _send_queued(self) -> None:
        """Send queued submits, oldest first, while the window has room."""
        queued = self._queued
        window = self._window
        link = self._link
        while queued:
            if link.state is not LinkState.BOUND or window.closed:
                self._refuse_queued()
                return
            if self._writable is not None or not window.try_acquire():
                return
            key, frame, future, note = queued.popleft()
            if future.done():  # its submitter was cancelled
                window.release()
                continue
            self._request(key, frame, RequestKind.SUBMIT, self.settings.response_tries, future, note)

    def _refuse_queued(self) -> None:
        queued, self._queued = self._queued, deque()
        for _, _, future, _ in queued:
            if not future.done():
                future.set_result(_Failure.NOT_SENT)

    def _free_slot(self) -> None:
        """A submit was given up before it left: its slot goes to whatever waits for one."""
        close = self._link.release_slot()
        if self._queued:
            self._send_queued()
        if close is not None:
            self._closed_by_link(close)

    def _close_window(self) -> None:
        """No more submits leave this session: refuse those waiting for a slot."""
        self._window.close()
        self._refuse_queued()

    def _flush_soon(self) -> None:
        self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        data = self._link.data_to_send()
        if self._transport is not None and data:
            if self._wire_log is not None:
                self._wire_log.flush()  # on record before the SMSC can have it
            self._transport.write(data)

    def _close(self, reason: str) -> None:
        """Close after what is queued has been written."""
        link = self._link
        if link.state is LinkState.CLOSED:
            return
        if not self.close_reason:
            self.close_reason = reason
        link.close()
        self._refuse_queued()
        if self._transport is not None:
            self._flush()
            self._transport.close()

    def _finish(self) -> None:
        """Fail whatever waits on this session, once the connection is gone."""
        if self.closed.done():
            return
        lost = self._link.connection_lost()
        self._refuse_queued()
        for entry in lost:
            self._settle(entry.token, _Failure.LOST)
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self._ticker is not None:
            self._ticker.cancel()
        self._cancel_login_timer()
        if not self.closed.done():
            self.closed.set_result(None)

    # -- time -------------------------------------------------------------------------------------

    async def _tick(self) -> None:
        settings = self.settings
        interval = max(0.005, min(1.0, settings.response_timeout / 5, settings.enquire_interval / 5))
        while True:
            await asyncio.sleep(interval)
            self._run_tick(self._loop.time())

    def _run_tick(self, now: float) -> None:
        try:
            events = self._link.tick(now)
        except Exception:  # an adapter bug: drop the link visibly rather than lose heartbeats
            log.exception("%s: cannot send a link test", self.peer)
            self.abort("cannot send a link test")
            return
        for event in events:
            self._handle(event)

    def _expired(self, event: Expired) -> None:
        entry = event.request
        if entry.kind is RequestKind.SUBMIT and self._queued:  # its slot is free again
            self._send_queued()
        self._settle(entry.token, _Failure.TIMEOUT)

    @staticmethod
    def _settle(token: Any, failure: _Failure) -> None:
        future = token[0] if type(token) is tuple else token
        if future is not None and not future.done():
            future.set_result(failure)

    # -- results ----------------------------------------------------------------------------------

    def _judge(self, sms: OutboundSms, answers: list[Any], total: int) -> SubmitResult:
        counters = self.counters
        remote_ids: list[str] = []
        error = ""
        transient = True
        maybe_sent = False
        failed = 0
        for answer in answers:
            if isinstance(answer, _Failure):
                failed += 1
                maybe_sent = True
                if answer is _Failure.TIMEOUT:
                    counters.timeouts += 1
                error = error or answer.value
                continue
            judged: SegmentAnswer = answer
            if judged.ok:
                remote_ids.append(judged.remote_id)
                continue
            failed += 1
            error = error or judged.error
            transient = transient and judged.transient
        unsent = total - len(answers)
        if unsent:
            error = error or _Failure.LOST.value
        counters.sent += len(remote_ids)
        counters.errors += failed + unsent
        if not failed and not unsent:
            return SubmitResult(sms.key, True, tuple(remote_ids), False, "", False)
        # Segments the SMSC accepted are on their way too: resending the message would duplicate them.
        maybe_sent = maybe_sent or bool(remote_ids)
        return SubmitResult(sms.key, False, (), transient, error, maybe_sent)

    def _read_answer(self, answer: P) -> SegmentAnswer:
        try:
            return self.adapter.read_submit_response(answer)
        except ProtocolError as error:
            return SegmentAnswer(False, "", True, f"malformed response: {error}")
