"""Whether this node can reach what it needs (`/healthz`) and whether it should get traffic (`/readyz`).

A node is healthy when it reaches its database and, scaled out, its Redis. It is ready once it has
started and until it is told to stop, and while it is healthy: a load balancer then sends traffic only
to nodes that can take it, and none to one that is stopping.

Probes come often (every load balancer, every few seconds, and benchmarks use `/healthz` as the bare
endpoint): what the node reaches is checked at most once a `max_age`, by one check at a time, and
every probe in between is answered from that. The started and stopping flags are always current.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsplatform.cluster.shared import SharedState
from smsplatform.store.database import Database

# Seconds a check of the database and Redis is reused for.
MAX_AGE = 1.0
# Seconds the database has to answer `SELECT 1` before it counts as unreachable (Redis has its own
# timeout, cluster/shared.py).
DATABASE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class HealthReport:
    database: bool
    redis: bool | None  # None: this node uses no Redis
    started: bool
    stopping: bool

    @property
    def healthy(self) -> bool:
        return self.database and self.redis is not False

    @property
    def ready(self) -> bool:
        return self.healthy and self.started and not self.stopping

    def as_dict(self) -> dict[str, object]:
        """What the probes answer besides their status code."""
        return {
            "database": "ok" if self.database else "unreachable",
            "redis": "off" if self.redis is None else "ok" if self.redis else "unreachable",
            "started": self.started,
            "stopping": self.stopping,
        }


@dataclass(frozen=True, slots=True)
class _Reach:
    database: bool
    redis: bool | None
    at: float


class NodeHealth:
    """The node's state, set by the composition root, and checks of what it reaches."""

    def __init__(
        self,
        db: Database,
        shared: SharedState | None,
        *,
        max_age: float = MAX_AGE,
        database_timeout: float = DATABASE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._shared = shared
        self._max_age = max_age
        self._database_timeout = database_timeout
        self._clock = clock
        self._reach: _Reach | None = None
        self._checking: asyncio.Task[_Reach] | None = None
        # A database check that outlived its timeout still holds a reader thread: no second one starts
        # beside it (a hung database would otherwise take every reader, one probe at a time).
        self._database_probe: asyncio.Future[None] | None = None
        self.started = False
        self.stopping = False
        self.checks = 0  # checks run (not probes answered): for tests and figures

    async def check(self) -> HealthReport:
        """What the node reaches (checked within the last `max_age` seconds) and its flags now."""
        reach = self._reach
        if reach is None or self._clock() - reach.at >= self._max_age:
            if self._checking is None:
                self._checking = asyncio.ensure_future(self._check_now())
                self._checking.add_done_callback(self._checked)
            # Shielded: a probe whose client went away does not cancel the check the others wait for.
            reach = await asyncio.shield(self._checking)
        return HealthReport(reach.database, reach.redis, self.started, self.stopping)

    def _checked(self, task: asyncio.Task[_Reach]) -> None:
        self._checking = None
        if not task.cancelled() and task.exception() is None:
            self._reach = task.result()

    async def _check_now(self) -> _Reach:
        self.checks += 1
        database, redis = await asyncio.gather(self._database_answers(), self._redis_answers())
        return _Reach(database, redis, self._clock())

    async def _database_answers(self) -> bool:
        probe = self._database_probe
        if probe is None or probe.done():
            probe = self._database_probe = asyncio.ensure_future(self._db.read(_select_one))
            probe.add_done_callback(_retrieved)  # one that outlived its timeout is seen by no one else
        try:
            await asyncio.wait_for(asyncio.shield(probe), self._database_timeout)
        except Exception:
            return False
        return True

    async def _redis_answers(self) -> bool | None:
        return None if self._shared is None else await self._shared.ping()


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _select_one(conn: sa.Connection) -> None:
    conn.execute(sa.text("SELECT 1"))


def health_routes(health: NodeHealth) -> list[Route]:
    """/healthz (200 when the node reaches its database and Redis, else 503) and /readyz (200 when it
    should get traffic, else 503), each with what it found as JSON: for the listeners of nodes without
    the customer API, and the console's."""

    async def healthz(_: Request) -> Response:
        report = await health.check()
        return JSONResponse(report.as_dict(), status_code=200 if report.healthy else 503)

    async def readyz(_: Request) -> Response:
        report = await health.check()
        return JSONResponse(report.as_dict(), status_code=200 if report.ready else 503)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


def health_app(health: NodeHealth) -> Starlette:
    """The listener of a node without the customer API (`health_port`): the two probes alone."""
    return Starlette(routes=health_routes(health))
