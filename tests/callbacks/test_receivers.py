"""The operator's log of failing receivers: one line when one starts failing, at most one a minute while
it goes on, one when it recovers."""

from __future__ import annotations

import logging

import pytest

from smsplatform.callbacks.receivers import ReceiverLog, host_of
from tests.callbacks.support import Clock

LOGGER = "smsplatform.callbacks.receivers"


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    found = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]
    caplog.clear()
    return found


def test_a_failing_host_is_logged_at_most_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = Clock()
    receivers = ReceiverLog(clock=clock)
    receivers.failed("hooks.example.com", "HTTP 500")
    assert lines(caplog) == [(logging.WARNING, "callback receiver hooks.example.com is failing: HTTP 500")]
    for _ in range(1000):
        receivers.failed("hooks.example.com", "HTTP 500")
    clock.now += 59
    receivers.failed("hooks.example.com", "HTTP 503")
    assert lines(caplog) == []
    clock.now += 1
    receivers.failed("hooks.example.com", "connection refused")
    assert lines(caplog) == [
        (
            logging.WARNING,
            "callback receiver hooks.example.com still failing: connection refused"
            " (1002 failed posts in 60 s; failing for 60 s)",
        )
    ]
    assert receivers.failing == {"hooks.example.com": "connection refused"}
    clock.now += 5
    receivers.succeeded("hooks.example.com")
    receivers.succeeded("hooks.example.com")
    assert lines(caplog) == [
        (
            logging.INFO,
            "callback receiver hooks.example.com answers again, after 1003 failed posts over 65 s"
            " (last: connection refused)",
        )
    ]
    assert receivers.failing == {}


def test_hosts_are_followed_apart(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    receivers = ReceiverLog(clock=Clock())
    receivers.failed("a.example.com", "HTTP 500")
    receivers.failed("b.example.com", "HTTP 404")
    receivers.succeeded("c.example.com")  # never failed: nothing to say
    receivers.succeeded("a.example.com")
    assert [message for _, message in lines(caplog)] == [
        "callback receiver a.example.com is failing: HTTP 500",
        "callback receiver b.example.com is failing: HTTP 404",
        "callback receiver a.example.com answers again, after 1 failed posts over 0 s (last: HTTP 500)",
    ]
    assert receivers.failing == {"b.example.com": "HTTP 404"}


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://hooks.example.com/sms?token=s3cret", "hooks.example.com"),
        ("http://203.0.113.9:8080/cb", "203.0.113.9"),
        ("", "(no host)"),
    ],
)
def test_only_the_host_of_a_url_is_logged(url: str, host: str) -> None:
    assert host_of(url) == host
