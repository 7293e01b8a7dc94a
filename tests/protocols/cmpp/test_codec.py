from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsplatform.protocols.cmpp.auth import authenticator_ismg, authenticator_source
from smsplatform.protocols.cmpp.codec import HEADER_SIZE, MAX_FRAME_SIZE, PduReader, decode, encode
from smsplatform.protocols.cmpp.errors import PduDecodeError
from smsplatform.protocols.cmpp.layout import PDU_CLASSES
from smsplatform.protocols.cmpp.pdu import (
    ActiveTest,
    ActiveTestResp,
    CancelResp,
    CmppVersion,
    CommandId,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    MsgFmt,
    Pdu,
    Submit,
    SubmitResp,
    Terminate,
)
from smsplatform.protocols.cmpp.report import StatusReport, build_report, parse_report
from smsplatform.protocols.errors import ProtocolError

from .strategies import pdu_strategies, pdus

V20, V30 = CmppVersion.V20, CmppVersion.V30
BOTH = pytest.mark.parametrize("version", [V20, V30], ids=["2.0", "3.0"])


def frame(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text)


# Byte vectors published in the test data of gocmpp (github.com/bigwhite/gocmpp), an independent CMPP
# implementation: Source_Addr 900001, secret 888888, timestamp 1021080510, Sequence_Id 0x17.
GOCMPP_CONNECT = frame("00000027000000010000001739303030303190d00c1d517abd0b4f65f6bcf8535d16213cdc73be")
GOCMPP_CONNECT_RESP_V20 = frame("0000001e8000000100000017006c0b846e25bab6daa4ed1c466e0f4bd821")
GOCMPP_CONNECT_RESP_V30 = frame("000000218000000100000017000000007942977274098cf210ab0c16c367bc8d30")
GOCMPP_SUBMIT_V20 = frame(
    "000000bd0000000400000017000000000000000001010101746573740000000000000231333530303030323639360000"
    "000000000000000000000839303030303130323130000000003135313130353133313535353130312b00000000000000"
    "000000000000000000000039303030303100000000000000000000000000000001313335303030303236393600000000"
    "0000000000001e6d4b8bd50067006f0063006d007000700020007300750062006d006900740000000000000000"
)
GOCMPP_SUBMIT_V30 = frame(
    "000000e10000000400000017000000000000000001010101746573740000000000000231333530303030323639360000"
    "000000000000000000000000000000000000000000000839303030303130323130000000003135313130353133313535"
    "353130312b00000000000000000000000000000000000039303030303100000000000000000000000000000001313335"
    "3030303032363936000000000000000000000000000000000000000000001e6d4b8bd50067006f0063006d0070007000"
    "20007300750062006d006900740000000000000000000000000000000000000000"
)
GOCMPP_SUBMIT_RESP_V20 = frame("000000158000000400000017b2b9da800001000000")
GOCMPP_SUBMIT_RESP_V30 = frame("000000188000000400000017b2b9da800001000000000000")
GOCMPP_DELIVER_V30 = frame(
    "0000007f0000000500000001b4c553000001000039303030303100000000000000000000000000000000000000000000"
    "000000000000313334313233343030303000000000000000000000000000000000000000000000001254686973206973"
    "20612074657374204d4f2e0000000000000000000000000000000000000000"
)
GOCMPP_DELIVER_V20 = frame(
    "000000670000000500000005b52562800001000039303030303100000000000000000000000000000000000000000000"
    "00000000000031333431323334303030300000000000000000000000125468697320697320612074657374204d4f2e00"
    "00000000000000"
)
GOCMPP_DELIVER_RESP_V30 = frame("000000188000000500000001b4c553000001000000000000")
GOCMPP_DELIVER_RESP_V20 = frame("000000158000000500000005b52562800001000000")

UCS2_CONTENT = "测试gocmpp submit".encode("utf-16-be")


# The 2.0 and 3.0 vectors carry the same values; 3.0's extra fields are zero/empty.
GOCMPP_SUBMIT = Submit(
    sequence=0x17,
    pk_total=1,
    pk_number=1,
    registered_delivery=1,
    msg_level=1,
    service_id="test",
    fee_user_type=2,
    fee_terminal_id="13500002696",
    msg_fmt=MsgFmt.UCS2,
    msg_src="900001",
    fee_type="02",
    fee_code="10",
    valid_time="151105131555101+",
    at_time="",
    src_id="900001",
    dest_terminal_ids=("13500002696",),
    msg_content=UCS2_CONTENT,
)


class TestPublishedVectors:
    def test_connect(self) -> None:
        auth = authenticator_source("900001", "888888", 1021080510)
        pdu = Connect(
            sequence=0x17, source_addr="900001", authenticator_source=auth, version=0x21, timestamp=1021080510
        )
        # CONNECT has one layout for both versions.
        assert encode(pdu, V20) == GOCMPP_CONNECT
        assert encode(pdu, V30) == GOCMPP_CONNECT
        assert decode(GOCMPP_CONNECT, V30) == pdu

    @pytest.mark.parametrize(
        ("version", "wire"),
        [(V20, GOCMPP_CONNECT_RESP_V20), (V30, GOCMPP_CONNECT_RESP_V30)],
        ids=["2.0", "3.0"],
    )
    def test_connect_resp(self, version: CmppVersion, wire: bytes) -> None:
        auth = authenticator_source("900001", "888888", 1021080510)
        pdu = ConnectResp(
            sequence=0x17,
            status=0,
            authenticator_ismg=authenticator_ismg(
                0, auth, "888888", version=0x21 if version is V20 else 0x30
            ),
            version=0x21 if version is V20 else 0x30,
        )
        assert encode(pdu, version) == wire
        assert decode(wire, version) == pdu

    @pytest.mark.parametrize(
        ("version", "wire"), [(V20, GOCMPP_SUBMIT_V20), (V30, GOCMPP_SUBMIT_V30)], ids=["2.0", "3.0"]
    )
    def test_submit(self, version: CmppVersion, wire: bytes) -> None:
        assert encode(GOCMPP_SUBMIT, version) == wire
        assert decode(wire, version) == GOCMPP_SUBMIT

    @pytest.mark.parametrize(
        ("version", "wire"),
        [(V20, GOCMPP_SUBMIT_RESP_V20), (V30, GOCMPP_SUBMIT_RESP_V30)],
        ids=["2.0", "3.0"],
    )
    def test_submit_resp(self, version: CmppVersion, wire: bytes) -> None:
        pdu = SubmitResp(sequence=0x17, msg_id=(12878564852733378560).to_bytes(8, "big"), result=0)
        assert encode(pdu, version) == wire
        assert decode(wire, version) == pdu

    @pytest.mark.parametrize(
        ("version", "wire", "sequence", "msg_id"),
        [
            (V20, GOCMPP_DELIVER_V20, 5, 13052947396898652160),
            (V30, GOCMPP_DELIVER_V30, 1, 13025908756704198656),
        ],
        ids=["2.0", "3.0"],
    )
    def test_deliver_mo(self, version: CmppVersion, wire: bytes, sequence: int, msg_id: int) -> None:
        pdu = Deliver(
            sequence=sequence,
            msg_id=msg_id.to_bytes(8, "big"),
            dest_id="900001",
            src_terminal_id="13412340000",
            msg_content=b"This is a test MO.",
        )
        assert encode(pdu, version) == wire
        assert decode(wire, version) == pdu
        assert not pdu.is_report

    @pytest.mark.parametrize(
        ("version", "wire", "sequence", "msg_id"),
        [
            (V20, GOCMPP_DELIVER_RESP_V20, 5, 13052947396898652160),
            (V30, GOCMPP_DELIVER_RESP_V30, 1, 13025908756704198656),
        ],
        ids=["2.0", "3.0"],
    )
    def test_deliver_resp(self, version: CmppVersion, wire: bytes, sequence: int, msg_id: int) -> None:
        pdu = DeliverResp(sequence=sequence, msg_id=msg_id.to_bytes(8, "big"), result=0)
        assert encode(pdu, version) == wire
        assert decode(wire, version) == pdu


# Body field widths copied from the specification's tables (CMPP 3.0 §8.4.3.1 and §8.4.5.1; 2.0 as it
# differs), written out here rather than taken from the layout module so the two can disagree.
SUBMIT_WIDTHS: dict[CmppVersion, list[int | str]] = {
    V30: [8, 1, 1, 1, 1, 10, 1, 32, 1, 1, 1, 1, 6, 2, 6, 17, 17, 21, 1, "dest", 1, 1, "content", 20],
    V20: [8, 1, 1, 1, 1, 10, 1, 21, 1, 1, 1, 6, 2, 6, 17, 17, 21, 1, "dest", 1, "content", 8],
}
DELIVER_WIDTHS: dict[CmppVersion, list[int | str]] = {
    V30: [8, 21, 10, 1, 1, 1, 32, 1, 1, 1, "content", 20],
    V20: [8, 21, 10, 1, 1, 1, 21, 1, 1, "content", 8],
}
TERMINAL_WIDTH = {V30: 32, V20: 21}


def spec_total_length(widths: list[int | str], dests: int, content: int, terminal: int) -> int:
    size = {"dest": dests * terminal, "content": content}
    return HEADER_SIZE + sum(w if isinstance(w, int) else size[w] for w in widths)


class TestLengths:
    def test_submit_3_0_with_one_destination_is_183_octets_plus_content(self) -> None:
        assert spec_total_length(SUBMIT_WIDTHS[V30], 1, 0, 32) == 12 + 183

    @BOTH
    @pytest.mark.parametrize(("dests", "content"), [(1, 0), (1, 140), (3, 67), (99, 255)])
    def test_submit_total_length(self, version: CmppVersion, dests: int, content: int) -> None:
        pdu = Submit(
            sequence=1,
            dest_terminal_ids=tuple(f"1380013{i:04d}" for i in range(dests)),
            msg_content=bytes(content),
        )
        wire = encode(pdu, version)
        expected = spec_total_length(SUBMIT_WIDTHS[version], dests, content, TERMINAL_WIDTH[version])
        assert len(wire) == expected
        assert int.from_bytes(wire[:4], "big") == expected
        assert wire[4:8] == bytes.fromhex("00000004")

    @BOTH
    def test_deliver_total_length(self, version: CmppVersion) -> None:
        pdu = Deliver(
            sequence=1,
            msg_id=bytes(8),
            dest_id="10690001",
            src_terminal_id="13800138000",
            msg_content=b"x" * 70,
        )
        assert len(encode(pdu, version)) == spec_total_length(DELIVER_WIDTHS[version], 0, 70, 0)

    @pytest.mark.parametrize(
        ("pdu", "v20", "v30"),
        [
            (ConnectResp(sequence=1, status=0, version=0x30), 12 + 18, 12 + 21),
            (SubmitResp(sequence=1, msg_id=bytes(8), result=0), 12 + 9, 12 + 12),
            (DeliverResp(sequence=1, msg_id=bytes(8), result=0), 12 + 9, 12 + 12),
            (CancelResp(sequence=1, success_id=0), 12 + 1, 12 + 4),
        ],
    )
    def test_status_fields_are_one_octet_in_2_0_and_four_in_3_0(self, pdu: Pdu, v20: int, v30: int) -> None:
        assert len(encode(pdu, V20)) == v20
        assert len(encode(pdu, V30)) == v30

    def test_submit_3_0_places_the_destination_after_src_id(self) -> None:
        wire = encode(
            Submit(sequence=9, src_id="1069001", dest_terminal_ids=("13800138000",), msg_content=b"hi"), V30
        )
        body = wire[HEADER_SIZE:]
        assert body[107:128] == b"1069001".ljust(21, b"\0")  # Src_Id
        assert body[128] == 1  # DestUsr_tl
        assert body[129:161] == b"13800138000".ljust(32, b"\0")
        assert body[162:165] == b"\x02hi"  # Msg_Length, Msg_Content


class TestActiveTest:
    @BOTH
    def test_active_test_is_a_bare_header(self, version: CmppVersion) -> None:
        assert encode(ActiveTest(sequence=0x01020304), version) == bytes.fromhex("0000000c0000000801020304")
        assert decode(bytes.fromhex("0000000c0000000801020304"), version) == ActiveTest(sequence=0x01020304)

    @BOTH
    def test_active_test_resp_carries_one_reserved_octet(self, version: CmppVersion) -> None:
        wire = bytes.fromhex("0000000d800000080000000700")
        assert encode(ActiveTestResp(sequence=7), version) == wire
        assert decode(wire, version) == ActiveTestResp(sequence=7)

    def test_active_test_resp_without_its_reserved_octet_is_accepted(self) -> None:
        assert decode(bytes.fromhex("0000000c8000000800000007"), V30) == ActiveTestResp(sequence=7)


class TestStatusReportDeliver:
    @BOTH
    def test_deliver_with_report(self, version: CmppVersion) -> None:
        report = StatusReport(
            msg_id=bytes.fromhex("b4c5530000010000"),
            stat="DELIVRD",
            submit_time="2501021530",
            done_time="2501021531",
            dest_terminal_id="13800138000",
            smsc_sequence=42,
        )
        content = build_report(report, version)
        pdu = Deliver(
            sequence=3,
            msg_id=bytes.fromhex("b4c5530000020000"),
            dest_id="10690001",
            src_terminal_id="13800138000",
            registered_delivery=1,
            msg_content=content,
        )
        wire = encode(pdu, version)
        assert len(wire) == spec_total_length(DELIVER_WIDTHS[version], 0, 71 if version is V30 else 60, 0)
        decoded = decode(wire, version)
        assert isinstance(decoded, Deliver)
        assert decoded.is_report
        assert parse_report(decoded.msg_content) == report


class TestVersionDifferences:
    def test_fields_2_0_lacks_are_not_sent(self) -> None:
        pdu = Submit(
            sequence=1,
            fee_terminal_type=1,
            dest_terminal_ids=("13800138000",),
            dest_terminal_type=1,
            msg_content=b"x",
            link_id="LINK",
        )
        decoded = decode(encode(pdu, V20), V20)
        assert isinstance(decoded, Submit)
        assert (decoded.fee_terminal_type, decoded.dest_terminal_type, decoded.link_id) == (0, 0, "")

    def test_a_2_0_connect_resp_is_read_even_when_3_0_was_asked_for(self) -> None:
        # A 2.0-only ISMG answers a 3.0 CONNECT with its own layout; the size tells which one it is.
        pdu = ConnectResp(sequence=1, status=4, version=0x20)
        assert decode(encode(pdu, V20), V30) == pdu

    def test_a_3_0_submit_resp_is_read_on_a_2_0_link(self) -> None:
        pdu = SubmitResp(sequence=1, msg_id=bytes(8), result=300)
        assert decode(encode(pdu, V30), V20) == pdu

    def test_reader_version_can_change_after_connect(self) -> None:
        submit = Submit(sequence=2, dest_terminal_ids=("13800138000",), msg_content=b"hi")
        reader = PduReader(V30)
        reader.receive_data(encode(submit, V20))
        reader.version = V20
        assert reader.next_pdu() == submit


@BOTH
@pytest.mark.parametrize("cls", list(PDU_CLASSES.values()), ids=lambda cls: cls.__name__)
@settings(max_examples=40)
@given(data=st.data())
def test_round_trip(version: CmppVersion, cls: type[Pdu], data: st.DataObject) -> None:
    pdu = data.draw(pdu_strategies(version)[cls])
    wire = encode(pdu, version)
    assert int.from_bytes(wire[:4], "big") == len(wire)
    assert int.from_bytes(wire[4:8], "big") == pdu.command_id
    assert decode(wire, version) == pdu


def test_strategies_cover_every_pdu() -> None:
    for version in CmppVersion:
        assert set(pdu_strategies(version)) == set(PDU_CLASSES.values())


@BOTH
@settings(max_examples=50)
@given(data=st.data())
def test_reader_yields_the_same_pdus_whatever_the_chunking(version: CmppVersion, data: st.DataObject) -> None:
    sent = data.draw(st.lists(pdus(version), max_size=6))
    stream = b"".join(encode(pdu, version) for pdu in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader = PduReader(version)
    received: list[Pdu] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        reader.receive_data(stream[start:end])
        while (pdu := reader.next_pdu()) is not None:
            received.append(pdu)
    assert received == sent
    assert reader.buffered == 0


class TestReaderErrors:
    def test_partial_frame_waits_for_more(self) -> None:
        wire = encode(Terminate(sequence=5), V30)
        reader = PduReader(V30)
        for octet in wire[:-1]:
            reader.receive_data(bytes([octet]))
            assert reader.next_pdu() is None
        reader.receive_data(wire[-1:])
        assert reader.next_pdu() == Terminate(sequence=5)

    @pytest.mark.parametrize("length", [0, 11, MAX_FRAME_SIZE + 1, 0xFFFFFFFF])
    def test_impossible_length_fails_at_once_and_for_good(self, length: int) -> None:
        reader = PduReader(V30)
        reader.receive_data(length.to_bytes(4, "big"))
        with pytest.raises(ProtocolError) as caught:
            reader.next_pdu()
        assert not isinstance(caught.value, PduDecodeError)
        assert reader.buffered == 0
        reader.receive_data(encode(ActiveTest(sequence=1), V30))
        assert reader.buffered == 0
        with pytest.raises(ProtocolError):
            reader.next_pdu()

    def test_undecodable_frame_is_skipped_and_reported_with_its_ids(self) -> None:
        bad_submit_resp = bytes.fromhex("00000016800000040000abcd") + bytes(10)  # body fits no layout
        good = encode(ActiveTest(sequence=2), V30)
        reader = PduReader(V30)
        reader.receive_data(bad_submit_resp + good)
        with pytest.raises(PduDecodeError) as caught:
            reader.next_pdu()
        assert (caught.value.command_id, caught.value.sequence) == (CommandId.SUBMIT_RESP, 0xABCD)
        assert reader.next_pdu() == ActiveTest(sequence=2)
        assert reader.next_pdu() is None

    def test_unknown_command_is_reported_with_its_ids(self) -> None:
        reader = PduReader(V30)
        reader.receive_data(
            bytes.fromhex("0000000e0000009900000007abcd") + encode(ActiveTest(sequence=8), V30)
        )
        with pytest.raises(PduDecodeError) as caught:
            reader.next_pdu()
        assert (caught.value.command_id, caught.value.sequence) == (0x99, 7)
        assert reader.next_pdu() == ActiveTest(sequence=8)

    @settings(max_examples=300)
    @given(chunks=st.lists(st.binary(max_size=64), max_size=8))
    def test_random_bytes_only_ever_raise_protocol_error(self, chunks: list[bytes]) -> None:
        reader = PduReader(V30, max_frame_size=4096)
        for chunk in chunks:
            reader.receive_data(chunk)
            try:
                while reader.next_pdu() is not None:
                    pass
            except PduDecodeError:
                continue
            except ProtocolError:
                return

    @BOTH
    @settings(max_examples=300)
    @given(
        command_id=st.sampled_from(list(CommandId)),
        sequence=st.integers(0, 0xFFFFFFFF),
        body=st.binary(max_size=300),
    )
    def test_random_bodies_decode_or_raise_pdu_decode_error(
        self, version: CmppVersion, command_id: CommandId, sequence: int, body: bytes
    ) -> None:
        wire = (
            (HEADER_SIZE + len(body)).to_bytes(4, "big")
            + command_id.to_bytes(4, "big")
            + sequence.to_bytes(4, "big")
        )
        try:
            pdu = decode(wire + body, version)
        except PduDecodeError as exc:
            assert (exc.command_id, exc.sequence) == (command_id, sequence)
        else:
            assert (pdu.command_id, pdu.sequence) == (command_id, sequence)


class TestTruncation:
    @BOTH
    @settings(max_examples=50)
    @given(data=st.data())
    def test_cut_frame_is_not_a_frame(self, version: CmppVersion, data: st.DataObject) -> None:
        wire = encode(data.draw(pdus(version)), version)
        cut = data.draw(st.integers(0, len(wire) - 1))
        with pytest.raises(ProtocolError):
            decode(wire[:cut], version)

    @BOTH
    @settings(max_examples=50)
    @given(data=st.data())
    def test_submit_or_deliver_with_a_short_body_is_reported(
        self, version: CmppVersion, data: st.DataObject
    ) -> None:
        strategies = pdu_strategies(version)
        wire = encode(data.draw(st.one_of(strategies[Submit], strategies[Deliver])), version)
        cut = data.draw(st.integers(HEADER_SIZE, len(wire) - 1))
        short = cut.to_bytes(4, "big") + wire[4:cut]
        with pytest.raises(PduDecodeError):
            decode(short, version)

    def test_extra_octets_after_a_body_are_reported(self) -> None:
        wire = encode(Submit(sequence=1, dest_terminal_ids=("1",), msg_content=b""), V30) + b"\0"
        wire = len(wire).to_bytes(4, "big") + wire[4:]
        with pytest.raises(PduDecodeError):
            decode(wire, V30)


class TestTextFields:
    def test_text_stops_at_the_first_nul(self) -> None:
        wire = bytearray(
            encode(
                Connect(
                    sequence=1, source_addr="901", authenticator_source=bytes(16), version=0x30, timestamp=0
                ),
                V30,
            )
        )
        wire[HEADER_SIZE + 4] = ord("Z")  # junk after the terminating NUL
        decoded = decode(bytes(wire), V30)
        assert isinstance(decoded, Connect)
        assert decoded.source_addr == "901"

    def test_non_ascii_text_is_reported(self) -> None:
        wire = bytearray(
            encode(
                Connect(
                    sequence=1, source_addr="901", authenticator_source=bytes(16), version=0x30, timestamp=0
                ),
                V30,
            )
        )
        wire[HEADER_SIZE] = 0xC4
        with pytest.raises(PduDecodeError):
            decode(bytes(wire), V30)


class TestEncodeRejects:
    @pytest.mark.parametrize(
        "pdu",
        [
            Submit(sequence=1, service_id="x" * 11, dest_terminal_ids=("1",), msg_content=b""),
            Submit(sequence=1, src_id="号码", dest_terminal_ids=("1",), msg_content=b""),
            Submit(sequence=1, src_id="10\x0069", dest_terminal_ids=("1",), msg_content=b""),
            Submit(sequence=1, dest_terminal_ids=("1" * 33,), msg_content=b""),
            Submit(sequence=1, dest_terminal_ids=("1",) * 256, msg_content=b""),
            Submit(sequence=1, dest_terminal_ids=("1",), msg_content=bytes(256)),
            Submit(sequence=1, pk_total=256, dest_terminal_ids=("1",), msg_content=b""),
            Submit(sequence=1, msg_id=bytes(7), dest_terminal_ids=("1",), msg_content=b""),
            SubmitResp(sequence=1, msg_id=bytes(8), result=-1),
            SubmitResp(sequence=1 << 32, msg_id=bytes(8), result=0),
            Connect(
                sequence=1, source_addr="900001", authenticator_source=bytes(15), version=0x30, timestamp=0
            ),
        ],
    )
    def test_values_the_wire_cannot_carry(self, pdu: Pdu) -> None:
        with pytest.raises(ValueError):
            encode(pdu, V30)

    def test_2_0_terminal_ids_are_21_octets(self) -> None:
        pdu = Submit(sequence=1, dest_terminal_ids=("1" * 22,), msg_content=b"")
        assert len(encode(pdu, V30)) > 0
        with pytest.raises(ValueError):
            encode(pdu, V20)

    def test_2_0_results_are_one_octet(self) -> None:
        with pytest.raises(ValueError):
            encode(SubmitResp(sequence=1, msg_id=bytes(8), result=256), V20)
