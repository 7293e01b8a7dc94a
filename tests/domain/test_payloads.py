"""What the customer receives: every field a string, as SPEC §2 and §7 ask."""

from __future__ import annotations

import time

from smsplatform.domain.payloads import (
    local_time,
    reply,
    send_answer,
    skipped_number,
    status_report,
    success_flag,
)


def test_a_status_report_has_the_fields_of_spec_7_as_strings() -> None:
    report = status_report(7, 3, 5, "13900000000", 2, "UNDELIV", "E1", 1_000, 1_060)
    assert report == {
        "msgid": "3",
        "mobile": "13900000000",
        "accountid": "5",
        "status": "UNDELIV",
        "success": "0",
        "errcode": "E1",
        "submittime": local_time(1_000),
        "donetime": local_time(1_060),
        "segments": "2",
        "reportid": "7",
    }
    assert status_report(7, 3, 5, "13900000000", 1, "DELIVRD", "0", 1_000, 1_060)["success"] == "1"


def test_callback_times_are_local_wall_clock_seconds() -> None:
    assert local_time(1_700_000_000) == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_700_000_000))


def test_a_reply_has_the_fields_of_spec_7_as_strings() -> None:
    assert reply(9, 5, "13900000000", "TD", 1_000) == {
        "replyid": "9",
        "accountid": "5",
        "mobile": "13900000000",
        "content": "TD",
        "receivetime": local_time(1_000),
    }


def test_the_send_answer_lists_skipped_numbers_only_when_there_are_some() -> None:
    assert send_answer(5, 11, 2, 4, []) == {"count": "2", "accountid": "5", "msgid": "11", "fee": "4"}
    skipped = [skipped_number("123", "202", "手机号有误")]
    assert send_answer(5, 11, 1, 1, skipped)["failed"] == [
        {"mobile": "123", "status": "202", "msg": "手机号有误"}
    ]


def test_success_is_empty_until_the_message_ends() -> None:
    assert success_flag("submitted", "") == ""
    assert success_flag("delivered", "DELIVRD") == "1"
    assert success_flag("unknown", "UNKNOWN") == "0"
