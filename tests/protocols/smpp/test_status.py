import pytest

from smsplatform.protocols.smpp.status import CommandStatus, is_transient_status, status_name


@pytest.mark.parametrize(
    "status",
    [
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RX_T_APPN,
    ],
)
def test_transient(status: int) -> None:
    assert is_transient_status(status)


@pytest.mark.parametrize(
    "status",
    [
        CommandStatus.ESME_ROK,
        CommandStatus.ESME_RINVDSTADR,
        CommandStatus.ESME_RSUBMITFAIL,
        CommandStatus.ESME_RX_R_APPN,
        CommandStatus.ESME_RINVPASWD,
        0x400,
    ],
)
def test_permanent(status: int) -> None:
    assert not is_transient_status(status)


def test_spec_values() -> None:
    assert int(CommandStatus.ESME_RMSGQFUL) == 0x14
    assert int(CommandStatus.ESME_RTHROTTLED) == 0x58
    assert int(CommandStatus.ESME_RX_T_APPN) == 0x64
    assert int(CommandStatus.ESME_RINVSYSID) == 0x0F


def test_status_name() -> None:
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x401) == "0x00000401"
