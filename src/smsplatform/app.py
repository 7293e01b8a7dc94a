"""The composition root: builds the rooms from the settings and wires them together."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from smsplatform.api.app import CustomerApi, create_app
from smsplatform.api.context import ApiContext
from smsplatform.api.http import RawUtf8HttpToolsProtocol
from smsplatform.config import Settings
from smsplatform.store.catalog import Catalog
from smsplatform.store.database import Database

log = logging.getLogger("smsplatform")


@dataclass
class Platform:
    settings: Settings
    db: Database
    api: ApiContext
    app: CustomerApi


def open_database(settings: Settings) -> Database:
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database.open(settings.effective_database_url)


def build_platform(settings: Settings, db: Database | None = None) -> Platform:
    db = db or open_database(settings)
    ctx = ApiContext(settings=settings, db=db, catalog=Catalog(db, settings.config_poll_seconds))
    app = create_app(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            db.close()

    app.other.router.lifespan_context = lifespan
    return Platform(settings=settings, db=db, api=ctx, app=app)


def serve(settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT, then finishes the requests in progress and closes the database."""
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    platform = build_platform(settings)
    # Long-lived configuration objects need no collecting; fewer, later collections keep pauses out of
    # request latency.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    where = (
        settings.database_url.split("@")[-1] if settings.database_url else str(settings.data_dir.resolve())
    )
    log.info("smsplatform serving on http://%s:%d (data: %s)", settings.host, settings.port, where)
    config = uvicorn.Config(
        platform.app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=RawUtf8HttpToolsProtocol,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
