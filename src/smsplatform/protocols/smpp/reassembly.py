"""Putting the parts of a long incoming message back together.

Parts arrive in any order, interleaved with other messages, and sometimes not at all. They are
grouped by originator, recipient, reference and part count, the way 23.040 scopes a concatenation
reference. Callers pass `now` (any monotonic seconds) and call `expire` now and then to collect
sets that will never complete.
"""

from dataclasses import dataclass

from smsplatform.protocols.concat import parse_concat
from smsplatform.protocols.reassembly import DEFAULT_MAX_PENDING
from smsplatform.protocols.reassembly import Reassembler as Parts
from smsplatform.protocols.smpp.coding import decode_user_data
from smsplatform.protocols.smpp.pdu import DataSm, ShortMessage
from smsplatform.protocols.text import DecodeErrors

MessagePdu = ShortMessage | DataSm

DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AssembledMessage:
    """A whole message: its parts in order and their user data joined, headers removed.

    `complete` is False only for sets handed back by `Reassembler.expire`, whose missing parts
    are simply absent from `parts` and `user_data`.
    """

    source_addr: str
    destination_addr: str
    data_coding: int
    user_data: bytes
    parts: tuple[MessagePdu, ...]
    complete: bool = True

    def text(self, errors: DecodeErrors = "strict") -> str:
        """The user data decoded per the first part's data_coding (`ProtocolError` if binary)."""
        return decode_user_data(self.user_data, self.data_coding, errors)


class Reassembler:
    """Collects segments of deliver_sm/data_sm (or, in a simulator, submit_sm) messages.

    Segments are recognised by a concatenation UDH (when the UDHI flag is set) or by all three
    sar_* TLVs; anything else, including a whole text in message_payload, is complete at once. The
    parts are filed in the shared `protocols.reassembly.Reassembler`.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._parts: Parts[tuple[MessagePdu, bytes]] = Parts(
            ttl=timeout, max_pending=max_pending, keep_incomplete=True
        )

    @property
    def pending(self) -> int:
        """Incomplete sets being held."""
        return len(self._parts)

    def feed(self, pdu: MessagePdu, now: float) -> AssembledMessage | None:
        """Add one PDU; the whole message once its last part is in, else None.

        `ProtocolError` when the user data header is malformed or a sar_* TLV is not an integer.
        """
        user_data = pdu.user_data
        if pdu.udhi:
            info, body = parse_concat(user_data)
            if info is None:
                return _assemble([(pdu, body)], complete=True)
            scheme, ref, total, seq = "udh", info.ref, info.total, info.seq
        else:
            body = user_data
            sar_ref, sar_total, sar_seq = pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum
            # Spec §5.3.2.22-24: each sar_* TLV is ignored unless all three are present.
            if sar_ref is None or sar_total is None or sar_seq is None or not 1 <= sar_seq <= sar_total:
                return _assemble([(pdu, body)], complete=True)
            scheme, ref, total, seq = "sar", sar_ref, sar_total, sar_seq
        if total == 1:
            return _assemble([(pdu, body)], complete=True)
        # 23.040 scopes a concatenation reference to its originator and recipient.
        key = (scheme, pdu.source_addr, pdu.destination_addr, ref, total)
        parts = self._parts.add(key, total, seq, (pdu, body), now=now)
        return None if parts is None else _assemble(parts, complete=True)

    def expire(self, now: float) -> list[AssembledMessage]:
        """Give up on sets older than the timeout (and any evicted for room) and return what they had."""
        return [_assemble(parts, complete=False) for parts in self._parts.expire(now)]


def _assemble(parts: list[tuple[MessagePdu, bytes]], complete: bool) -> AssembledMessage:
    first = parts[0][0]
    return AssembledMessage(
        source_addr=first.source_addr,
        destination_addr=first.destination_addr,
        data_coding=first.data_coding,
        user_data=b"".join(body for _, body in parts),
        parts=tuple(pdu for pdu, _ in parts),
        complete=complete,
    )
