"""Micro-benchmark of the protocol codecs on the PDUs every message costs a link.

    .venv/bin/python bench/codecs.py [--rounds 15] [--target 0.02]

For each protocol, measures in the same run the µs per `encode` and per `decode` of:
- a typical submit: 70 characters of UCS-2 text (140 octets) to one destination, receipt requested;
- its response;
- a status-report deliver (SGIP: Report) and its response;
and the GSM 7-bit check and encoding of a 160-character ASCII text (`protocols/text.py`).
Prints the figures, then each protocol's total per message relative to SMPP, the baseline
(below 1.00 means cheaper than SMPP).

Then the hot path, as links send those PDUs: each written by its protocol's `frames.py` writer (checked
to give the codec's bytes) and decoded by the codec at the other end. "submit" there is the cost of one
submit, written and read; each protocol's is also shown relative to the mean of the others'.

Each figure is the best of `--rounds` timed runs, taken in interleaved rounds over all figures and timed
in CPU time of this thread, so that other work on a busy machine inflates them less, and alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from smsplatform.protocols.cmpp import codec as cmpp_codec
from smsplatform.protocols.cmpp import frames as cmpp_frames
from smsplatform.protocols.cmpp import pdu as cmpp
from smsplatform.protocols.cmpp.report import StatusReport as CmppReport
from smsplatform.protocols.cmpp.report import build_report as build_cmpp_report
from smsplatform.protocols.sgip import codec as sgip_codec
from smsplatform.protocols.sgip import frames as sgip_frames
from smsplatform.protocols.sgip import pdu as sgip
from smsplatform.protocols.smgp import codec as smgp_codec
from smsplatform.protocols.smgp import frames as smgp_frames
from smsplatform.protocols.smgp import pdu as smgp
from smsplatform.protocols.smgp.report import StatusReport as SmgpReport
from smsplatform.protocols.smgp.report import build_report as build_smgp_report
from smsplatform.protocols.smpp import codec as smpp_codec
from smsplatform.protocols.smpp import frames as smpp_frames
from smsplatform.protocols.smpp import pdu as smpp
from smsplatform.protocols.smpp.receipt import Receipt, format_receipt
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag
from smsplatform.protocols.text import TextEncoding, can_encode, encode_text

TEXT = ("【示例】您的验证码是123456，五分钟内有效，请勿泄露给他人。如非本人操作请忽略本短信。" * 2)[:70]
CONTENT = TEXT.encode("utf-16-be")
SOURCE = "1069000101"
DESTINATION = "13800138000"
SUBMIT_TIME, DONE_TIME = "2601021530", "2601021531"
GSM_TEXT = ("Your verification code is 123456. It expires in 5 minutes; do not share it with anyone! " * 2)[
    :160
]

ROWS = ("submit", "submit resp", "report", "report resp")


Writer = Callable[[], bytes | None]


@dataclass(frozen=True)
class Protocol:
    name: str
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]
    pdus: tuple[Any, ...]  # one per ROWS entry
    writers: tuple[Writer, ...]  # the frames.py writer of each PDU, one per ROWS entry


def smpp_protocol() -> Protocol:
    receipt = format_receipt(
        Receipt(
            id="0000001A2B",
            stat="DELIVRD",
            submit_date=SUBMIT_TIME,
            done_date=DONE_TIME,
            text="",
        )
    )
    pdus = (
        smpp.SubmitSm(
            sequence=1,
            source_addr_npi=1,
            source_addr=SOURCE,
            dest_addr_npi=1,
            destination_addr=DESTINATION,
            registered_delivery=1,
            data_coding=8,
            short_message=CONTENT,
        ),
        smpp.SubmitSmResp(sequence=1, message_id="0000001A2B"),
        smpp.DeliverSm(
            sequence=2,
            source_addr=DESTINATION,
            destination_addr=SOURCE,
            esm_class=smpp.ESM_CLASS_DELIVERY_RECEIPT,
            short_message=receipt.encode("ascii"),
            tlvs=(
                Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "0000001A2B"),
                Tlv.uint(TlvTag.MESSAGE_STATE, smpp.MessageState.DELIVERED, 1),
            ),
        ),
        smpp.DeliverSmResp(sequence=2),
    )
    submit, submit_resp, report, report_resp = pdus
    report_tlvs = smpp_codec.encode(replace(report, short_message=b""))[
        len(smpp_codec.encode(replace(report, short_message=b"", tlvs=()))) :
    ]
    submit_framer = smpp_frames.ShortMessageFramer(submit)
    report_framer = smpp_frames.ShortMessageFramer(report)
    writers: tuple[Writer, ...] = (
        partial(
            submit_framer.frame,
            submit.sequence,
            submit.source_addr,
            submit.destination_addr,
            submit.esm_class,
            submit.registered_delivery,
            submit.data_coding,
            submit.short_message,
        ),
        partial(smpp_frames.message_response_frame, submit_resp.command_id, 0, 1, submit_resp.message_id),
        partial(
            report_framer.frame,
            report.sequence,
            report.source_addr,
            report.destination_addr,
            report.esm_class,
            report.registered_delivery,
            report.data_coding,
            report.short_message,
            report_tlvs,
        ),
        partial(smpp_frames.message_response_frame, report_resp.command_id, 0, 2),
    )
    return Protocol("SMPP", smpp_codec.encode, smpp_codec.decode, pdus, writers)


def cmpp_protocol(version: cmpp.CmppVersion) -> Protocol:
    msg_id = bytes.fromhex("b4c5530000010000")
    report = build_cmpp_report(
        CmppReport(
            msg_id=msg_id,
            stat="DELIVRD",
            submit_time=SUBMIT_TIME,
            done_time=DONE_TIME,
            dest_terminal_id=DESTINATION,
            smsc_sequence=2,
        ),
        version,
    )
    pdus = (
        cmpp.Submit(
            sequence=1,
            registered_delivery=1,
            service_id="SVC",
            fee_user_type=2,
            msg_fmt=cmpp.MsgFmt.UCS2,
            msg_src="901234",
            fee_type="01",
            fee_code="0",
            src_id=SOURCE,
            dest_terminal_ids=(DESTINATION,),
            msg_content=CONTENT,
        ),
        cmpp.SubmitResp(sequence=1, msg_id=msg_id, result=0),
        cmpp.Deliver(
            sequence=2,
            msg_id=bytes.fromhex("b4c5530000020000"),
            dest_id=SOURCE,
            src_terminal_id=DESTINATION,
            registered_delivery=1,
            msg_content=report,
        ),
        cmpp.DeliverResp(sequence=2, msg_id=bytes.fromhex("b4c5530000020000"), result=0),
    )
    submit, submit_resp, deliver, deliver_resp = pdus
    submit_framer = cmpp_frames.SubmitFramer(submit, version)
    deliver_framer = cmpp_frames.DeliverFramer(deliver, version)
    writers: tuple[Writer, ...] = (
        partial(
            submit_framer.frame,
            submit.sequence,
            submit.pk_total,
            submit.pk_number,
            submit.registered_delivery,
            submit.tp_udhi,
            submit.msg_fmt,
            submit.src_id,
            DESTINATION,
            submit.msg_content,
        ),
        partial(
            cmpp_frames.message_response_frame, submit_resp.command_id, 1, msg_id, submit_resp.result, version
        ),
        partial(
            deliver_framer.report_frame,
            deliver.sequence,
            deliver.msg_id,
            deliver.dest_id,
            DESTINATION,
            msg_id,
            "DELIVRD",
            SUBMIT_TIME,
            DONE_TIME,
            2,
        ),
        partial(
            cmpp_frames.message_response_frame,
            deliver_resp.command_id,
            2,
            deliver_resp.msg_id,
            deliver_resp.result,
            version,
        ),
    )
    label = "CMPP 3.0" if version is cmpp.CmppVersion.V30 else "CMPP 2.0"
    return Protocol(
        label,
        lambda pdu: cmpp_codec.encode(pdu, version),
        lambda frame: cmpp_codec.decode(frame, version),
        pdus,
        writers,
    )


def sgip_protocol() -> Protocol:
    submit_sequence = sgip.SgipSequence(3000012345, 102153000, 1)
    report_sequence = sgip.SgipSequence(3000054321, 102153100, 2)
    pdus = (
        sgip.Submit(
            sequence=submit_sequence,
            sp_number=SOURCE,
            user_numbers=("86" + DESTINATION,),
            corp_id="12345",
            service_type="SVC",
            report_flag=sgip.ReportFlag.ALWAYS,
            message_coding=sgip.MessageCoding.UCS2,
            message_content=CONTENT,
        ),
        sgip.SubmitResp(sequence=submit_sequence, result=0),
        sgip.Report(
            sequence=report_sequence,
            submit_sequence=submit_sequence,
            user_number="86" + DESTINATION,
            state=0,
        ),
        sgip.ReportResp(sequence=report_sequence, result=0),
    )
    submit = pdus[0]
    submit_framer = sgip_frames.SubmitFramer(submit)
    writers: tuple[Writer, ...] = (
        partial(
            submit_framer.frame,
            submit_sequence,
            submit.sp_number,
            submit.user_numbers[0],
            submit.report_flag,
            submit.tp_udhi,
            submit.message_coding,
            submit.message_content,
        ),
        partial(sgip_frames.result_frame, sgip.CommandId.SUBMIT_RESP, submit_sequence, 0),
        partial(sgip_frames.report_frame, report_sequence, submit_sequence, "86" + DESTINATION, 0),
        partial(sgip_frames.result_frame, sgip.CommandId.REPORT_RESP, report_sequence, 0),
    )
    return Protocol("SGIP", sgip_codec.encode, sgip_codec.decode, pdus, writers)


def smgp_protocol() -> Protocol:
    msg_id = bytes.fromhex("00000101021530000001")
    report = build_smgp_report(
        SmgpReport(msg_id=msg_id, stat="DELIVRD", submit_date=SUBMIT_TIME, done_date=DONE_TIME)
    )
    deliver_id = bytes.fromhex("00000101021531000002")
    pdus = (
        smgp.Submit(
            1,
            need_report=1,
            service_id="SVC",
            fee_type="00",
            msg_format=smgp.MsgFormat.UCS2,
            src_term_id=SOURCE,
            dest_term_ids=(DESTINATION,),
            msg_content=CONTENT,
        ),
        smgp.SubmitResp(1, msg_id=msg_id),
        smgp.Deliver(
            2,
            msg_id=deliver_id,
            is_report=1,
            recv_time="20260102153100",
            src_term_id=DESTINATION,
            dest_term_id=SOURCE,
            msg_content=report,
        ),
        smgp.DeliverResp(2, msg_id=deliver_id),
    )
    submit = pdus[0]
    submit_framer = smgp_frames.SubmitFramer(submit)
    writers: tuple[Writer, ...] = (
        partial(
            submit_framer.frame,
            1,
            submit.need_report,
            submit.msg_format,
            submit.src_term_id,
            DESTINATION,
            submit.msg_content,
        ),
        partial(smgp_frames.answer_frame, smgp.CommandId.SUBMIT_RESP, 1, msg_id, 0),
        partial(
            smgp_frames.deliver_frame, 2, deliver_id, 1, 0, "20260102153100", DESTINATION, SOURCE, report
        ),
        partial(smgp_frames.answer_frame, smgp.CommandId.DELIVER_RESP, 2, deliver_id, 0),
    )
    return Protocol("SMGP", smgp_codec.encode, smgp_codec.decode, pdus, writers)


class Bench:
    """Timers measured in interleaved rounds, so a burst of load elsewhere hits every figure alike."""

    def __init__(self, target: float) -> None:
        self._target = target
        self._timers: list[tuple[timeit.Timer, int]] = []
        self._best: list[float] = []

    def add(self, func: Callable[[], object]) -> int:
        """Calibrate `func` to about `target` seconds a run; returns the handle for `us`."""
        timer = timeit.Timer(func, timer=time.thread_time)
        number = 1
        while (elapsed := timer.timeit(number)) < self._target / 10:
            number *= 2
        self._timers.append((timer, max(1, round(number * self._target / max(elapsed, 1e-9)))))
        self._best.append(float("inf"))
        return len(self._timers) - 1

    def run(self, rounds: int) -> None:
        for _ in range(rounds):
            for index, (timer, number) in enumerate(self._timers):
                self._best[index] = min(self._best[index], timer.timeit(number) / number)

    def us(self, handle: int) -> float:
        return self._best[handle] * 1e6


def add_protocol(bench: Bench, protocol: Protocol) -> dict[str, tuple[int, int, int]]:
    """Handles of (codec encode, codec decode, frames writer) per row."""
    handles: dict[str, tuple[int, int, int]] = {}
    for row, pdu, writer in zip(ROWS, protocol.pdus, protocol.writers, strict=True):
        frame = protocol.encode(pdu)
        if protocol.decode(frame) != pdu:
            raise SystemExit(f"{protocol.name} {row} does not survive a round trip")
        if writer() != frame:
            raise SystemExit(f"{protocol.name} {row}: the frames writer does not give the codec's bytes")
        handles[row] = (
            bench.add(partial(protocol.encode, pdu)),
            bench.add(partial(protocol.decode, frame)),
            bench.add(writer),
        )
    return handles


def machine() -> str:
    """The CPU and OS, for quoting the figures with the machine they came from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15, help="timed runs per figure; the best is kept")
    parser.add_argument("--target", type=float, default=0.02, help="seconds per timed run")
    args = parser.parse_args()

    protocols = [
        smpp_protocol(),
        cmpp_protocol(cmpp.CmppVersion.V30),
        cmpp_protocol(cmpp.CmppVersion.V20),
        sgip_protocol(),
        smgp_protocol(),
    ]
    bench = Bench(args.target)
    handles = {protocol.name: add_protocol(bench, protocol) for protocol in protocols}
    gsm_check = bench.add(lambda: can_encode(GSM_TEXT, TextEncoding.GSM7))
    gsm_encode = bench.add(lambda: encode_text(GSM_TEXT, TextEncoding.GSM7))
    bench.run(args.rounds)

    print(f"Python {platform.python_version()} on {machine()}")
    print(f"µs per call, best of {args.rounds} runs; submit = {len(TEXT)} UCS-2 characters to one number\n")
    width = 12
    print(f"{'':<24}" + "".join(f"{protocol.name:>{width}}" for protocol in protocols))
    for row in ROWS:
        for index, operation in enumerate(("encode", "decode")):
            cells = "".join(f"{bench.us(handles[p.name][row][index]):>{width}.2f}" for p in protocols)
            print(f"{row + ' ' + operation:<24}{cells}")
    totals = {
        name: sum(bench.us(encode) + bench.us(decode) for encode, decode, _ in rows.values())
        for name, rows in handles.items()
    }
    print(f"{'total per message':<24}" + "".join(f"{totals[p.name]:>{width}.2f}" for p in protocols))
    baseline = totals["SMPP"]
    print(
        f"{'relative to SMPP':<24}" + "".join(f"{totals[p.name] / baseline:>{width}.2f}" for p in protocols)
    )
    print("\nHot path: written by frames.py, read by the codec")
    print(f"{'':<24}" + "".join(f"{protocol.name:>{width}}" for protocol in protocols))
    for row in ROWS:
        cells = "".join(f"{bench.us(handles[p.name][row][2]):>{width}.2f}" for p in protocols)
        print(f"{row + ' write':<24}{cells}")
    hot = {
        name: sum(bench.us(decode) + bench.us(writer) for _, decode, writer in rows.values())
        for name, rows in handles.items()
    }
    submit = {
        name: bench.us(rows["submit"][1]) + bench.us(rows["submit"][2]) for name, rows in handles.items()
    }
    print(f"{'hot path per message':<24}" + "".join(f"{hot[p.name]:>{width}.2f}" for p in protocols))
    print(f"{'submit write + read':<24}" + "".join(f"{submit[p.name]:>{width}.2f}" for p in protocols))
    relative = {
        name: cost / (sum(other for key, other in submit.items() if key != name) / (len(submit) - 1))
        for name, cost in submit.items()
    }
    print(f"{'  vs mean of the others':<24}" + "".join(f"{relative[p.name]:>{width}.2f}" for p in protocols))
    print(
        f"\nGSM 7-bit, {len(GSM_TEXT)} characters: can_encode {bench.us(gsm_check):.2f} µs, "
        f"encode_text {bench.us(gsm_encode):.2f} µs"
    )


if __name__ == "__main__":
    main()
