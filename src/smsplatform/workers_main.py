"""A dispatch worker process: `serve` starts it (workers.py) with the settings and its spec in the
environment, and it runs the dispatch role until SIGTERM or the end of its pipe from `serve`.

Its own module, beside app.py rather than inside workers.py: it wires the rooms as the composition root
does, and workers.py, which app.py uses, must not import app.py back.
"""

from __future__ import annotations

import asyncio
import os
import signal

import uvloop

from smsplatform.app import Services, open_shared, tune_gc
from smsplatform.config import Settings, load_settings
from smsplatform.datastore import open_database
from smsplatform.logs import configure_logging
from smsplatform.workers import SPEC_VARIABLE, ServePipe, WorkerSpec


def main() -> None:
    """The process's entry point (workers.WORKER_ENTRY)."""
    spec = WorkerSpec.from_json(os.environ[SPEC_VARIABLE])
    settings = load_settings()
    configure_logging(settings, process=f"dispatch-{spec.index}")
    run_dispatch_worker(settings, spec)


def run_dispatch_worker(settings: Settings, spec: WorkerSpec) -> None:
    uvloop.run(_run_worker(settings, spec))


async def _run_worker(settings: Settings, spec: WorkerSpec) -> None:
    db = open_database(settings)
    shared = open_shared(settings, db)
    services = Services(settings, db, shared=shared, worker_spec=spec)
    stop = asyncio.Event()
    pipe = ServePipe(spec.callbacks_fd, on_wake=services.dispatch_wake.set, on_gone=stop.set)
    services.on_callbacks_due = pipe.callbacks_due
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)  # SIGINT is ignored: see workers.WORKER_ENTRY
    pipe.start()
    await services.start()
    tune_gc()
    try:
        await stop.wait()
    finally:
        pipe.close()
        await services.stop()
        if shared is not None:
            await shared.close()
        db.close()
