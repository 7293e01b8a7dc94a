"""The listeners' admission policy: connections per source, and failed logins slowing the next answer."""

from __future__ import annotations

import pytest

from smsplatform.protocols.admission import ListenerLimits, SourceAdmission, source_key


def test_connections_over_the_cap_are_refused_until_one_closes() -> None:
    admission = SourceAdmission(ListenerLimits(max_connections_per_source=2))
    assert admission.connection_opened("10.0.0.1")
    assert admission.connection_opened("10.0.0.1")
    assert not admission.connection_opened("10.0.0.1")
    assert admission.connection_opened("10.0.0.2")  # another source has its own count
    admission.connection_closed("10.0.0.1")
    assert admission.connection_opened("10.0.0.1")
    assert admission.open_connections("10.0.0.1") == 2


def test_no_cap_when_zero() -> None:
    admission = SourceAdmission(ListenerLimits(max_connections_per_source=0))
    assert all(admission.connection_opened("10.0.0.1") for _ in range(10_000))


def test_one_ipv6_host_is_one_source_across_its_64() -> None:
    admission = SourceAdmission(ListenerLimits(max_connections_per_source=1))
    assert admission.connection_opened("2001:db8:1:2::1")
    assert not admission.connection_opened("2001:db8:1:2:ffff::9")
    assert admission.connection_opened("2001:db8:1:3::1")
    assert source_key("::ffff:10.1.2.3") == "10.1.2.3"
    assert source_key("10.1.2.3") == "10.1.2.3"


def test_each_failure_doubles_the_delay_up_to_the_maximum_and_a_success_starts_over() -> None:
    admission = SourceAdmission(ListenerLimits(login_failure_delay=1.0, login_failure_delay_max=8.0))
    now = 1000.0
    delays = []
    for _ in range(6):
        delay = admission.login_delay("10.0.0.1", now)
        delays.append(delay)
        now += delay  # the next attempt comes once this answer is out
        admission.login_failed("10.0.0.1", now)
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert admission.login_delay("10.0.0.9", now) == 0.0  # others are not slowed
    assert admission.login_delay("10.0.0.1", now) == 8.0  # the right password waits too
    admission.login_succeeded("10.0.0.1")
    assert admission.login_delay("10.0.0.1", now + 8.0) == 0.0


def test_parallel_attempts_are_answered_one_delay_after_another() -> None:
    """N connections guessing at once get their answers no faster than one connection would."""
    admission = SourceAdmission(ListenerLimits(login_failure_delay=1.0, login_failure_delay_max=1.0))
    admission.login_failed("10.0.0.1", 0.0)
    delays = [admission.login_delay("10.0.0.1", 0.0) for _ in range(100)]
    assert delays == pytest.approx([float(n) for n in range(1, 101)])


def test_failures_are_forgotten_after_a_quiet_while() -> None:
    admission = SourceAdmission(ListenerLimits(login_failure_delay=1.0))
    admission.login_failed("10.0.0.1", 0.0)
    assert admission.login_delay("10.0.0.1", 1.0) == 1.0
    assert admission.login_delay("10.0.0.1", 3600.0) == 0.0
