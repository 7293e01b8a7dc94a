import pytest

from smsplatform.protocols.sgip.results import Result, describe_result, is_transient_result


def test_codes_match_the_spec_table() -> None:
    assert [Result(code).name for code in (1, 11, 21, 33)] == [
        "ILLEGAL_LOGIN",
        "NODE_BUSY",
        "DESTINATION_UNREACHABLE",
        "SMSC_QUEUE_FULL",
    ]
    assert [code for code in range(34) if code not in set(Result)] == list(range(12, 21))


@pytest.mark.parametrize(
    "code", [Result.TOO_MANY_CONNECTIONS, Result.NODE_BUSY, Result.SYSTEM_FAILURE, Result.SMSC_QUEUE_FULL]
)
def test_gateway_conditions_are_transient(code: int) -> None:
    assert is_transient_result(code)


@pytest.mark.parametrize(
    "code", [Result.OK, Result.ILLEGAL_LOGIN, Result.ILLEGAL_MOBILE_NUMBER, Result.UNKNOWN_USER, 99]
)
def test_message_and_account_faults_and_unknown_codes_are_final(code: int) -> None:
    assert not is_transient_result(code)


def test_every_code_has_a_description() -> None:
    assert all("undefined" not in describe_result(code) for code in Result)
    assert describe_result(99) == "undefined SGIP result 99"
