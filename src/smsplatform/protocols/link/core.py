"""The state of one link, with no I/O: what both ends of every protocol do the same way.

As h11's one `Connection` serves client and server, one `Link` serves the connector (an ESME that
binds, submits and takes reports) and the simulator (an SMSC that accepts binds, takes submits and
sends reports). It numbers requests, keeps them pending with deadlines (resending while tries are
left), counts the window, answers the peer's link tests and sends its own when the line is idle,
times out a login that never comes and a PDU begun and never finished, answers a PDU it cannot read
and closes when the byte stream is lost, and answers the peer's unbind once our requests on the wire
are answered (or at `unbind_wait`).

Its driver owns the socket and the clock: it feeds bytes with `receive_data(data, now)`, drains
`next_event()`, calls `tick(now)` now and then (each `Link` says when it next needs to be called:
`next_deadline`), and writes what `data_to_send()` returns. Frames queued since the last
`data_to_send` are written together, so the driver writes once per turn of its loop: `on_output` tells
it that the first frame of a batch is waiting.

What differs per end (judging a bind, reading a submit or a deliver, acknowledging after the store)
comes out as events for the driver: `Request`, `Response`, `Expired`, `Close`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Generic, Protocol, TypeVar

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import FramedPdu, Framing, PduKind

__all__ = [
    "Close",
    "CloseCause",
    "Event",
    "Expired",
    "LateResponse",
    "Link",
    "LinkSettings",
    "LinkState",
    "LinkTested",
    "Malformed",
    "Pending",
    "Request",
    "RequestKind",
    "Response",
    "SessionPdus",
    "SlotWindow",
    "Unbinding",
]

P = TypeVar("P", bound=FramedPdu)

MAX_SEQUENCE: Final = 0x7FFFFFFF  # sequence numbers run 1..MAX_SEQUENCE, then 1 again


class LinkState(StrEnum):
    CONNECTING = "connecting"
    BINDING = "binding"  # our bind is out, or the peer's is awaited
    BOUND = "bound"
    CLOSING = "closing"  # nothing new leaves; the connection closes once what is queued is written
    CLOSED = "closed"


class RequestKind(StrEnum):
    BIND = "bind"
    SUBMIT = "submit"
    DELIVER = "deliver"
    LINK_TEST = "link test"
    UNBIND = "unbind"


class CloseCause(StrEnum):
    FRAMING_LOST = "framing lost"  # the byte stream cannot be split into frames any more
    NO_BIND = "no bind"  # an accepted connection did not bind within the login timeout
    LINK_TEST_MISSED = "link test missed"
    STALLED = "stalled"  # a PDU begun and not finished within the body timeout
    UNBOUND = "unbound"  # the peer unbound and has its answer


class SessionPdus(Protocol[P]):
    """The session-level PDUs of a protocol, built by the adapter or the dialect (SGIP numbers its
    own sequences, so the framing alone cannot build them)."""

    def link_test(self, sequence: int) -> P | None:
        """The heartbeat request; None for a protocol without one."""
        ...

    def link_test_response(self, pdu: P) -> P: ...

    def unbind_response(self, pdu: P) -> P: ...


@dataclass(frozen=True, slots=True)
class LinkSettings:
    window: int = 16
    response_timeout: float = 30.0  # seconds a request waits for its response (math.inf: for ever)
    response_tries: int = 1  # sends of a request made with `tries=None`, before it expires for good
    enquire_interval: float = 30.0  # idle seconds (nothing received) before a link test; 0: never
    login_timeout: float = 0.0  # an accepted connection must bind within this; 0: no limit
    body_timeout: float = 0.0  # a PDU begun must be whole within this; 0: no limit
    unbind_wait: float = 0.0  # seconds the peer's unbind waits for the answers to our requests


class SlotWindow:
    """At most `size` windowed requests unanswered. A driver that lets callers wait for a slot
    subclasses it (and hands a freed slot straight to a waiter in `release`)."""

    __slots__ = ("closed", "size", "used")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("window size must be at least 1")
        self.size = size
        self.used = 0
        self.closed = False

    def try_acquire(self) -> bool:
        """Take a slot if one is free; never waits."""
        if self.closed or self.used >= self.size:
            return False
        self.used += 1
        return True

    def release(self) -> None:
        if not self.closed:
            self.used -= 1

    def close(self) -> None:
        """Refuse every future acquire."""
        self.closed = True
        self.used = 0


class Pending:
    """A request awaiting its response; `token` is the driver's (a future, the item delivered)."""

    __slots__ = ("deadline", "frame", "key", "kind", "token", "tries_left", "windowed")

    def __init__(
        self,
        key: Hashable,
        kind: RequestKind,
        token: Any,
        frame: bytes,
        deadline: float,
        tries: int,
        windowed: bool,
    ) -> None:
        self.key = key
        self.kind = kind
        self.token = token
        self.frame = frame
        self.deadline = deadline
        self.tries_left = tries
        self.windowed = windowed


class Event:
    __slots__ = ()


class Response(Event, Generic[P]):
    """The answer to one of our requests (removed from the pending ones; its slot, if any, freed)."""

    __slots__ = ("pdu", "request")

    def __init__(self, pdu: P, request: Pending) -> None:
        self.pdu = pdu
        self.request = request


class LateResponse(Event, Generic[P]):
    """A response to nothing pending: it came after its request expired, or the peer erred."""

    __slots__ = ("pdu",)

    def __init__(self, pdu: P) -> None:
        self.pdu = pdu


class Request(Event, Generic[P]):
    """A request of the peer for the driver to answer: SUBMIT, DELIVER, BIND or OTHER."""

    __slots__ = ("kind", "pdu")

    def __init__(self, kind: PduKind, pdu: P) -> None:
        self.kind = kind
        self.pdu = pdu


class LinkTested(Event):
    """The peer's link test, answered already."""

    __slots__ = ()


class Malformed(Event):
    """A PDU that could not be read, answered already (the stream is still in step)."""

    __slots__ = ("error",)

    def __init__(self, error: ProtocolError) -> None:
        self.error = error


class Unbinding(Event):
    """The peer unbinds while requests of ours are on the wire: nothing new may leave; the answer
    follows (with a `Close`) once they are answered or at `unbind_wait`."""

    __slots__ = ()


class Expired(Event):
    """A request that got no response in time, after its last try (its slot, if any, freed)."""

    __slots__ = ("request",)

    def __init__(self, request: Pending) -> None:
        self.request = request


@dataclass(frozen=True, slots=True)
class Close(Event):
    """The link is over: close the connection once `data_to_send` is written (abort: drop it now)."""

    cause: CloseCause
    reason: str
    abort: bool


_LINK_TESTED: Final = LinkTested()
_UNBINDING: Final = Unbinding()


class Link(Generic[P]):
    """One link's state, for either end. See the module docstring."""

    def __init__(
        self,
        framing: Framing[P],
        pdus: SessionPdus[P],
        settings: LinkSettings,
        *,
        accepted: bool = False,
        window: SlotWindow | None = None,
        on_output: Callable[[], None] | None = None,
        link_test_name: str = "link test",
    ) -> None:
        self.framing = framing
        self.settings = settings
        self.accepted = accepted  # the peer connected to us and must bind
        self.window = window if window is not None else SlotWindow(settings.window)
        self.state = LinkState.CONNECTING
        self.link_test_name = link_test_name
        self.pending: dict[Hashable, Pending] = {}  # insertion order is deadline order
        self.partial_since: float | None = None  # when the unfinished PDU in the reader began
        self.last_received = 0.0
        self.link_test_out = False
        self.login_deadline: float | None = None
        self._pdus = pdus
        self._reader = framing.new_reader()
        self._classify = framing.classify
        self._key = framing.key
        self._encode = framing.encode
        self._on_output = on_output
        self._out: list[bytes] = []
        self._events: deque[Event] = deque()
        self.sequence = 0  # the latest sequence number given
        self._received = 0  # octets of the latest receive_data
        self._halted = False  # nothing more is read: framing lost, a bind refused or held back
        self._reading_paused = False
        self._unbind_answer: bytes | None = None
        self._unbind_deadline = math.inf

    # -- state ------------------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Windowed requests unanswered."""
        window = self.window
        return 0 if window.closed else window.used

    @property
    def is_bound(self) -> bool:
        return self.state is LinkState.BOUND

    @property
    def halted(self) -> bool:
        """Whether `next_event` reads nothing more for now (see `hold_bind`, `refuse_bind`)."""
        return self._halted

    @property
    def unbinding(self) -> bool:
        """The peer unbound and waits for the answers to our requests."""
        return self._unbind_answer is not None

    def next_sequence(self) -> int:
        self.sequence = self.sequence % MAX_SEQUENCE + 1
        return self.sequence

    def connection_made(self, now: float) -> None:
        """The connection is up; an accepted one now waits for the peer's bind."""
        self.last_received = now
        if self.accepted:
            self.state = LinkState.BINDING
            if self.settings.login_timeout > 0:
                self.login_deadline = now + self.settings.login_timeout

    def connection_lost(self) -> list[Pending]:
        """The connection is gone: returns the requests that will never be answered."""
        self.state = LinkState.CLOSED
        self.window.close()
        self._out.clear()
        self.login_deadline = None
        pending, self.pending = self.pending, {}
        return list(pending.values())

    def begin_closing(self) -> None:
        """We are logging out: no new submits, while the answers to those on the wire are read."""
        if self.state is not LinkState.CLOSED:
            self.state = LinkState.CLOSING

    def close(self) -> None:
        """Nothing new leaves and nothing more is read: the driver closes after the last write."""
        if self.state is not LinkState.CLOSED:
            self.state = LinkState.CLOSING
        self.window.close()
        self._halted = True

    def next_deadline(self) -> float:
        """When `tick` next has something to do (math.inf: not until something else happens)."""
        settings = self.settings
        deadline = self._unbind_deadline
        for entry in self.pending.values():
            deadline = min(deadline, entry.deadline)
            break
        if self.login_deadline is not None:
            deadline = min(deadline, self.login_deadline)
        if self.partial_since is not None and settings.body_timeout > 0:
            deadline = min(deadline, self.partial_since + settings.body_timeout)
        if self.state is LinkState.BOUND and settings.enquire_interval > 0 and not self.link_test_out:
            deadline = min(deadline, self.last_received + settings.enquire_interval)
        return deadline

    # -- binds ------------------------------------------------------------------------------------

    def binding(self) -> None:
        """Our bind request is going out (sent with `request`)."""
        self.state = LinkState.BINDING

    def bound(self) -> None:
        """The bind succeeded (ours was accepted, or we accepted the peer's with `accept_bind`)."""
        self.state = LinkState.BOUND
        self.login_deadline = None

    def accept_bind(self, answer: bytes) -> None:
        """Answer the peer's bind with `answer` and read on, bound."""
        self.send(answer)
        self.bound()
        self._halted = False

    def refuse_bind(self, answer: bytes | None) -> None:
        """Answer the peer's bind (if `answer`) and close; whatever came behind the bind stays unread."""
        if answer is not None:
            self.send(answer)
        self.close()

    def hold_bind(self) -> None:
        """The answer to the peer's bind waits (a login delay): nothing is read meanwhile, and the
        login timeout no longer runs, since the peer did bind in time."""
        self.login_deadline = None
        self._halted = True

    # -- reading ----------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        self.last_received = now
        self._received = len(data)
        self._reader.receive_data(data)

    def pause_reading(self) -> None:
        """The driver stopped reading (its owner is behind): a PDU half read is not the peer's fault."""
        self._reading_paused = True

    def resume_reading(self, now: float) -> None:
        self._reading_paused = False
        if self.partial_since is not None:  # the peer could not send while we were not reading
            self.partial_since = now

    def resume_after_bind(self, now: float) -> None:
        """Reading goes on after a held bind's answer: the peer could not send meanwhile."""
        self._halted = False
        if self.partial_since is not None:
            self.partial_since = now

    def next_event(self) -> Event | None:
        """The next thing the driver must act on; None when more bytes are needed (or none are read)."""
        events = self._events
        if events:
            return events.popleft()
        reader = self._reader
        while not self._halted:
            try:
                pdu = reader.next_pdu()
            except ProtocolError as error:
                return self.protocol_error(error) or Malformed(error)
            if pdu is None:
                # When a frame was begun and not finished: octets held fewer than just arrived mean a
                # frame ended in them, so what is left began now.
                buffered = reader.buffered
                if not buffered:
                    self.partial_since = None
                elif buffered < self._received or self.partial_since is None:
                    self.partial_since = self.last_received
                return None
            kind = self._classify(pdu)
            if kind is PduKind.RESPONSE:
                return self._response(pdu)
            if kind is PduKind.LINK_TEST:
                self.send(self._encode(self._pdus.link_test_response(pdu)))
                return _LINK_TESTED
            if kind is PduKind.UNBIND:
                return self._unbound_by_peer(pdu)
            return Request(kind, pdu)
        return None

    def protocol_error(self, error: ProtocolError) -> Close | None:
        """Answer a PDU that could not be read (or handled); a Close when the byte stream is lost."""
        framing = self.framing
        answer = framing.error_response(error)
        if answer is not None:
            self.send(self._encode(answer))
        if not framing.framing_lost(error):
            return None
        self.close()
        return Close(CloseCause.FRAMING_LOST, f"framing lost: {error}", abort=False)

    def _response(self, pdu: P) -> Event:
        entry = self.pending.pop(self._key(pdu), None)
        if entry is None:
            return LateResponse(pdu)
        if entry.windowed:  # release_slot, inline: this is every submit's (or deliver's) answer
            window = self.window
            window.release()
            if self._unbind_answer is not None and window.used <= 0:
                close = self._answer_unbind()
                if close is not None:  # the last answer a waiting unbind was waiting for
                    self._events.append(close)
        elif entry.kind is RequestKind.LINK_TEST:
            self.link_test_out = False
        return Response(pdu, entry)

    def _unbound_by_peer(self, pdu: P) -> Event:
        answer = self._encode(self._pdus.unbind_response(pdu))
        wait = self.settings.unbind_wait
        if self.state is not LinkState.BOUND or wait <= 0 or self.in_flight == 0:
            self.send(answer)
            self.close()
            return Close(CloseCause.UNBOUND, "unbound by peer", abort=False)
        self.state = LinkState.CLOSING
        self._unbind_answer = answer
        self._unbind_deadline = self.last_received + wait
        return _UNBINDING

    def _answer_unbind(self) -> Close | None:
        answer, self._unbind_answer = self._unbind_answer, None
        self._unbind_deadline = math.inf
        if answer is None or self.state is LinkState.CLOSED:
            return None
        self.send(answer)
        self.close()
        return Close(CloseCause.UNBOUND, "unbound by peer", abort=False)

    # -- writing ----------------------------------------------------------------------------------

    def send(self, frame: bytes) -> None:
        """Queue a frame (an answer, or a request made by `request`)."""
        out = self._out
        out.append(frame)
        if len(out) == 1 and self._on_output is not None:
            self._on_output()

    def data_to_send(self) -> bytes:
        """Everything queued since the last call, as one write."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def request(
        self,
        key: Hashable,
        frame: bytes,
        kind: RequestKind,
        token: Any,
        now: float,
        tries: int = 1,
        windowed: bool = False,
    ) -> Pending:
        """Send a request; a windowed one must hold a slot (`window.try_acquire`)."""
        entry = Pending(key, kind, token, frame, now + self.settings.response_timeout, tries, windowed)
        self.pending[key] = entry
        self.send(frame)
        return entry

    def send_link_test(self, now: float) -> bool:
        """Send a link test now; False for a protocol without one."""
        pdu = self._pdus.link_test(self.next_sequence())
        if pdu is None:
            return False
        self.request(self._key(pdu), self._encode(pdu), RequestKind.LINK_TEST, None, now)
        self.link_test_out = True
        return True

    def release_slot(self) -> Close | None:
        """A windowed request was answered or given up. Once none is left, a waiting unbind is
        answered: then the Close to act on."""
        window = self.window
        window.release()
        if self._unbind_answer is not None and window.used <= 0:
            return self._answer_unbind()
        return None

    # -- time -------------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Event]:
        """Resend or expire requests, send a link test when the line is idle, and close a link whose
        login, link test or PDU is overdue."""
        events: list[Event] = []
        if self.state is LinkState.CLOSED:
            return events
        settings = self.settings
        if self.login_deadline is not None and now >= self.login_deadline and self.state is LinkState.BINDING:
            self.login_deadline = None
            self.close()
            reason = f"no bind from the peer within {settings.login_timeout:g} s"
            return [Close(CloseCause.NO_BIND, reason, abort=True)]
        if (  # first: an adapter that cannot build its link test raises before anything else moved
            self.state is LinkState.BOUND
            and settings.enquire_interval > 0
            and not self.link_test_out
            and now - self.last_received >= settings.enquire_interval
        ):
            self.send_link_test(now)
        close = self._expire(now, events)
        if close is None and now >= self._unbind_deadline:
            close = self._answer_unbind()
        if close is None:
            close = self._stalled(now)
        if close is not None:
            events.append(close)
        return events

    def _stalled(self, now: float) -> Close | None:
        partial_since = self.partial_since
        body_timeout = self.settings.body_timeout
        if (
            partial_since is None
            or body_timeout <= 0
            or now - partial_since <= body_timeout
            or self._reading_paused
            or self._halted
            or self.login_deadline is not None  # the login timeout covers a peer yet to bind
        ):
            return None
        self.close()
        return Close(
            CloseCause.STALLED, f"a PDU begun {now - partial_since:.0f} s ago is still not whole", abort=True
        )

    def _expire(self, now: float, events: list[Event]) -> Close | None:
        pending = self.pending
        expired: list[Hashable] = []
        for key, entry in pending.items():
            if entry.deadline > now:
                break
            expired.append(key)
        for key in expired:
            entry = pending.pop(key)
            if entry.tries_left > 1:
                entry.tries_left -= 1
                entry.deadline = now + self.settings.response_timeout
                pending[key] = entry  # re-inserted last, keeping the order
                self.send(entry.frame)
                continue
            if entry.kind is RequestKind.LINK_TEST:
                self.close()
                return Close(CloseCause.LINK_TEST_MISSED, f"no answer to {self.link_test_name}", abort=True)
            events.append(Expired(entry))
            if entry.windowed:
                close = self.release_slot()
                if close is not None:
                    return close
        return None
