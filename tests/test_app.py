"""The composition root: the database it opens, the app it builds, and `serve` as an operator runs it."""

from __future__ import annotations

import base64
import http.client
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa

from smsplatform.app import build_platform
from smsplatform.config import Settings
from smsplatform.datastore import open_database
from smsplatform.store import customers
from tests.waiting import wait_until


def test_open_database_makes_the_data_dir_and_migrates(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new" / "data")
    db = open_database(settings)
    try:
        assert (tmp_path / "new" / "data" / "smsplatform.db").exists()
        with db.engine.connect() as conn:
            assert "customers" in sa.inspect(conn).get_table_names()
    finally:
        db.close()


def test_open_database_uses_the_database_url_and_the_data_dir_only_for_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    db = open_database(Settings(data_dir=tmp_path / "keys", database_url=url))
    db.close()
    assert (tmp_path / "elsewhere.db").exists()
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["secret.key"]


def test_open_database_with_a_given_key_makes_no_data_dir(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    key = base64.b64encode(b"k" * 32).decode()
    db = open_database(Settings(data_dir=tmp_path / "unused", database_url=url, secret_key=key))
    db.close()
    assert not (tmp_path / "unused").exists()


async def test_build_platform_serves_the_customer_api(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, status_as_int=True)
    platform = build_platform(settings, db=open_database(settings))
    try:
        assert platform.api.settings is settings and platform.api.db is platform.db
        customer = await platform.db.write(customers.create_customer, "客户", 10)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=platform.app), base_url="http://t"
        ) as c:
            answer = await c.get("/sms/balance", params={"appkey": customer.appkey})
            health = await c.get("/healthz")
        assert answer.content == b'{"status":0,"msg":"ok","result":[]}'
        assert health.status_code == 200
    finally:
        platform.db.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.e2e
def test_serve_answers_raw_utf8_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SMSPLATFORM_LOG_LEVEL": "warning", "SMSPLATFORM_ADMIN_PORT": str(_free_port())}
    command = [
        sys.executable,
        "-m",
        "smsplatform.cli",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def listening() -> socket.socket | None:
        assert server.poll() is None, server.communicate()[1].decode()
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return None

    try:
        with wait_until(listening, 30, "serve to listen") as connection:
            # The port is taken before serve starts its parts: a connection made meanwhile waits for
            # its answer until serve is up.
            connection.settimeout(30)
            connection.sendall("GET /sms/balance?content=【进制数据】 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            response = http.client.HTTPResponse(connection)
            response.begin()
            assert response.status == 200
            assert orjson.loads(response.read())["status"] == "101"
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
        # A stop asked for is a success to a service manager: status 0, not death by the signal.
        assert server.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


@pytest.mark.e2e
def test_serve_refuses_a_forwarded_allow_ips_that_names_no_address(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SMSPLATFORM_FORWARDED_ALLOW_IPS": "127.0.0.1, proxy.example",
        "SMSPLATFORM_ADMIN_PORT": str(_free_port()),
    }
    command = [sys.executable, "-m", "smsplatform.cli", "serve", "--port", str(_free_port())]
    done = subprocess.run(
        [*command, "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: forwarded_allow_ips: not an address or network: 'proxy.example'"
    ]
    assert not (tmp_path / "data").exists()
