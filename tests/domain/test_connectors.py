"""A connector's settings checked against each protocol's field widths, as the specs give them."""

from __future__ import annotations

from typing import Any

import pytest

from smsplatform.domain.connectors import check_connector_fields


def check(protocol: str, **fields: Any) -> list[str]:
    settings: dict[str, Any] = {"system_id": "901234", "password": "secret", "source_number": "1069000"}
    return check_connector_fields(protocol, **(settings | fields))


@pytest.mark.parametrize("protocol", ["smpp", "cmpp", "cmpp2", "smgp"])
def test_settings_that_fit_pass(protocol: str) -> None:
    assert check(protocol, service_id="MSJ0010001"[: 5 if protocol == "smpp" else 10]) == []


def test_sgip_settings_that_fit_pass() -> None:
    assert check("sgip", options={"listen_port": "0", "corp_id": "12345"}) == []


@pytest.mark.parametrize(
    ("protocol", "field", "longest"),
    [
        ("cmpp", "Source_Addr", 6),  # CMPP 3.0 §7.4.1: the SP's enterprise code
        ("cmpp2", "Source_Addr", 6),
        ("smpp", "system_id", 15),  # SMPP 3.4 §4.1: C-Octet String of 16 with its NUL
        ("sgip", "Login Name", 16),  # SGIP 1.2 §4.2.1
        ("smgp", "ClientID", 8),  # SMGP 3.0 §6.2.2
    ],
)
def test_the_system_id_fits_the_login_field(protocol: str, field: str, longest: int) -> None:
    options = {"listen_port": "0"}
    assert check(protocol, system_id="1" * longest, options=options) == []
    [problem] = check(protocol, system_id="1" * (longest + 1), options=options)
    assert field in problem and f"at most {longest} characters" in problem
    assert problem.startswith("system id: ")


def test_the_cmpp_sp_id_of_the_cli_default_account_is_refused() -> None:
    assert check("cmpp", system_id="smsplatform") == [
        "system id: CMPP's Source_Addr holds at most 6 characters, this one has 11"
    ]


@pytest.mark.parametrize(
    ("protocol", "longest"),
    [("smpp", 8), ("sgip", 16), ("smgp", 15)],  # SMPP 3.4 §4.1; SGIP 1.2 §4.2.1; SMGP 3.0 §6.2.2
)
def test_the_password_fits(protocol: str, longest: int) -> None:
    options = {"listen_port": "0"}
    assert check(protocol, password="p" * longest, options=options) == []
    [problem] = check(protocol, password="p" * (longest + 1), options=options)
    assert problem.startswith("password: ") and f"at most {longest} characters" in problem


def test_a_cmpp_shared_secret_has_no_width() -> None:
    assert check("cmpp", password="s" * 64) == []  # only its digest goes on the wire


@pytest.mark.parametrize(("protocol", "width"), [("cmpp", 21), ("sgip", 21), ("smgp", 21), ("smpp", 20)])
def test_the_source_number_leaves_room_for_the_extension(protocol: str, width: int) -> None:
    options = {"listen_port": "0"}
    assert check(protocol, source_number="1" * (width - 4), options=options) == []
    [problem] = check(protocol, source_number="1" * (width - 3), options=options)
    assert f"at most {width - 4} characters" in problem and f"of {width}" in problem
    [problem] = check(protocol, source_number="1" * (width + 1), options=options)
    assert f"holds at most {width} characters" in problem


def test_a_chinese_source_number_is_digits_but_an_smpp_sender_may_be_a_name() -> None:
    assert check("cmpp", source_number="ACME") == [
        "source number: CMPP's Src_Id is an access number, digits only"
    ]
    assert check("smpp", source_number="ACME") == []


def test_service_ids_and_options_fit_their_fields() -> None:
    assert check("smpp", service_id="CMT") == []
    [problem] = check("smpp", service_id="SERVICE")  # service_type: C-Octet String of 6
    assert "service_type holds at most 5" in problem
    [problem] = check("cmpp", service_id="X" * 11)
    assert "Service_Id holds at most 10" in problem
    # The service id given both ways is one problem, not two.
    assert len(check("smgp", service_id="X" * 11, options={"service_id": "X" * 11})) == 1
    assert check("cmpp", options={"fee_type": "001"}) == [
        "option fee_type: CMPP's FeeType holds at most 2 characters, this one has 3"
    ]
    [problem] = check("sgip", options={"listen_port": "0", "corp_id": "123456"})
    assert "CorpId holds at most 5" in problem
    assert check("smgp", options={"fixed_fee": "1" * 7, "verify_server": "0"}) == [
        "option fixed_fee: SMGP's FixedFee holds at most 6 characters, this one has 7"
    ]


def test_sgip_needs_its_listener_port() -> None:
    [problem] = check("sgip")
    assert problem.startswith("option listen_port: ")


def test_unknown_protocols_empty_ids_and_non_ascii_text() -> None:
    [problem] = check("ucp")
    assert problem == "protocol 'ucp' is not one of smpp, cmpp, cmpp2, sgip, smgp"
    assert check("smpp", system_id="") == ["system id: SMPP logs in with it (system_id); it cannot be empty"]
    assert check("smgp", password="密码") == ["password: SMGP's shared secret takes ASCII characters only"]


@pytest.mark.parametrize("protocol", ["smpp", "cmpp", "cmpp2", "sgip", "smgp"])
def test_what_the_check_allows_the_codec_sends_and_one_more_it_refuses(protocol: str) -> None:
    from smsplatform.connectors.adapter import SessionRole
    from smsplatform.connectors.config import ConnectorConfig
    from smsplatform.connectors.registry import adapter_for

    def bind(system_id: str, password: str) -> bytes:
        config = ConnectorConfig(
            "c", protocol, "127.0.0.1", 1, system_id, password, extra={"listen_port": "0"}
        )
        adapter = adapter_for(config)
        return adapter.encode(adapter.bind_request(SessionRole.TRANSCEIVER, 1))

    longest_id = next(
        n for n in range(1, 64) if check(protocol, system_id="1" * n, options={"listen_port": "0"})
    )
    assert bind("1" * (longest_id - 1), "pw")
    with pytest.raises(ValueError):
        bind("1" * longest_id, "pw")
