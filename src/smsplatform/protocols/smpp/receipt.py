"""SMSC delivery receipts (spec Appendix B) and matching them to what we submitted.

The receipt text format is vendor specific; the Appendix B layout is the common ground, and the
parser forgives what vendors vary: key case, field order, "submit date" spelled "submit_date",
extra fields. Many SMSCs also, or only, say it with TLVs (receipted_message_id, message_state),
which `receipt_from_pdu` prefers because the TLV id is the submit_sm_resp id verbatim.
"""

import re
import string
from dataclasses import dataclass, replace

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.coding import encoding_for
from smsplatform.protocols.smpp.pdu import (
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_INTERMEDIATE_NOTIFICATION,
    DataSm,
    DeliverSm,
    MessageState,
    ShortMessage,
)
from smsplatform.protocols.smpp.tlv import TlvTag
from smsplatform.protocols.text import TextEncoding, decode_text

__all__ = [
    "STAT_FOR_STATE",
    "Receipt",
    "format_receipt",
    "is_receipt",
    "parse_receipt",
    "receipt_from_pdu",
    "receipt_id_forms",
    "receipt_text",
    "state_for_stat",
]

STAT_FOR_STATE = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}
_STATE_FOR_STAT = {stat: state for state, stat in STAT_FOR_STATE.items()} | {
    # Spellings seen from SMSCs that write the state's name out in full.
    "DELIVERED": MessageState.DELIVERED,
    "UNDELIVERABLE": MessageState.UNDELIVERABLE,
    "ACCEPTED": MessageState.ACCEPTED,
    "REJECTED": MessageState.REJECTED,
}


def state_for_stat(stat: str) -> MessageState | None:
    """The message state a receipt's stat field names, or None for a vendor word we do not know."""
    return _STATE_FOR_STAT.get(stat.strip().upper())


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """The fields of an Appendix B receipt, as the text they were sent as."""

    id: str
    stat: str
    sub: str = "001"
    dlvrd: str = "001"
    submit_date: str = ""
    done_date: str = ""
    err: str = "000"
    text: str = ""

    @property
    def state(self) -> MessageState | None:
        return state_for_stat(self.stat)


# Known keys first; any other "word:" is a vendor field, matched only so it ends the value before it.
_KEY = re.compile(
    r"\b(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text|[a-z_]+)[ \t]*:", re.IGNORECASE
)
_FIELDS = frozenset({"id", "sub", "dlvrd", "submit_date", "done_date", "stat", "err", "text"})


def _field_name(key: str) -> str:
    key = key.lower().replace(" ", "_")
    return {"submitdate": "submit_date", "donedate": "done_date"}.get(key, key)


def parse_receipt(text: str) -> Receipt:
    """Read receipt text; `ProtocolError` when it has no id or no stat.

    A value runs up to the next key. The free text field runs to the end once id and stat have
    been seen, so message text that happens to contain "id:" cannot hijack the id.
    """
    values: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        name = _field_name(match.group(1))
        is_last = index + 1 == len(matches)
        to_end = is_last or (name == "text" and "id" in values and "stat" in values)
        end = len(text) if to_end else matches[index + 1].start()
        value = text[match.end() : end]
        if name in _FIELDS:
            values.setdefault(name, value if name == "text" and to_end else value.strip())
        if to_end:
            break
    receipt_id, stat = values.pop("id", ""), values.pop("stat", "")
    if not receipt_id or not stat:
        raise ProtocolError(f"not a delivery receipt (no id or stat): {text[:80]!r}")
    # Fields the SMSC left out stay empty rather than taking the formatting defaults.
    missing = dict.fromkeys(("sub", "dlvrd", "submit_date", "done_date", "err", "text"), "")
    return Receipt(id=receipt_id, stat=stat, **(missing | values))


def format_receipt(receipt: Receipt) -> str:
    """The Appendix B text for `receipt`, as SMSCs (and our simulator) put it in short_message."""
    return receipt_text(
        receipt.id,
        receipt.stat,
        receipt.sub,
        receipt.dlvrd,
        receipt.submit_date,
        receipt.done_date,
        receipt.err,
        receipt.text,
    )


def receipt_text(
    id: str, stat: str, sub: str, dlvrd: str, submit_date: str, done_date: str, err: str, text: str
) -> str:
    """`format_receipt` from the fields themselves, for a sender that writes receipts by the thousand."""
    return (
        f"id:{id} sub:{sub} dlvrd:{dlvrd} submit date:{submit_date} "
        f"done date:{done_date} stat:{stat} err:{err} Text:{text}"
    )


def is_receipt(pdu: ShortMessage | DataSm) -> bool:
    """Whether an incoming deliver_sm/data_sm reports on a message rather than carrying one.

    The esm_class message type says so (delivery receipt, or intermediate notification); some
    SMSCs leave it at default and only add receipted_message_id, which an MO never carries.
    """
    if pdu.message_type in (ESM_CLASS_DELIVERY_RECEIPT, ESM_CLASS_INTERMEDIATE_NOTIFICATION):
        return True
    return pdu.message_type == 0 and pdu.tlv(TlvTag.RECEIPTED_MESSAGE_ID) is not None


def receipt_from_pdu(pdu: DeliverSm | DataSm) -> Receipt | None:
    """The receipt a deliver_sm/data_sm carries, from its TLVs and text; None if it is not one.

    `ProtocolError` when it is marked as a receipt but neither TLVs nor text say which message
    and what state.
    """
    if not is_receipt(pdu):
        return None
    parsed: Receipt | None = None
    if pdu.user_data:
        encoding = encoding_for(pdu.data_coding) or TextEncoding.LATIN1
        try:
            parsed = parse_receipt(decode_text(pdu.user_data, encoding, errors="replace"))
        except ProtocolError:
            parsed = None
    tlv_id = pdu.receipted_message_id
    tlv_state = pdu.message_state
    tlv_stat = STAT_FOR_STATE.get(MessageState(tlv_state), "") if tlv_state in _STATES else ""
    if parsed is not None:
        # The TLVs win where both speak: the id is verbatim, the state is not a vendor word.
        stat = tlv_stat if tlv_stat and parsed.state is None else parsed.stat
        return replace(parsed, id=tlv_id or parsed.id, stat=stat)
    if tlv_id and tlv_stat:
        return Receipt(id=tlv_id, stat=tlv_stat, dlvrd="001" if tlv_stat == "DELIVRD" else "000")
    raise ProtocolError(f"receipt with sequence {pdu.sequence} names no message id or state")


_STATES = frozenset(int(state) for state in MessageState)
_HEX_DIGITS = frozenset(string.hexdigits)


def receipt_id_forms(message_id: str) -> tuple[str, ...]:
    """The keys under which a message id is stored and looked up, most exact first.

    SMSCs often answer submit_sm with a hex id and then write it in decimal in the receipt text
    (or the other way round), sometimes zero-padded: "1A2B" and "0000006699" name the same message.
    Storing every form of the submit id and looking a receipt up by every form of its id makes
    them meet; the exact form comes first so a lookup can prefer it if two messages collide.
    """
    raw = message_id.strip()
    forms = [raw]
    if raw and raw.isascii() and raw.isdigit():
        forms.append(str(int(raw)))
    if raw and all(char in _HEX_DIGITS for char in raw):
        forms.append(str(int(raw, 16)))
    return tuple(dict.fromkeys(forms))
