"""Report State values and their translation to and from the receipt stat words used platform-wide.

SGIP's Report collapses the SMSC's final states into three (spec §5.4); going to a stat word we keep
the most common reading of each, and going back (for the simulator) we fold the words as §5.4 does.
"""

from enum import IntEnum


class ReportState(IntEnum):
    DELIVERED = 0
    WAITING = 1
    FAILED = 2


_STAT_WORDS: dict[int, str] = {
    ReportState.DELIVERED: "DELIVRD",
    ReportState.WAITING: "ENROUTE",
    ReportState.FAILED: "UNDELIV",
}
_WAITING_WORDS = frozenset({"ENROUTE", "ACCEPTD"})


def receipt_stat(state: int) -> str:
    """The stat word for a Report State; a State the spec does not define reads as "UNKNOWN"."""
    return _STAT_WORDS.get(state, "UNKNOWN")


def is_final_state(state: int) -> bool:
    """Whether no further Report should be expected for the message (only "waiting" is not final)."""
    return state != ReportState.WAITING


def report_state_for_stat(stat: str) -> ReportState:
    """The State a Report should carry for an SMSC stat word (DELIVRD, ENROUTE, EXPIRED, ...)."""
    word = stat.strip().upper()
    if word == "DELIVRD":
        return ReportState.DELIVERED
    if word in _WAITING_WORDS:
        return ReportState.WAITING
    return ReportState.FAILED
