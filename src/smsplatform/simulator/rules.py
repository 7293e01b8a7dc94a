"""What happens to a submitted message: the final state its receipt reports, and when.

Rules are chosen per simulator. The default, LastDigitRule, lets a test or a demo pick the outcome
through the destination number alone:

    last digit 0-6  DELIVRD
    last digit 7    UNDELIV
    last digit 8    EXPIRED
    last digit 9    REJECTD

Each receipt is sent `delay` seconds (default 0.2) after the submit was answered. Receipts carry
err "000" for DELIVRD and otherwise the SMPP message_state number of the state, three digits
(UNDELIV "005", EXPIRED "003", REJECTD "008", ...), so a failure is never reported with err 000.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DELAY = 0.2

# SMPP 3.4 section 5.2.28 message_state values, keyed by the receipt's stat text.
MESSAGE_STATES: Mapping[str, int] = {
    "ENROUTE": 1,
    "DELIVRD": 2,
    "EXPIRED": 3,
    "DELETED": 4,
    "UNDELIV": 5,
    "ACCEPTD": 6,
    "UNKNOWN": 7,
    "REJECTD": 8,
}

LAST_DIGIT_OUTCOMES: Mapping[str, str] = {
    **dict.fromkeys("0123456", "DELIVRD"),
    "7": "UNDELIV",
    "8": "EXPIRED",
    "9": "REJECTD",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    stat: str  # 7-character final state, as receipts spell it
    err: str  # 3-digit error code

    @classmethod
    def of(cls, stat: str) -> Outcome:
        if stat not in MESSAGE_STATES:
            raise ValueError(f"unknown final state {stat!r}; expected one of {sorted(MESSAGE_STATES)}")
        return cls(stat, "000" if stat == "DELIVRD" else f"{MESSAGE_STATES[stat]:03d}")


class OutcomeRule(ABC):
    """Decides each message's final state; `delay` is the seconds before its receipt."""

    def __init__(self, delay: float = DEFAULT_DELAY) -> None:
        if delay < 0:
            raise ValueError("delay must not be negative")
        self.delay = delay

    @abstractmethod
    def outcome(self, destination: str) -> Outcome: ...


class LastDigitRule(OutcomeRule):
    """The outcome by the destination's last digit (see the module docstring for the default map)."""

    def __init__(self, mapping: Mapping[str, str] | None = None, delay: float = DEFAULT_DELAY) -> None:
        super().__init__(delay)
        chosen = LAST_DIGIT_OUTCOMES if mapping is None else mapping
        self._outcomes = {digit: Outcome.of(stat) for digit, stat in chosen.items()}
        self._fallback = Outcome.of("DELIVRD")

    def outcome(self, destination: str) -> Outcome:
        return self._outcomes.get(destination[-1:], self._fallback)


class PercentageRule(OutcomeRule):
    """Outcomes drawn at random with the given weights, e.g. {"DELIVRD": 95, "UNDELIV": 5}.

    A seed makes the sequence of outcomes repeatable.
    """

    def __init__(
        self, weights: Mapping[str, float], seed: int | None = None, delay: float = DEFAULT_DELAY
    ) -> None:
        super().__init__(delay)
        if not weights or any(weight < 0 for weight in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError("weights must be non-negative and add up to more than 0")
        self._outcomes = [Outcome.of(stat) for stat in weights]
        self._weights = list(weights.values())
        self._random = random.Random(seed)

    def outcome(self, destination: str) -> Outcome:
        return self._random.choices(self._outcomes, self._weights)[0]


def parse_outcomes(text: str, delay: float = DEFAULT_DELAY) -> OutcomeRule:
    """The rule a command line names; ValueError when it names none.

    - "last-digit": the default map (module docstring);
    - "last-digit:0-4=EXPIRED,5-9=REJECTD" (digits as ranges or lists, "789=UNDELIV"): the default
      map with those digits changed, so that two simulators can decide differently for every number;
    - "DELIVRD=95,UNDELIV=5": a PercentageRule with those weights.
    """
    name, _, spec = text.partition(":")
    if name.strip() == "last-digit":
        mapping = dict(LAST_DIGIT_OUTCOMES)
        for item in filter(None, (part.strip() for part in spec.split(","))):
            digits, sep, stat = item.partition("=")
            if not sep:
                raise ValueError(f"{item!r} is not DIGITS=STATE")
            first, dash, last = digits.strip().partition("-")
            chosen = _digit_range(first, last) if dash else digits.strip()
            if not chosen or not chosen.isdigit() or not chosen.isascii():
                raise ValueError(f"{digits!r} are not last digits")
            Outcome.of(stat.strip().upper())  # a known state, or ValueError
            mapping.update(dict.fromkeys(chosen, stat.strip().upper()))
        return LastDigitRule(mapping, delay=delay)
    weights: dict[str, float] = {}
    for part in text.split(","):
        stat, _, weight = part.partition("=")
        weights[stat.strip().upper()] = float(weight)
    return PercentageRule(weights, delay=delay)


def _digit_range(first: str, last: str) -> str:
    if len(first) != 1 or len(last) != 1 or not (first + last).isdigit() or first > last:
        raise ValueError(f"{first}-{last} is not a range of digits")
    return "".join(str(d) for d in range(int(first), int(last) + 1))
