"""Whether this node can reach what it needs (`/healthz`) and whether it should get traffic (`/readyz`).

A node is healthy when it reaches its database and, scaled out, its Redis. It is ready once it has
started and until it is told to stop, and while it is healthy: a load balancer then sends traffic only
to nodes that can take it, and none to one that is stopping.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsplatform.cluster.shared import SharedState
from smsplatform.store.database import Database


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


class NodeHealth:
    """The node's state, set by the composition root, and checks of what it reaches."""

    def __init__(self, db: Database, shared: SharedState | None) -> None:
        self._db = db
        self._shared = shared
        self.started = False
        self.stopping = False

    async def check(self) -> HealthReport:
        try:
            await self._db.read(_select_one)
            database = True
        except Exception:
            database = False
        redis = None if self._shared is None else await self._shared.ping()
        return HealthReport(database, redis, self.started, self.stopping)


def _select_one(conn: sa.Connection) -> None:
    conn.execute(sa.text("SELECT 1"))


def health_app(health: NodeHealth) -> Starlette:
    """/healthz (200 when the node reaches its database and Redis, else 503) and /readyz (200 when it
    should get traffic), each with what it found as JSON."""

    async def healthz(_: Request) -> Response:
        report = await health.check()
        return JSONResponse(_body(report), status_code=200 if report.healthy else 503)

    async def readyz(_: Request) -> Response:
        report = await health.check()
        return JSONResponse(_body(report), status_code=200 if report.ready else 503)

    return Starlette(
        routes=[Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
    )


def _body(report: HealthReport) -> dict[str, object]:
    return {
        "database": "ok" if report.database else "unreachable",
        "redis": "off" if report.redis is None else "ok" if report.redis else "unreachable",
        "started": report.started,
        "stopping": report.stopping,
    }
