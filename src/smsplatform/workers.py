"""Dispatch in processes of its own: one Python interpreter runs on one core at a time.

`serve` keeps the API, the callbacks and the built-in simulators, and starts `dispatch_workers`
processes that each run the dispatch role: claiming, submitting over links of their own, storing
results, receipts and replies. They share the database (on SQLite, writers take turns; see
store/database.py) and meet only there: leases keep their claims apart, and a receipt finds its
message whichever process submitted it.

Each worker's stdin is a pipe from `serve`: a byte on it means messages were accepted (claim now rather
than at the next poll); its end means `serve` is gone, and the worker stops gracefully, finishing what
it has in flight and giving back the rest. One pipe the other way carries the workers' "callbacks are
due" to `serve`'s callback worker. On PostgreSQL both wake-ups go through the database instead
(store/wakeups.py: each worker listens for accepted messages itself, and notifies due callbacks in the
transaction that makes them due), as they must for the nodes of other machines; the pipes then only
tell a worker that `serve` is gone. A worker that exits while `serve` runs is started again, after a
growing delay; one that exits once `serve` is stopping stopped with it (a service manager signals the
whole process group), and is neither logged as a crash nor started again.

The worker process itself runs workers_main.py, which wires the dispatch role as app.py does.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smsplatform.config import Settings, as_environ
from smsplatform.connectors.config import BindMode, ConnectorConfig
from smsplatform.telemetry import WorkerMetrics

log = logging.getLogger(__name__)

SPEC_VARIABLE = "SMSPLATFORM_WORKER_SPEC"
STOP_TIMEOUT = 30.0  # seconds a worker gets to finish its in-flight work before it is killed
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
STEADY_SECONDS = 60.0  # a worker that ran this long before it died is restarted at the first delay
_WAKE = b"w"
# Ctrl-C in a terminal reaches the whole process group. serve stops its workers itself (their pipes
# end), and a worker that quit on its own meanwhile would be taken for one that died: a worker ignores
# SIGINT from its first line on. Its command line contains `smsplatform.workers` (`pgrep -f` finds them).
WORKER_ENTRY = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "from smsplatform.workers_main import main; main()"
)


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs from `serve` beside the settings: who it is, and the built-in links."""

    index: int
    count: int
    callbacks_fd: int
    builtin: tuple[ConnectorConfig, ...] = ()
    builtin_carriers: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)
    default_route: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "index": self.index,
                "count": self.count,
                "callbacks_fd": self.callbacks_fd,
                "builtin": [{**dataclasses.asdict(c), "extra": dict(c.extra)} for c in self.builtin],
                "builtin_carriers": {name: list(c) for name, c in self.builtin_carriers.items()},
                "default_route": list(self.default_route),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        raw: dict[str, Any] = json.loads(text)
        return cls(
            index=int(raw["index"]),
            count=int(raw["count"]),
            callbacks_fd=int(raw["callbacks_fd"]),
            builtin=tuple(
                ConnectorConfig(**{**c, "bind_mode": BindMode(c["bind_mode"])}) for c in raw["builtin"]
            ),
            builtin_carriers={name: tuple(c) for name, c in raw["builtin_carriers"].items()},
            default_route=tuple(raw["default_route"]),
        )


class DispatchWorkers:
    """`serve`'s side: starts the workers, wakes them, restarts the ones that die, stops them."""

    def __init__(
        self,
        settings: Settings,
        *,
        count: int,
        builtin: Sequence[ConnectorConfig] = (),
        builtin_carriers: Mapping[str, Sequence[str]] | None = None,
        default_route: Sequence[str] = (),
        on_callbacks_due: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self.count = count
        self._builtin = tuple(builtin)
        self._builtin_carriers = dict(builtin_carriers or {})
        self._default_route = tuple(default_route)
        self._on_callbacks_due = on_callbacks_due
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._supervisors: list[asyncio.Task[None]] = []
        self._stopping = False
        self._due_pipe: tuple[int, int] | None = None
        self._wake_scheduled = False
        self._metrics: WorkerMetrics | None = None

    async def start(self) -> None:
        self._metrics = WorkerMetrics()  # the workers' figures, merged into this process's /metrics
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        self._due_pipe = (read_end, write_end)
        asyncio.get_running_loop().add_reader(read_end, self._callbacks_due)
        for index in range(self.count):
            started = asyncio.get_running_loop().create_future()
            self._supervisors.append(
                asyncio.create_task(self._keep_running(index, started), name=f"dispatch-{index}")
            )
            await started

    def stopping(self) -> None:
        """`serve` was asked to stop: from now on a worker's exit is part of the stop, not a crash. Safe to
        call from a signal handler: the workers may have had the same signal (a process group's SIGTERM),
        and their exits must not be taken for deaths before `stop` runs."""
        self._stopping = True

    def wake(self) -> None:
        """Messages were accepted: every worker claims now. One wake-up per event-loop turn, however
        many sends the turn accepted."""
        if not self._wake_scheduled:
            self._wake_scheduled = True
            asyncio.get_running_loop().call_soon(self._send_wakes)

    def _send_wakes(self) -> None:
        self._wake_scheduled = False
        for process in self._processes.values():
            stdin = process.stdin
            if stdin is None or stdin.is_closing():
                continue
            if stdin.transport.get_write_buffer_size() == 0:  # else one is on its way already
                stdin.write(_WAKE)

    async def stop(self) -> None:
        """Ask every worker to stop (end of its pipe), wait for them, kill what outlives STOP_TIMEOUT."""
        self._stopping = True
        for supervisor in self._supervisors:  # no restarts from here on; the processes stay listed
            supervisor.cancel()
        await asyncio.gather(*self._supervisors, return_exceptions=True)
        self._supervisors.clear()
        processes = list(self._processes.items())
        self._processes.clear()
        for _, process in processes:
            if process.stdin is not None:
                process.stdin.close()
        for index, process in processes:
            try:
                self._log_stopped(index, process.pid, await asyncio.wait_for(process.wait(), STOP_TIMEOUT))
            except TimeoutError:
                log.error("dispatch worker %d did not stop in %.0f s; killing it", process.pid, STOP_TIMEOUT)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
        if self._due_pipe is not None:
            asyncio.get_running_loop().remove_reader(self._due_pipe[0])
            for fd in self._due_pipe:
                os.close(fd)
            self._due_pipe = None

    async def _keep_running(self, index: int, started: asyncio.Future[None]) -> None:
        try:
            await self._supervise(index, started)
        finally:
            if not started.done():
                started.set_result(None)  # stopped before the worker could start: `start` goes on

    async def _supervise(self, index: int, started: asyncio.Future[None]) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not self._stopping:
            began = loop.time()
            try:
                process = await self._spawn(index)
            except OSError as error:
                log.error("could not start dispatch worker %d: %s", index, error)
            else:
                self._processes[index] = process
                if not started.done():
                    started.set_result(None)
                code = await process.wait()
                self._processes.pop(index, None)
                if self._metrics is not None:
                    self._metrics.process_gone(process.pid)
                if self._stopping:
                    self._log_stopped(index, process.pid, code)
                    return
                log.error("dispatch worker %d (pid %d) exited with %s", index, process.pid, code)
            if not started.done():
                started.set_result(None)  # serve runs on; the worker comes back when it can
            if loop.time() - began >= STEADY_SECONDS:
                failures = 0
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            failures += 1
            log.info("starting dispatch worker %d again in %.0f s", index, delay)
            await asyncio.sleep(delay)

    @staticmethod
    def _log_stopped(index: int, pid: int, code: int) -> None:
        # -SIGTERM: the stop's signal reached a worker still starting, before it handles the signal.
        if code in (0, -signal.SIGTERM):
            log.debug("dispatch worker %d (pid %d) stopped", index, pid)
        else:
            log.warning("dispatch worker %d (pid %d) stopped with status %s", index, pid, code)

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        assert self._due_pipe is not None and self._metrics is not None
        write_end = self._due_pipe[1]
        spec = WorkerSpec(
            index=index,
            count=self.count,
            callbacks_fd=write_end,
            builtin=self._builtin,
            builtin_carriers=self._builtin_carriers,
            default_route=self._default_route,
        )
        env = {k: v for k, v in os.environ.items() if k != "SMSPLATFORM_CONFIG"}
        env |= as_environ(
            dataclasses.replace(self._settings, role="dispatch", dispatch_workers=0, simulators=False)
        )
        env |= self._metrics.environ()
        env[SPEC_VARIABLE] = spec.to_json()
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER_ENTRY,
            stdin=asyncio.subprocess.PIPE,
            env=env,
            pass_fds=(write_end,),
        )

    def _callbacks_due(self) -> None:
        assert self._due_pipe is not None
        try:
            data = os.read(self._due_pipe[0], 4096)
        except BlockingIOError:
            return
        if data and self._on_callbacks_due is not None:
            self._on_callbacks_due()


class ServePipe:
    """A worker's side of its pipes: wake-ups and the end of `serve` in, "callbacks due" out."""

    def __init__(
        self, callbacks_fd: int, *, on_wake: Callable[[], None], on_gone: Callable[[], None]
    ) -> None:
        self._callbacks_fd = callbacks_fd
        self._on_wake = on_wake
        self._on_gone = on_gone
        self._stdin = sys.stdin.fileno()

    def start(self) -> None:
        os.set_blocking(self._stdin, False)
        os.set_blocking(self._callbacks_fd, False)
        asyncio.get_running_loop().add_reader(self._stdin, self._read)

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self._stdin)

    def callbacks_due(self) -> None:
        # A full pipe means serve has wake-ups pending already.
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._callbacks_fd, b"c")

    def _read(self) -> None:
        try:
            data = os.read(self._stdin, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._on_wake()
            return
        self.close()
        self._on_gone()
