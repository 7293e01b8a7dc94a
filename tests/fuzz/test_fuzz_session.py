"""A short fuzz session of every target, as part of the suite.

Each target runs for a few seconds from its seeds (spec examples and the byte vectors of
tests/protocols), under atheris where it installs and hypothesis elsewhere, after its inputs at the
64 KiB limit. A longer hunt is `tests/fuzz/run.py --seconds 600`; what it finds is kept, byte for
byte, in test_regressions.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fuzz.engines import atheris_available, fuzz
from tests.fuzz.harness import Target, examine
from tests.fuzz.targets import TARGETS

SECONDS_PER_TARGET = 3


@pytest.mark.parametrize("name", list(TARGETS))
def test_a_short_fuzz_session_finds_nothing(name: str, tmp_path: Path) -> None:
    report = fuzz(TARGETS[name], SECONDS_PER_TARGET, tmp_path)
    assert report.executions > 1000, report.summary()
    assert report.findings == [], "\n\n".join(finding.detail for finding in report.findings)


def _check_planted(data: bytes) -> None:
    # A fault the sessions must report: an input a mutation or two away from a seed.
    if data.startswith(b"plant") and len(data) < 100:
        raise IndexError("planted")


PLANTED = Target(
    "tests.fuzz.test_fuzz_session:PLANTED", _check_planted, lambda: [b"planted seed", b"x"], "a planted fault"
)


@pytest.mark.parametrize(
    "engine",
    [
        pytest.param(
            "atheris",
            marks=pytest.mark.skipif(not atheris_available(), reason="atheris does not install here"),
        ),
        "hypothesis",
    ],
)
def test_each_engine_reports_a_fault_with_its_input(engine: str, tmp_path: Path) -> None:
    report = fuzz(PLANTED, 1, tmp_path, engine)
    assert [finding.signature for finding in report.findings] == ["IndexError at test_fuzz_session.py:33"]
    (finding,) = report.findings
    assert finding.data.startswith(b"plant")
    assert (
        tmp_path / "findings" / f"tests_fuzz_test_fuzz_session_PLANTED-crash-{finding.digest}"
    ).read_bytes() == (finding.data)


def _check_slowly(data: bytes) -> None:
    if data == b"slow":
        started = time.process_time()
        while time.process_time() - started < 0.6:
            pass


def test_an_input_that_takes_too_long_is_a_finding() -> None:
    target = Target("slow", _check_slowly, lambda: [], "a planted slow path")
    assert examine(target, b"quick") is None
    finding = examine(target, b"slow")
    assert finding is not None and finding.kind == "slow"
