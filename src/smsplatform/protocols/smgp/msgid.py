"""The 10-octet MsgID (spec §6.2.26): SMGW code, receive time and a sequence, all in BCD.

    octets 0-2  SMGW code, 6 digits (3-digit area code, device type 06, device number)
    octets 3-6  time the gateway received the message, MMDDHHMM
    octets 7-9  sequence 000000-999999, wrapping

Its canonical text is the 20 digits, e.g. "01006101161700012345"; that is the form stored and
matched against status reports. Gateways that fill the ten octets otherwise still get a text form
(upper-case hex), so nothing but `msg_id_parts` and `group_msg_ids` relies on the BCD layout.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smgp.pdu import MSG_ID_LENGTH

SEQUENCE_MODULUS: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class MsgIdParts:
    gateway_code: str
    month: int
    day: int
    hour: int
    minute: int
    sequence: int


def format_msg_id(msg_id: bytes) -> str:
    """The 20-digit text of a MsgID."""
    if len(msg_id) != MSG_ID_LENGTH:
        raise ValueError(f"a MsgID is {MSG_ID_LENGTH} octets, got {len(msg_id)}")
    return msg_id.hex().upper()


def parse_msg_id(text: str) -> bytes:
    """The octets of a MsgID written as its 20 digits (hex digits in either case are accepted)."""
    if len(text) != 2 * MSG_ID_LENGTH:
        raise ValueError(f"a MsgID is {2 * MSG_ID_LENGTH} digits, got {text!r}")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise ValueError(f"a MsgID is written in hex digits, got {text!r}") from exc


def build_msg_id(gateway_code: str, when: datetime, sequence: int) -> bytes:
    _check_gateway_code(gateway_code)
    if not 0 <= sequence < SEQUENCE_MODULUS:
        raise ValueError(f"MsgID sequence is 0-999999, got {sequence}")
    return bytes.fromhex(f"{gateway_code}{when:%m%d%H%M}{sequence:06d}")


def msg_id_parts(msg_id: bytes) -> MsgIdParts:
    """The fields of a MsgID received from a peer; ProtocolError when it is not BCD."""
    digits = format_msg_id(msg_id)
    if not digits.isdigit():
        raise ProtocolError(f"MsgID {digits} is not BCD")
    return MsgIdParts(
        gateway_code=digits[0:6],
        month=int(digits[6:8]),
        day=int(digits[8:10]),
        hour=int(digits[10:12]),
        minute=int(digits[12:14]),
        sequence=int(digits[14:20]),
    )


def group_msg_ids(first: bytes, count: int) -> list[bytes]:
    """The MsgIDs of the recipients of one Submit, in DestTermID order (spec appendix B).

    A Submit_Resp to n recipients carries only the first id; the k-th recipient's is that id with
    k added to its sequence, which wraps from 999999 to 0 without touching code or time.
    """
    if count < 1:
        raise ValueError(f"a Submit has at least one recipient, got {count}")
    if count == 1:
        return [first]
    parts = msg_id_parts(first)
    prefix = first[:7]
    return [prefix + bytes.fromhex(f"{(parts.sequence + k) % SEQUENCE_MODULUS:06d}") for k in range(count)]


class MsgIdGenerator:
    """Hands out MsgIDs as a gateway (the simulator) does; the caller supplies the clock.

    Not thread-safe: one generator per gateway, used from its event loop.
    """

    __slots__ = ("_gateway_code", "_next_sequence", "_prefix", "_when")

    def __init__(self, gateway_code: str, first_sequence: int = 0) -> None:
        _check_gateway_code(gateway_code)
        if not 0 <= first_sequence < SEQUENCE_MODULUS:
            raise ValueError(f"MsgID sequence is 0-999999, got {first_sequence}")
        self._gateway_code = gateway_code
        self._next_sequence = first_sequence
        self._when: datetime | None = None
        self._prefix = ""  # the digits of the code and the minute of _when

    def next_id(self, now: datetime, count: int = 1) -> bytes:
        """The id of a message received at `now`; with `count` > 1, the first of a block for a group
        Submit, whose other ids (`group_msg_ids`) are reserved so no later message reuses them."""
        return bytes.fromhex(self.next_text(now, count))

    def next_text(self, now: datetime, count: int = 1) -> str:
        """`next_id` in its text form (`format_msg_id`)."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        if now != self._when:  # ids come by the thousand a minute: format the time once
            self._when = now
            self._prefix = f"{self._gateway_code}{now:%m%d%H%M}"
        text = f"{self._prefix}{self._next_sequence:06d}"
        self._next_sequence = (self._next_sequence + count) % SEQUENCE_MODULUS
        return text


def _check_gateway_code(gateway_code: str) -> None:
    if len(gateway_code) != 6 or not gateway_code.isascii() or not gateway_code.isdigit():
        raise ValueError(f"an SMGW code is 6 digits, got {gateway_code!r}")
