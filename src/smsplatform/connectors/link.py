"""A configured upstream link: keeps its sessions bound and offers submit() to dispatch."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from smsplatform.connectors.adapter import Delivery, ProtocolAdapter, SessionRole
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.meter import RateMeter
from smsplatform.connectors.model import (
    ConnectorStats,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    SubmitResult,
)
from smsplatform.connectors.ratelimit import RateBudget, TokenBucket
from smsplatform.connectors.session import LinkCounters, Session, SessionSettings, WireLog
from smsplatform.connectors.trouble import TroubleLog, describe_connect_error
from smsplatform.protocols.admission import ListenerLimits, SourceAdmission

log = logging.getLogger(__name__)

ReportHandler = Callable[[DeliveryReport], Awaitable[None] | None]
InboundHandler = Callable[[InboundSms], Awaitable[None] | None]

CONNECTING = "connecting"
BOUND = "bound"
BACKOFF = "backoff"
STOPPING = "stopping"
STOPPED = "stopped"

# What `since` measures: connecting and backoff alternate while a link retries, and the operator wants
# to know since when it is down, not when its latest retry began.
_CONDITION = {CONNECTING: "down", BACKOFF: "down"}


def backoff_delay(failures: int, initial: float, cap: float) -> float:
    """Exponential backoff with jitter: spread reconnects so a restarted SMSC is not stormed."""
    return min(cap, initial * 2.0 ** max(0, failures)) * random.uniform(0.5, 1.0)


class Connector:
    """One link to an SMSC: one transceiver session, or a transmitter and a receiver.

    start() binds in the background and rebinds forever (with backoff) until stop(). submit() may
    be called from many tasks at once; the window of each session and the link's rate cap gate
    them. Reports and MO go to on_report / on_inbound; a handler may return an awaitable, and the
    SMSC gets its acknowledgement only after the handler (and that awaitable) finished, so whatever
    was not stored is delivered again.

    A protocol whose SMSC connects back (SGIP) gets a listener; `listener_limits` (the process's
    defaults, which the adapter may override from the link's options) are its login timeout,
    connections per source address and failed-login delay. Set it before start().

    Scaled out, `share_rate` makes the link draw its submits-per-second from the connector's budget
    for the whole platform instead of pacing at `config.tps` alone.
    """

    def __init__(
        self,
        config: ConnectorConfig,
        adapter: ProtocolAdapter[Any],
        *,
        listener_limits: ListenerLimits | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self.adapter = adapter
        self.on_report: ReportHandler | None = None
        self.on_inbound: InboundHandler | None = None
        self.settings = SessionSettings(
            window=config.window,
            response_timeout=config.response_timeout or adapter.default_response_timeout,
            response_tries=config.response_tries or adapter.default_response_tries,
            enquire_interval=config.enquire_interval or adapter.default_enquire_interval,
            unbind_wait=config.unbind_wait,
        )
        self._counters = LinkCounters()
        self._bucket = TokenBucket(config.tps) if config.tps else None
        self._roles = adapter.session_roles()
        self._submit_role = next((role for role in self._roles if role.submits), None)
        self._bound: dict[SessionRole, Session[Any]] = {}
        self._current: dict[SessionRole, Session[Any]] = {}
        self._role_state: dict[SessionRole, str] = dict.fromkeys(self._roles, STOPPED)
        self._accepted: set[Session[Any]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._server: asyncio.Server | None = None
        self.listener_limits = listener_limits or ListenerLimits()
        self._admission: SourceAdmission | None = None
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._submit_ready = asyncio.Event()
        self._all_bound = asyncio.Event()
        self._binds = 0
        self._last_error = ""
        self._last_error_at: float | None = None
        self._state = STOPPED
        self._since = time.time()
        self._rate = RateMeter()
        self._trouble = TroubleLog(log, self.name)

    def share_rate(self, budget: RateBudget) -> None:
        """Pace submits by `budget`, shared with the connector's links on other nodes (before start())."""
        if self.config.tps:
            self._bucket = TokenBucket(self.config.tps, budget=budget)

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin connecting in the background (returns at once; see wait_bound)."""
        if self._tasks:
            return
        self._stopping = False
        self._stop_event.clear()
        self._refresh_ready()
        for role in self._roles:
            self._set_role_state(role, CONNECTING)
            self._tasks.append(asyncio.create_task(self._keep_bound(role), name=f"{self.name}:{role}"))
        address = self.adapter.listen_address()
        if address is not None:
            self._admission = SourceAdmission(self.adapter.listener_limits(self.listener_limits))
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(
                self._accept, address[0], address[1], reuse_port=self.config.shared_listener or None
            )

    async def stop(self) -> None:
        """Unbind gracefully: in-flight submits get their responses up to config.stop_timeout."""
        self._stopping = True
        self._update_state()
        self._stop_event.set()
        self._submit_ready.set()  # wakes submitters waiting for a bind; they see _stopping
        if self._server is not None:
            self._server.close()
        sessions = [*self._current.values(), *self._accepted]
        await asyncio.gather(*(s.close_gracefully(self.config.stop_timeout) for s in sessions))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        self._current.clear()
        self._bound.clear()
        self._accepted.clear()
        self._role_state = dict.fromkeys(self._roles, STOPPED)
        self._update_state()
        self._refresh_ready()

    @property
    def listen_port(self) -> int | None:
        """The port accepting the SMSC's own connections, when the protocol has them."""
        if self._server is None or not self._server.sockets:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def wait_bound(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - a plain bound wait
        """Wait until every session of the link is bound; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._all_bound.wait()
        except TimeoutError:
            return False
        return True

    # -- traffic ------------------------------------------------------------------------------------

    async def submit(self, sms: OutboundSms, wire_log: WireLog | None = None) -> SubmitResult:
        """Send one message (all its segments); never raises for link trouble, returns a result.

        `wire_log` hears of each segment as it goes on the wire and as it is answered.
        """
        deadline: float | None = None
        while True:
            if self._stopping:
                return _not_sent(sms, "stopped")
            role = self._submit_role
            session = self._bound.get(role) if role is not None else None
            if session is not None and not session.is_bound and role is not None:
                # The session ended but its _serve task has not run yet to take it out: without this,
                # submitters would spin on it and never let that task run.
                self._bound.pop(role, None)
                self._refresh_ready()
                session = None
            if session is None:
                loop = asyncio.get_running_loop()
                if deadline is None:
                    deadline = loop.time() + self.config.bind_wait
                try:
                    async with asyncio.timeout_at(deadline):
                        await self._submit_ready.wait()
                except TimeoutError:
                    return _not_sent(sms, "not bound")
                continue
            result = await session.submit(sms, self._bucket, wire_log)
            if result is not None:
                return result
            # The session ended before a segment left: wait for the next one (within bind_wait).

    @property
    def state(self) -> str:
        """The link's state as `stats().state` gives it, without building the snapshot."""
        return self._state

    def stats(self) -> ConnectorStats:
        counters = self._counters
        return ConnectorStats(
            name=self.name,
            state=self._state,
            in_flight=sum(session.in_flight for session in self._bound.values()),
            sent=counters.sent,
            errors=counters.errors,
            received_reports=counters.received_reports,
            received_mo=counters.received_mo,
            timeouts=counters.timeouts,
            late_responses=counters.late_responses,
            reconnects=max(0, self._binds - len(self._roles)),
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            since=self._since,
            binds=len(self._bound) + sum(1 for session in self._accepted if session.is_bound),
            window=self.settings.window,
            submit_rate=self._rate.rate(counters.sent),
        )

    def _set_role_state(self, role: SessionRole, state: str) -> None:
        self._role_state[role] = state
        self._update_state()

    def _update_state(self) -> None:
        """Recompute the link's state from its sessions'; a change of condition moves `since`."""
        states = set(self._role_state.values())
        if self._stopping and STOPPED not in states:
            state = STOPPING
        elif states == {BOUND}:
            state = BOUND
        elif STOPPED in states:
            state = STOPPED
        elif BACKOFF in states:
            state = BACKOFF
        else:
            state = CONNECTING
        if _CONDITION.get(state, state) != _CONDITION.get(self._state, self._state):
            self._since = time.time()
        self._state = state

    def _failed(self, reason: str, what: str) -> None:
        """Remember why the link is not bound, and tell the log (rate-limited)."""
        self._last_error = reason
        self._last_error_at = time.time()
        self._trouble.failed(what)

    # -- sessions -----------------------------------------------------------------------------------

    def _new_session(self, *, accepted: bool) -> Session[Any]:
        return Session(
            self.adapter,
            self.settings,
            self._counters,
            self._deliver,
            accepted=accepted,
            name=self.name,
            admission=self._admission if accepted else None,
        )

    async def _keep_bound(self, role: SessionRole) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        failures = 0
        while not self._stopping:
            self._set_role_state(role, CONNECTING)
            session = self._new_session(accepted=False)
            self._current[role] = session

            def factory(this: Session[Any] = session) -> Session[Any]:
                return this

            try:
                try:
                    async with asyncio.timeout(config.connect_timeout):
                        await loop.create_connection(factory, config.host, config.port)
                except OSError as error:  # TimeoutError included
                    reason = f"connect {config.host}:{config.port}: "
                    reason += describe_connect_error(error, config.connect_timeout)
                    session.abort(reason)
                    if not self._stopping:
                        self._failed(reason, f"cannot bind as {role}: {reason}")
                    failures += 1
                else:
                    result = await session.bind(role)
                    if result.ok:
                        failures = 0
                        await self._serve(role, session)
                    else:
                        session.abort(result.error)
                        if not self._stopping:
                            self._failed(result.error, f"cannot bind as {role}: {result.error}")
                        failures += 1
            except Exception as error:  # a bug must not end the link for good: report it and retry
                log.exception("%s: session failed", self.name)
                self._last_error = f"error: {error!r}"
                self._last_error_at = time.time()
                session.abort(self._last_error)
                failures += 1
            self._current.pop(role, None)
            if self._stopping:
                break
            self._set_role_state(role, BACKOFF)
            delay = backoff_delay(failures, config.reconnect_initial, config.reconnect_max)
            try:
                async with asyncio.timeout(delay):
                    await self._stop_event.wait()
            except TimeoutError:
                pass

    async def _serve(self, role: SessionRole, session: Session[Any]) -> None:
        """Keep `session` as the link's `role` until it ends."""
        self._binds += 1
        self._bound[role] = session
        self._set_role_state(role, BOUND)
        self._refresh_ready()
        self._trouble.bound(role, session.peer)
        try:
            await asyncio.shield(session.closed)
        finally:
            self._bound.pop(role, None)
            if not self._stopping:
                self._set_role_state(role, CONNECTING)
                reason = session.close_reason or "closed"
                self._failed(reason, f"{role} session ended: {reason}")
            self._refresh_ready()

    def _accept(self) -> Session[Any]:
        """A session for a connection the SMSC opened to us."""
        session = self._new_session(accepted=True)
        self._accepted.add(session)
        session.closed.add_done_callback(lambda _: self._accepted.discard(session))
        return session

    def _refresh_ready(self) -> None:
        if self._submit_role is not None and self._submit_role in self._bound:
            self._submit_ready.set()
        elif not self._stopping:
            self._submit_ready.clear()
        if self._roles and all(role in self._bound for role in self._roles):
            self._all_bound.set()
        else:
            self._all_bound.clear()

    def _deliver(self, delivery: Delivery) -> Awaitable[None] | None:
        pending: list[Awaitable[None]] = []
        if delivery.report is not None:
            self._counters.received_reports += 1
            if self.on_report is not None:
                result = self.on_report(delivery.report)
                if result is not None:
                    pending.append(result)
        if delivery.inbound is not None:
            self._counters.received_mo += 1
            if self.on_inbound is not None:
                result = self.on_inbound(delivery.inbound)
                if result is not None:
                    pending.append(result)
        if not pending:
            return None
        return pending[0] if len(pending) == 1 else _all(pending)


async def _all(pending: list[Awaitable[None]]) -> None:
    for awaitable in pending:
        await awaitable


def _not_sent(sms: OutboundSms, error: str) -> SubmitResult:
    return SubmitResult(sms.key, False, (), True, error, False)
