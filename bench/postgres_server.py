"""A PostgreSQL server of the benchmark's own, configured as a production deployment would be.

The machine's shared server may run with autovacuum off (a test box), which makes the outbox slow
down as it fills: a benchmark of the platform on PostgreSQL must not measure that. This one is
initialised in a temporary directory, listens on a free loopback port, and is removed afterwards.

Settings (see `SETTINGS`): autovacuum and fsync on, synchronous commits, shared_buffers a quarter of
the machine's memory (at most 8 GB), effective_cache_size half of it, max_wal_size large enough that
a run of the benchmark does not force checkpoints, and pg_stat_statements loaded, so that where the
time goes can be read per statement.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

BIN = Path("/usr/lib/postgresql/15/bin")
SERVICE_USER = "postgres"  # PostgreSQL refuses to run as root


def memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 4096


def production_settings() -> dict[str, str]:
    memory = memory_mb()
    return {
        "autovacuum": "on",
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "shared_buffers": f"{min(memory // 4, 8192)}MB",
        "effective_cache_size": f"{memory // 2}MB",
        "maintenance_work_mem": "256MB",
        "max_wal_size": "8GB",
        "checkpoint_completion_target": "0.9",
        "max_connections": "200",
        "shared_preload_libraries": "'pg_stat_statements'",
        "pg_stat_statements.track": "all",
        "track_io_timing": "on",
    }


def _as_service_user(*command: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVICE_USER, "--", *command]
    return list(command)


@dataclass
class PostgresServer:
    port: int
    settings: dict[str, str] = field(default_factory=production_settings)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="smsbench-pg-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, SERVICE_USER, SERVICE_USER)
        subprocess.run(
            _as_service_user(
                str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth", "trust", "-E", "UTF8"
            ),
            check=True,
            capture_output=True,
        )
        settings = {
            **self.settings,
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.directory}'",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self.process = subprocess.Popen(
            _as_service_user(str(BIN / "postgres"), "-D", str(self.data)),
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "server.log").open("wb"),
        )
        deadline = time.monotonic() + 30
        while subprocess.run(
            [str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
        ).returncode:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"PostgreSQL did not start: {(self.directory / 'server.log').read_text()}")
            time.sleep(0.1)
        self.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def execute(self, sql: str, database: str = "postgres") -> list[Any]:
        engine = sa.create_engine(
            self.url(database).replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                result = conn.exec_driver_sql(sql)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()

    def create_database(self, name: str) -> str:
        self.execute(f'CREATE DATABASE "{name}"')
        self.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", database=name)
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # A fast shutdown: open connections are closed, the data written is kept.
            subprocess.run(
                _as_service_user(str(BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"),
                capture_output=True,
            )
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
