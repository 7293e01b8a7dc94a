"""Limits hold across a restart of the real server, by SIGTERM and by SIGKILL of its process group: a
number's verification codes in the hour, its marketing message of the day, a customer's daily calls and
a caller's sends in the minute."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.support import Platform, platform_env, running, wait_for
from tests.e2e.test_delivery import CODE, PROMO, SIGNATURE

pytestmark = pytest.mark.e2e

X, Y, Z = "13800000001", "13800000002", "13800000003"
PER_MINUTE = 12  # `send`s per caller IP; everything below comes from 127.0.0.1


def _code(n: int) -> str:
    return SIGNATURE + CODE.replace("@", f"{n:04d}")


def _status(answer: dict[str, object]) -> int:
    return int(str(answer["status"]))


def _stored_caller_sends(platform: Platform) -> int:
    with sqlite3.connect(f"file:{platform.data_dir / 'smsplatform.db'}?mode=ro", uri=True) as db:
        (count,) = db.execute(
            "SELECT coalesce(sum(count), 0) FROM limit_counters WHERE scope = 'ip'"
        ).fetchone()
    return int(count)


def _sigterm(platform: Platform) -> None:
    platform.stop()


def _sigkill(platform: Platform) -> None:
    # The caller counts are written within a second of a send (store/limits.py): a SIGKILL forgets at
    # most that second's. Wait for them, so that the test asserts what is promised, not a race.
    wait_for(lambda: _stored_caller_sends(platform) >= 6, 10, "the caller's sends stored")
    platform.kill()


@pytest.mark.parametrize("stop", [_sigterm, _sigkill], ids=["SIGTERM", "SIGKILL"])
def test_limits_hold_across_a_restart(tmp_path: Path, stop: Callable[[Platform], None]) -> None:
    # Dispatch in serve's own process: the limits are the API's, and each of the three starts would
    # otherwise start (and each stop stop) a dispatch worker per core.
    env = platform_env(ip_limit_per_minute=str(PER_MINUTE), dispatch_workers="0")
    platform = Platform(data_dir=tmp_path, env=env)
    limited = platform.cli(
        "customer", "create", "--name", "limited", "--totalnum", "10", "--daily-limit", "3"
    )
    with running(platform):
        appkey = platform.cli("customer", "create", "--name", "e2e", "--totalnum", "1000")
        account = platform.api(
            "addaccount", appkey=appkey, company="进制数据", signature=SIGNATURE, totalnum="1000"
        )
        accountid = account["result"]["accountid"]
        for name, content, market in (("code", CODE, "0"), ("promo", PROMO, "1")):
            added = platform.api(
                "addtemplate", appkey=appkey, accountid=accountid, name=name, content=content, ismarket=market
            )
            assert added["result"]["status"] == "1", added
        platform.cli("account", "limits", accountid, "--kind", "verification", "--limits", "5/3600")
    # Started again, the server reads the override at once (no wait for its configuration poll).
    with running(platform):
        for n in range(5):
            assert _status(platform.api("send", appkey=appkey, mobile=X, content=_code(n))) == 0
        promo = SIGNATURE + PROMO.replace("@", "8")
        assert _status(platform.api("send", appkey=appkey, mobile=Y, content=promo)) == 0
        for _ in range(3):
            assert _status(platform.api("balance", appkey=limited)) == 0
        stop(platform)

    with running(platform):
        # Six `send`s were counted before the stop; these are the 7th, 8th and 9th of the minute.
        assert _status(platform.api("send", appkey=appkey, mobile=X, content=_code(6))) == 210
        assert _status(platform.api("send", appkey=appkey, mobile=Y, content=promo)) == 210
        assert _status(platform.api("send", appkey=appkey, mobile=Z, content=_code(7))) == 0
        assert _status(platform.api("balance", appkey=limited)) == 104
        # The caller's minute: exactly PER_MINUTE - 9 more sends before 106, bad appkeys included.
        answers = [_status(platform.api("send", appkey="bad")) for _ in range(PER_MINUTE - 9 + 1)]
        assert answers == [101] * (PER_MINUTE - 9) + [106]
    assert len(json.loads(platform.cli("message", "search", "--mobile", X, "--json"))["rows"]) == 5
