from smsplatform.protocols.smgp.status import Status, is_transient_status


def test_busy_and_sp_limits_are_transient() -> None:
    assert is_transient_status(Status.SYSTEM_BUSY)
    assert is_transient_status(Status.SP_DAILY_LIMIT_EXCEEDED)
    assert is_transient_status(1)


def test_success_and_verdicts_are_not() -> None:
    assert not is_transient_status(Status.OK)
    assert not is_transient_status(Status.INVALID_DEST_TERM_ID)
    assert not is_transient_status(Status.AUTHENTICATION_ERROR)
    assert not is_transient_status(200)  # vendor-defined: unknown, so not retried blindly
