"""A protocol-neutral SMSC: accounts, message ids, outcomes and receipts, MO, faults, a record.

The protocol comes from a dialect (`dialect.py`); this module owns the sockets and the behaviour:

- A bind is accepted when it proves accounts[system_id] (the password itself, or a digest of it;
  see SmscDialect.answer_bind); anything else gets the dialect's refusal and the connection closes.
- Every accepted submit segment gets its own message id (a long message gets one id per segment)
  and, when it asked for one, its own receipt after `rule.delay` seconds, with the rule's outcome
  (decided per segment). Receipts and MO go to a bound receiving session (receiver or transceiver)
  of the same system_id; while none is bound they wait, and a deliver left unanswered when its
  session ends, or answered with an error, is sent again.
- Faults switch on and off at run time (see faults.py). A submit whose response is dropped is
  still accepted: recorded, and receipted, as a real SMSC would after losing the response.
- Message ids count from `first_id` (in dialects that number them by count, SMPP: two simulators
  with one `first_id` issue the same ids, as two real SMSCs may). With `reports_first`, a segment's
  receipt is sent at once and its submit response only once the receipt was answered (or after
  `HOLD_LIMIT` seconds): the ESME gets every report before it knows the id it is for.
- `received` records each message with its text reassembled and its segments' ids, unless
  `record=False` (benchmarks), when only the counters move.
- The listener keeps `limits` (ListenerLimits; see protocols/admission.py): a connection from a
  source address already holding `max_connections_per_source` is closed before anything is read; one
  that has not bound within `login_timeout` is closed; the answer to any bind from an address with
  recent failed binds is held back by `SourceAdmission.login_delay` (the connection reads nothing
  meanwhile); and a PDU begun on a bound session must arrive whole within `body_timeout`. These checks
  run at connect and bind, and from a once-a-second sweep: the submit path does not see them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Generic, cast

from smsplatform.protocols.admission import ListenerLimits, SourceAdmission
from smsplatform.protocols.concat import split_for_sms
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.core import (
    Close,
    CloseCause,
    Event,
    Link,
    LinkSettings,
    LinkTested,
    Request,
    RequestKind,
    Response,
)
from smsplatform.protocols.link.framing import PduKind
from smsplatform.protocols.reassembly import Reassembler
from smsplatform.protocols.text import TextEncoding, decode_text
from smsplatform.simulator.dialect import (
    BindRequest,
    BindStatus,
    CallbackTarget,
    MoPart,
    Outgoing,
    P,
    Receipt,
    SmscDialect,
    SubmitRequest,
    SubmitStatus,
)
from smsplatform.simulator.faults import Faults
from smsplatform.simulator.report_log import ReportLog
from smsplatform.simulator.rules import LastDigitRule, OutcomeRule

log = logging.getLogger(__name__)

_TEXT_HEAD = 20  # characters of the message a receipt quotes
HOLD_LIMIT = 5.0  # seconds a response held for its receipt's answer waits at most (reports_first)
_TWO_OCTET = frozenset({TextEncoding.UCS2, TextEncoding.GBK})


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    system_id: str
    source: str
    destination: str
    text: str  # reassembled when it came in segments
    message_ids: tuple[str, ...]  # one per segment, in segment order


@dataclass(slots=True)
class SimulatorCounters:
    binds: int = 0
    bind_failures: int = 0
    submits: int = 0  # submit segments accepted
    messages: int = 0  # whole messages accepted (long ones counted once)
    throttled: int = 0
    dropped_responses: int = 0
    invalid: int = 0
    receipts_sent: int = 0  # deliver PDUs, resends included
    receipts_acked: int = 0
    mo_sent: int = 0
    mo_acked: int = 0
    link_tests_received: int = 0
    link_tests_answered: int = 0  # answers to our own link tests (see SmscServer.ping)
    max_unanswered: int = 0  # most submits one session had waiting for a (slowed) response
    responses_after_report: int = 0  # submit responses sent once their receipt was answered
    connections_refused: int = 0  # closed unread: their source address held as many as it may
    login_timeouts: int = 0  # closed for not binding within login_timeout
    stalled_pdus: int = 0  # bound sessions closed for a PDU left unfinished past body_timeout

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class SmscSession(asyncio.Protocol, Generic[P]):
    """One ESME connection to the simulator: the SMSC's end of the link core (`protocols/link/core.py`,
    shared with the connector's session), driven with the socket and the clock."""

    def __init__(self, server: SmscServer[P], *, accepted: bool = True) -> None:
        self.server = server
        self.dialect = server.dialect
        self.accepted = accepted  # the ESME connected to our listener (not one we dialed)
        self.source = ""  # the peer's address, while the listener's admission counts this connection
        self.system_id = ""
        self.transmits = False
        self.receives = False
        self.unanswered = 0
        self.dialed: asyncio.Future[bool] | None = None  # our own bind's outcome, when we connected out
        limits = server.limits
        self._link: Link[P] = Link(
            server.dialect.framing,
            server.dialect,
            LinkSettings(
                window=server.deliver_window,
                response_timeout=math.inf,  # a deliver waits for its answer as long as its session lasts
                enquire_interval=0,  # link tests only when asked (SmscServer.ping)
                login_timeout=limits.login_timeout if accepted else 0.0,
                body_timeout=limits.body_timeout,
            ),
            accepted=accepted,
            on_output=self._flush_soon,
        )
        self._login_timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()

    @property
    def bound(self) -> bool:
        return self._link.is_bound

    @property
    def deliver_room(self) -> int:
        window = self._link.window
        return window.size - window.used

    def next_sequence(self) -> int:
        return self._link.next_sequence()

    def awaiting_answers(self) -> list[Outgoing]:
        """The delivers sent on this session and not answered yet."""
        return [entry.token for entry in self._link.pending.values() if entry.token is not None]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self.server
        if self.accepted:
            source = source_address(transport)
            if not server.admission.connection_opened(source):
                server.counters.connections_refused += 1
                log.debug("simulator: refused a connection from %s (at its connection cap)", source)
                self._link.close()
                cast(asyncio.Transport, transport).abort()
                return
            self.source = source
        self._transport = cast(asyncio.Transport, transport)
        link = self._link
        link.connection_made(self._loop.time())
        if link.login_deadline is not None:
            self._login_timer = self._loop.call_at(link.login_deadline, self._login_due, link.login_deadline)
        server.sessions.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._stop_login_timer()
        unanswered = [entry.token for entry in self._link.connection_lost() if entry.token is not None]
        if self.source:
            self.server.admission.connection_closed(self.source)
            self.source = ""
        if self.dialed is not None and not self.dialed.done():
            self.dialed.set_result(False)
        self.server.session_closed(self, unanswered)

    def _login_due(self, deadline: float) -> None:
        self._login_timer = None
        # A timer may fire a hair before its time: the link must see the deadline reached.
        self.tick(max(self._loop.time(), deadline))

    def _stop_login_timer(self) -> None:
        if self._login_timer is not None:
            self._login_timer.cancel()
            self._login_timer = None

    def tick(self, now: float) -> None:
        """Let the link close a login or a PDU that is overdue (the server's sweep, the login timer)."""
        for event in self._link.tick(now):
            self._handle(event)

    def hold_login(self, delay: float, answer: Callable[[], None]) -> None:
        """Answer a bind only after `delay` seconds, reading nothing from the ESME meanwhile.

        The peer did bind in time: the wait is ours, so the login timeout no longer applies.
        """
        self._stop_login_timer()
        self._link.hold_bind()
        if self._transport is not None:
            self._transport.pause_reading()
        self._loop.call_later(delay, self._answer_held_login, answer)

    def _answer_held_login(self, answer: Callable[[], None]) -> None:
        if self._transport is None:
            return
        answer()
        if self.bound and self._transport is not None:
            self._link.resume_after_bind(self._loop.time())
            self._transport.resume_reading()
            self.data_received(b"")  # PDUs that came behind the bind

    def accept_login(self, answer: bytes) -> None:
        self._stop_login_timer()
        self._link.accept_bind(answer)

    def refuse_login(self, answer: bytes) -> None:
        """A refused bind: the connection closes, and whatever came behind the bind stays unread."""
        self._link.refuse_bind(answer)
        self.close()

    def mark_bound(self) -> None:
        """Our own bind to the ESME (connect_back) was accepted."""
        self._link.bound()

    def log_in(self, login: str, password: str) -> asyncio.Future[bool]:
        """Bind to the ESME we connected to (SMSCs that connect back); resolves to whether it took."""
        dialect = self.dialect
        link = self._link
        pdu = dialect.bind_request(link.next_sequence(), login, password)
        self.dialed = self._loop.create_future()
        link.binding()
        link.request(dialect.key(pdu), dialect.encode(pdu), RequestKind.BIND, None, self._loop.time())
        return self.dialed

    def data_received(self, data: bytes) -> None:
        link = self._link
        link.receive_data(data, self._loop.time())
        while self._transport is not None:
            event = link.next_event()
            if event is None:
                return
            try:
                self._handle(event)
            except ProtocolError as error:
                close = link.protocol_error(error)
                if close is not None:
                    self._handle(close)
            except Exception:
                log.exception("simulator: failed to handle a PDU")

    def _handle(self, event: Event) -> None:
        server = self.server
        if type(event) is Response:
            request = event.request
            if request.kind is RequestKind.BIND:
                if self.dialed is not None and not self.dialed.done():
                    self.dialed.set_result(self.dialect.bind_accepted(event.pdu))
            else:  # a deliver's answer, or a link test's (its token None)
                server.on_deliver_response(self, request.token, event.pdu)
        elif type(event) is Request:
            kind = event.kind
            if kind is PduKind.SUBMIT:
                server.on_submit(self, event.pdu)
            elif kind is PduKind.BIND:
                server.on_bind(self, event.pdu)
            else:
                answer = self.dialect.reject(event.pdu)
                if answer is not None:
                    self.write(self.dialect.encode(answer))
        elif isinstance(event, LinkTested):
            server.counters.link_tests_received += 1
        elif isinstance(event, Close):
            self._closed_by_link(event)

    def _closed_by_link(self, event: Close) -> None:
        cause = event.cause
        if cause is CloseCause.NO_BIND:
            self.server.counters.login_timeouts += 1
            log.debug("simulator: closing %s: no bind within the login timeout", self.source)
        elif cause is CloseCause.STALLED:
            self.server.counters.stalled_pdus += 1
            log.info("simulator: closing a session of %r: a PDU left unfinished", self.system_id)
            self.abort()
            return
        elif cause is CloseCause.FRAMING_LOST:
            log.warning("simulator: %s; closing", event.reason)
        self.close()

    def send(self, item: Outgoing | None) -> bool:
        """Send a deliver for `item` (in the deliver window), or a link test for None, and await its answer.

        False when the protocol has no link test.
        """
        link = self._link
        now = self._loop.time()
        if item is None:
            return link.send_link_test(now)
        key, frame = self.dialect.deliver_frame(link.next_sequence(), item)
        link.window.try_acquire()  # the server sends only while `deliver_room` is left
        link.request(key, frame, RequestKind.DELIVER, item, now, 1, True)
        return True

    def answer_late(self, frame: bytes) -> None:
        self.unanswered -= 1
        if self._transport is not None:
            self.write(frame)

    def write(self, frame: bytes) -> None:
        self._link.send(frame)

    def _flush_soon(self) -> None:
        self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        data = self._link.data_to_send()
        if self._transport is not None and data:
            self._transport.write(data)

    def close(self) -> None:
        """Close once what is queued is written; nothing more is read."""
        self._link.close()
        if self._transport is not None:
            self._flush()
            self._transport.close()

    def abort(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.abort()


def source_address(transport: asyncio.BaseTransport) -> str:
    """The peer's address without its port: what the admission counts connections and failures by."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)


class SmscServer(Generic[P]):
    """An SMSC on one TCP port. See the module docstring for its behaviour."""

    def __init__(
        self,
        dialect: SmscDialect[P],
        accounts: Mapping[str, str],
        rule: OutcomeRule | None = None,
        *,
        record: bool = True,
        deliver_window: int = 16,
        redeliver_delay: float = 1.0,
        seed: int | None = None,
        first_id: int = 1,
        reports_first: bool = False,
        limits: ListenerLimits | None = None,
    ) -> None:
        if first_id < 0:
            raise ValueError("first_id must not be negative")
        self.limits = limits or ListenerLimits()
        self.admission = SourceAdmission(self.limits)
        self.dialect = dialect
        self.accounts = dict(accounts)
        self.rule = rule or LastDigitRule()
        self.record = record
        self.deliver_window = deliver_window
        self.redeliver_delay = redeliver_delay
        self.faults = Faults(seed)
        self.counters = SimulatorCounters()
        self.received: list[ReceivedMessage] = []
        self.report_log: ReportLog | None = None  # when on, when each receipt went out (benchmarks)
        self.sessions: set[SmscSession[P]] = set()
        self._receivers: dict[str, list[SmscSession[P]]] = {}
        self._outboxes: dict[str, deque[Outgoing]] = {}
        self._receipts: deque[tuple[float, str, Receipt]] = deque()
        self._receipts_waiting = asyncio.Event()
        self._segments: Reassembler[tuple[str, str]] = Reassembler()
        self._number = first_id - 1
        self.reports_first = reports_first
        # Submit responses waiting for their receipt's answer, by (system_id, message id).
        self._held: dict[tuple[str, str], tuple[SmscSession[P], bytes]] = {}
        self._mo_ref = 0
        self._server: asyncio.Server | None = None
        self._receipt_task: asyncio.Task[None] | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        # A dialect configured with a listener to connect back to delivers there for every account.
        self._targets: dict[str, CallbackTarget] = (
            {} if dialect.callback is None else dict.fromkeys(self.accounts, dialect.callback)
        )
        self._dialing: dict[str, asyncio.Task[None]] = {}

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SmscSession(self), host, port)
        self._receipt_task = loop.create_task(self._send_receipts())
        if self.limits.body_timeout > 0:
            self._sweep_task = loop.create_task(self._sweep(self.limits.body_timeout))

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the simulator is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.abort()
        for task in self._dialing.values():
            task.cancel()
        await asyncio.gather(*self._dialing.values(), return_exceptions=True)
        tasks = [task for task in (self._receipt_task, self._sweep_task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._receipt_task = self._sweep_task = None
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        if self._server is None:
            raise RuntimeError("start() first")
        try:
            await self._server.serve_forever()
        finally:
            await self.close()

    # -- faults and injection -----------------------------------------------------------------------

    def drop_connections(self) -> int:
        """Cut every connection at once (no unbind); returns how many."""
        sessions = list(self.sessions)
        for session in sessions:
            session.abort()
        return len(sessions)

    def throttle(self, value: int | float) -> None:
        """Answer submits ESME_RTHROTTLED (or the dialect's equivalent); see Faults.throttle."""
        self.faults.throttle(value)

    def slow_responses(self, delay: float) -> None:
        self.faults.slow_responses(delay)

    def drop_responses(self, ratio: float) -> None:
        self.faults.drop_responses(ratio)

    def clear_faults(self) -> None:
        self.faults.clear()

    def inject_mo(self, source: str, destination: str, text: str, system_id: str | None = None) -> str:
        """Queue an MO for system_id (default: the first with a receiver bound); returns the system_id.

        A long text goes as several delivers with a concatenation header.
        """
        if system_id is None:
            bound = [sid for sid, sessions in self._receivers.items() if sessions]
            if not bound and not self.accounts:
                raise ValueError("no account to deliver to")
            system_id = bound[0] if bound else next(iter(self.accounts))
        encoding = self.dialect.mo_encoding(text)
        self._mo_ref = (self._mo_ref + 1) % 256
        payloads = split_for_sms(text, encoding, self._mo_ref)
        udhi = len(payloads) > 1
        box = self._outboxes.setdefault(system_id, deque())
        box.extend(MoPart(source, destination, payload, encoding, udhi) for payload in payloads)
        self._pump(system_id)
        return system_id

    def connect_back(self, system_id: str, host: str, port: int, login: str, password: str) -> None:
        """Deliver system_id's receipts and MO by connecting to the ESME's own listener.

        For protocols whose SMSC opens the delivering connection (SGIP): whenever something is
        queued for system_id and no receiving session is bound, the simulator dials `host:port`
        and binds with `login`/`password` (the dialect's bind_request); a refused or failed attempt
        is retried after redeliver_delay.
        """
        self._targets[system_id] = CallbackTarget(host, port, login, password)
        self._pump(system_id)

    def ping(self) -> int:
        """Send a link test on every bound session; returns how many were sent."""
        return sum(session.send(None) for session in self.sessions if session.bound)

    def pending_delivers(self, system_id: str) -> int:
        """Receipts and MO not yet acknowledged for system_id (queued or awaiting an answer)."""
        queued = len(self._outboxes.get(system_id, ()))
        sessions = self._receivers.get(system_id, [])
        return queued + sum(len(session.awaiting_answers()) for session in sessions)

    # -- sessions -----------------------------------------------------------------------------------

    def on_bind(self, session: SmscSession[P], pdu: P) -> None:
        dialect = self.dialect
        if session.bound:
            session.write(dialect.encode(dialect.bind_response(pdu, BindStatus.ALREADY_BOUND)))
            return
        request = dialect.read_bind(pdu)
        accepted, answer = dialect.answer_bind(pdu, request, self.accounts.get(request.system_id))
        delay = 0.0
        source = session.source
        if source:
            # Judged now, answered after the delay: right and wrong answers take the same time, and
            # binds racing on other connections already see this one's failure.
            admission = self.admission
            now = asyncio.get_running_loop().time()
            delay = admission.login_delay(source, now)
            if accepted:
                admission.login_succeeded(source)
            else:
                admission.login_failed(source, now)
        if not accepted:
            self.counters.bind_failures += 1
        if delay > 0:
            session.hold_login(delay, lambda: self._answer_bind(session, request, accepted, answer))
        else:
            self._answer_bind(session, request, accepted, answer)

    def _answer_bind(self, session: SmscSession[P], request: BindRequest, accepted: bool, answer: P) -> None:
        dialect = self.dialect
        if not accepted:
            session.refuse_login(dialect.encode(answer))
            return
        self.counters.binds += 1
        session.system_id = request.system_id
        session.transmits = request.transmits
        session.receives = request.receives
        session.accept_login(dialect.encode(answer))
        if request.receives:
            self._receivers.setdefault(request.system_id, []).append(session)
            self._pump(request.system_id)

    async def _sweep(self, body_timeout: float) -> None:
        """Let each session's link close a PDU begun and not finished within `body_timeout`.

        Before a bind the login timeout covers the same case; after it no timer of the link would.
        """
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, body_timeout / 4))
            now = loop.time()
            for session in list(self.sessions):
                session.tick(now)

    def session_closed(self, session: SmscSession[P], unanswered: list[Outgoing]) -> None:
        """`session` is gone: the delivers it left unanswered go out again, first."""
        self.sessions.discard(session)
        receivers = self._receivers.get(session.system_id)
        if receivers and session in receivers:
            receivers.remove(session)
        if unanswered:
            box = self._outboxes.setdefault(session.system_id, deque())
            box.extendleft(reversed(unanswered))
            self._pump(session.system_id)

    def on_submit(self, session: SmscSession[P], pdu: P) -> None:
        dialect = self.dialect
        counters = self.counters
        if not session.transmits:
            session.write(dialect.submit_response_frame(pdu, "", SubmitStatus.NOT_BOUND))
            return
        faults = self.faults
        if faults.active and faults.should_throttle():
            counters.throttled += 1
            session.write(dialect.submit_response_frame(pdu, "", SubmitStatus.THROTTLED))
            return
        try:
            request = dialect.read_submit(pdu)
        except ProtocolError as error:
            log.info("simulator: unusable submit: %s", error)
            counters.invalid += 1
            session.write(dialect.submit_response_frame(pdu, "", SubmitStatus.INVALID))
            return
        self._number += 1
        message_id = request.message_id or dialect.message_id(self._number)
        counters.submits += 1
        receipt = self._accept(session.system_id, request, message_id)
        frame = dialect.submit_response_frame(pdu, message_id, SubmitStatus.OK)
        if faults.active:
            if faults.should_drop():
                counters.dropped_responses += 1
                return
            if faults.response_delay:
                session.unanswered += 1
                counters.max_unanswered = max(counters.max_unanswered, session.unanswered)
                asyncio.get_running_loop().call_later(faults.response_delay, session.answer_late, frame)
                return
        if receipt is not None and self.reports_first:
            key = (session.system_id, message_id)
            self._held[key] = (session, frame)
            asyncio.get_running_loop().call_later(HOLD_LIMIT, self._release, key, False)
            return
        session.write(frame)

    def _release(self, key: tuple[str, str], answered: bool) -> None:
        """Send the submit response held for the receipt `key` (a closed session drops it)."""
        held = self._held.pop(key, None)
        if held is not None:
            session, frame = held
            if answered:
                self.counters.responses_after_report += 1
            session.write(frame)

    def on_deliver_response(self, session: SmscSession[P], item: Outgoing | None, pdu: P) -> None:
        counters = self.counters
        if item is None:
            counters.link_tests_answered += 1
        elif self.dialect.deliver_accepted(pdu):
            if isinstance(item, Receipt):
                counters.receipts_acked += 1
            else:
                counters.mo_acked += 1
        else:
            loop = asyncio.get_running_loop()
            loop.call_later(self.redeliver_delay, self._redeliver, session.system_id, item)
        if self._held and isinstance(item, Receipt):  # answered either way: the report went first
            self._release((session.system_id, item.message_id), True)
        self._pump(session.system_id)

    def _redeliver(self, system_id: str, item: Outgoing) -> None:
        self._outboxes.setdefault(system_id, deque()).append(item)
        self._pump(system_id)

    # -- messages -----------------------------------------------------------------------------------

    def _accept(self, system_id: str, request: SubmitRequest, message_id: str) -> Receipt | None:
        """Record the segment and schedule its receipt; returns the receipt, if it gets one."""
        encoding = request.encoding or TextEncoding.LATIN1
        if self.record:
            text = decode_text(request.text_bytes, encoding, "replace")
        elif request.want_receipt:  # only the receipt's quote is needed: decode no more than that
            octets = _TEXT_HEAD * (2 if encoding in _TWO_OCTET else 1)
            text = decode_text(request.text_bytes[:octets], encoding, "replace")
        else:
            text = ""
        receipt = None
        if request.want_receipt:
            receipt = self._schedule_receipt(system_id, request, message_id, text)
        self._record(system_id, request, message_id, text)
        return receipt

    def _schedule_receipt(
        self, system_id: str, request: SubmitRequest, message_id: str, text: str
    ) -> Receipt | None:
        outcome = self.rule.outcome(request.destination)
        if request.failure_receipt_only and outcome.stat == "DELIVRD":
            return None
        delay = 0.0 if self.reports_first else self.rule.delay
        now = time.time()
        receipt = Receipt(
            message_id=message_id,
            source=request.source,
            destination=request.destination,
            stat=outcome.stat,
            err=outcome.err,
            submit_time=now,
            done_time=now + delay,
            text_head=text[:_TEXT_HEAD],
        )
        if self.reports_first:  # at once, ahead of the submit response (which waits for its answer)
            self._outboxes.setdefault(system_id, deque()).append(receipt)
            self._pump(system_id)
            return receipt
        if not self._receipts:
            self._receipts_waiting.set()
        due = asyncio.get_running_loop().time() + delay
        self._receipts.append((due, system_id, receipt))
        return receipt

    def _record(self, system_id: str, request: SubmitRequest, message_id: str, text: str) -> None:
        concat = request.concat
        if concat is None:
            self.counters.messages += 1
            if self.record:
                self.received.append(
                    ReceivedMessage(system_id, request.source, request.destination, text, (message_id,))
                )
            return
        if not self.record:
            if concat.seq == concat.total:
                self.counters.messages += 1
            return
        key = (system_id, request.source, request.destination, concat.ref, concat.total)
        parts = self._segments.add(key, concat.total, concat.seq, (text, message_id))
        if parts is not None:
            self.counters.messages += 1
            self.received.append(
                ReceivedMessage(
                    system_id,
                    request.source,
                    request.destination,
                    "".join(part[0] for part in parts),
                    tuple(part[1] for part in parts),
                )
            )

    async def _send_receipts(self) -> None:
        """Move receipts to their outboxes when due (the rule's delay is fixed, so FIFO is due order)."""
        loop = asyncio.get_running_loop()
        queue = self._receipts
        while True:
            if not queue:
                self._receipts_waiting.clear()
                await self._receipts_waiting.wait()
                continue
            now = loop.time()
            due = queue[0][0]
            if due > now:
                await asyncio.sleep(due - now)
                continue
            touched: set[str] = set()
            while queue and queue[0][0] <= now:
                _, system_id, receipt = queue.popleft()
                self._outboxes.setdefault(system_id, deque()).append(receipt)
                touched.add(system_id)
            for system_id in touched:
                self._pump(system_id)
            if queue and queue[0][0] <= loop.time():
                await asyncio.sleep(0)  # more are due already: let answers in between large batches

    def _pump(self, system_id: str) -> None:
        """Send queued delivers for system_id while its receivers have room in their windows."""
        box = self._outboxes.get(system_id)
        if not box:
            return
        sessions = self._receivers.get(system_id)
        if not sessions:
            if system_id in self._targets and system_id not in self._dialing:
                task = asyncio.get_running_loop().create_task(self._dial(system_id))
                self._dialing[system_id] = task
            return
        counters = self.counters
        for session in sessions:
            room = session.deliver_room
            while box and room > 0:
                item = box.popleft()
                session.send(item)
                room -= 1
                if isinstance(item, Receipt):
                    counters.receipts_sent += 1
                    if self.report_log is not None:
                        self.report_log.add(item.destination)
                else:
                    counters.mo_sent += 1
            if not box:
                return

    async def _dial(self, system_id: str) -> None:
        """Connect to system_id's listener and bind as a receiver; on failure wait, then try again."""
        try:
            if not await self._dial_once(system_id, self._targets[system_id]):
                await asyncio.sleep(self.redeliver_delay)
        finally:
            del self._dialing[system_id]
        self._pump(system_id)

    async def _dial_once(self, system_id: str, target: CallbackTarget) -> bool:
        loop = asyncio.get_running_loop()
        session: SmscSession[P] | None = None
        try:
            async with asyncio.timeout(10.0):
                _, session = await loop.create_connection(
                    lambda: SmscSession(self, accepted=False), target.host, target.port
                )
                accepted = await session.log_in(target.login, target.password)
        except (OSError, TimeoutError) as error:
            log.warning("simulator: cannot connect back to %s:%d: %s", target.host, target.port, error)
            accepted = False
        except asyncio.CancelledError:
            if session is not None:
                session.abort()
            raise
        if not accepted:
            if session is not None:
                self.counters.bind_failures += 1
                session.abort()
            return False
        assert session is not None
        session.system_id, session.receives = system_id, True
        session.mark_bound()
        self.counters.binds += 1
        self._receivers.setdefault(system_id, []).append(session)
        return True


def counters_dict(server: SmscServer[Any]) -> dict[str, int]:
    """The counters plus a few gauges, as plain numbers (for the control port)."""
    values = server.counters.as_dict()
    values["sessions"] = len(server.sessions)
    values["received"] = len(server.received)
    return values
