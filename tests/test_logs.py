"""Logs an operator can use: the `log_format` setting, and no line per request from the libraries.

The end-to-end test reads what a real `serve` (with a dispatch worker and a callback receiver) wrote:
with `log_format = "json"`, every line is one JSON object.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from smsplatform.config import Settings
from smsplatform.logs import configure_logging
from tests.e2e.receiver import Receiver, receiver
from tests.e2e.support import Platform, platform_env, running, wait_for
from tests.e2e.test_delivery import SIGNATURE, _onboard


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, before in quiet.items():
            logging.getLogger(name).setLevel(before)
        logging.captureWarnings(False)


def test_json_lines_carry_time_level_logger_message_and_the_exception(root_logging: None) -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="info"), process="dispatch-1", stream=out)
    log = logging.getLogger("smsplatform.test")
    log.info("link %s bound", "sim-cmpp")
    log.debug("not at info")
    try:
        raise RuntimeError("the receiver said 500\nand more")
    except RuntimeError:
        log.exception("callback failed")

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "smsplatform.test"
    assert first["message"] == "link sim-cmpp bound" and first["process"] == "dispatch-1"
    assert first["time"][:2] == "20" and first["time"][10] == "T"
    assert "exception" not in first
    assert second["level"] == "ERROR" and second["message"] == "callback failed"
    assert "RuntimeError: the receiver said 500\nand more" in second["exception"]
    assert "Traceback" in second["exception"]


def test_text_lines_name_the_process_and_logger(root_logging: None) -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="text", log_level="warning"), process="dispatch-0", stream=out)
    logging.getLogger("smsplatform.x").warning("link down")
    logging.getLogger("smsplatform.x").info("quiet")
    (line,) = out.getvalue().splitlines()
    assert line.endswith(" WARNING dispatch-0 smsplatform.x: link down")


def test_httpx_request_lines_are_held_back(root_logging: None) -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="debug"), stream=out)
    logging.getLogger("httpx").info('HTTP Request: POST http://receiver/status "HTTP/1.1 500"')
    logging.getLogger("httpcore.connection").debug("connect_tcp.started")
    logging.getLogger("httpx").warning("something httpx wants said")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /sms/send HTTP/1.1" 200')
    messages = [json.loads(line)["message"] for line in out.getvalue().splitlines()]
    assert messages == ["something httpx wants said"]


@pytest.fixture
def callback_receiver() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


@pytest.mark.e2e
def test_serve_writes_json_lines_only(tmp_path: Path, callback_receiver: Receiver) -> None:
    env = platform_env(dispatch_workers="1", log_format="json", log_level="info")
    platform = Platform(data_dir=tmp_path, env=env)
    with running(platform):
        appkey, _ = _onboard(platform, callback_receiver)
        content = f"{SIGNATURE}您的验证码是4321，5分钟内有效"
        for mobile in ("13800000001", "13800000002"):
            assert platform.api("send", appkey=appkey, mobile=mobile, content=content)["status"] == "0"
        wait_for(lambda: len(callback_receiver.items("/status")) == 2, 30, "the status reports")
    assert platform.log_path is not None
    lines = [line for line in platform.log_path.read_text().splitlines() if line.strip()]
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    assert entries and all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert any(entry.get("process") == "dispatch-0" for entry in entries), "the worker's lines"
    assert any("customer API listening on" in entry["message"] for entry in entries)
    assert entries[-1]["message"] == "smsplatform stopped"
    # Callbacks were posted (httpx), requests answered (uvicorn): neither logs a line per request.
    assert not [entry for entry in entries if entry["logger"].split(".")[0] in ("httpx", "httpcore")]
    assert not [entry for entry in entries if entry["logger"] == "uvicorn.access"]
