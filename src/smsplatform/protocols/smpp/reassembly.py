"""Putting the parts of a long incoming message back together.

Parts arrive in any order, interleaved with other messages, and sometimes not at all. They are
grouped by originator, recipient, reference and part count, the way 23.040 scopes a concatenation
reference. The reassembler has no clock: callers pass `now` (any monotonic seconds) and call
`expire` now and then to collect sets that will never complete.
"""

from dataclasses import dataclass, field

from smsplatform.protocols.concat import parse_concat
from smsplatform.protocols.smpp.coding import decode_user_data
from smsplatform.protocols.smpp.pdu import DataSm, ShortMessage
from smsplatform.protocols.text import DecodeErrors

MessagePdu = ShortMessage | DataSm

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_PENDING = 10_000


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


_Key = tuple[str, str, str, int, int]


@dataclass(slots=True)
class _PendingSet:
    first_seen: float
    total: int
    parts: dict[int, tuple[MessagePdu, bytes]] = field(default_factory=dict)

    def assemble(self, complete: bool) -> AssembledMessage:
        ordered = [self.parts[seq] for seq in sorted(self.parts)]
        first = ordered[0][0]
        return AssembledMessage(
            source_addr=first.source_addr,
            destination_addr=first.destination_addr,
            data_coding=first.data_coding,
            user_data=b"".join(body for _, body in ordered),
            parts=tuple(pdu for pdu, _ in ordered),
            complete=complete,
        )


class Reassembler:
    """Collects segments of deliver_sm/data_sm (or, in a simulator, submit_sm) messages.

    Segments are recognised by a concatenation UDH (when the UDHI flag is set) or by all three
    sar_* TLVs; anything else, including a whole text in message_payload, is complete at once.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._timeout = timeout
        self._max_pending = max_pending
        self._pending: dict[_Key, _PendingSet] = {}
        self._evicted: list[AssembledMessage] = []

    @property
    def pending(self) -> int:
        """Incomplete sets being held."""
        return len(self._pending)

    def feed(self, pdu: MessagePdu, now: float) -> AssembledMessage | None:
        """Add one PDU; the whole message once its last part is in, else None.

        `ProtocolError` when the user data header is malformed or a sar_* TLV is not an integer.
        """
        user_data = pdu.user_data
        if pdu.udhi:
            info, body = parse_concat(user_data)
            if info is None:
                return self._single(pdu, body)
            scheme, ref, total, seq = "udh", info.ref, info.total, info.seq
        else:
            body = user_data
            sar_ref, sar_total, sar_seq = pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum
            # Spec §5.3.2.22-24: each sar_* TLV is ignored unless all three are present.
            if sar_ref is None or sar_total is None or sar_seq is None or not 1 <= sar_seq <= sar_total:
                return self._single(pdu, body)
            scheme, ref, total, seq = "sar", sar_ref, sar_total, sar_seq
        if total == 1:
            return self._single(pdu, body)
        key = (scheme, pdu.source_addr, pdu.destination_addr, ref, total)
        pending = self._pending.get(key)
        if pending is None:
            self._make_room()
            pending = self._pending[key] = _PendingSet(first_seen=now, total=total)
        pending.parts[seq] = (pdu, body)  # a resent part replaces the earlier copy
        if len(pending.parts) < total:
            return None
        del self._pending[key]
        return pending.assemble(complete=True)

    def expire(self, now: float) -> list[AssembledMessage]:
        """Give up on sets older than the timeout (and any evicted for room) and return what they had."""
        expired, self._evicted = self._evicted, []
        stale = [key for key, pending in self._pending.items() if now - pending.first_seen >= self._timeout]
        for key in stale:
            expired.append(self._pending.pop(key).assemble(complete=False))
        return expired

    def _make_room(self) -> None:
        while self._pending and len(self._pending) >= self._max_pending:
            oldest = next(iter(self._pending))
            self._evicted.append(self._pending.pop(oldest).assemble(complete=False))

    @staticmethod
    def _single(pdu: MessagePdu, body: bytes) -> AssembledMessage:
        return AssembledMessage(
            source_addr=pdu.source_addr,
            destination_addr=pdu.destination_addr,
            data_coding=pdu.data_coding,
            user_data=body,
            parts=(pdu,),
        )
