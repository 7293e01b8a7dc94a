"""How long a message may wait, and the words its customer reads when waiting ran out.

Two clocks end a message that would otherwise never end:

- its kind's maximum age, from acceptance to submission: a verification code not on its way within
  minutes is useless (the subscriber asked for another long ago), and sending it later only confuses.
  Such a message fails, its fee is refunded, and its report says `EXPIRED` with errcode `MAXAGE`;
- the receipt timeout, from submission to the status report: a carrier that never reports (or a
  simulator that died with its pending reports) would leave the message `submitted` for good. It ends
  `unknown`, its report says `UNKNOWN` with errcode `TIMEOUT`, and nothing is refunded (the carrier
  took it and bills it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smsplatform.domain.templates import TemplateKind

# The report of a message that was never submitted within its kind's maximum age.
EXPIRED_STAT = "EXPIRED"
MAX_AGE_ERRCODE = "MAXAGE"
# The report of a submitted message whose status report never came within the receipt timeout.
UNKNOWN_STAT = "UNKNOWN"
TIMEOUT_ERRCODE = "TIMEOUT"

RECEIPT_TIMEOUT = 72 * 3600  # seconds; carriers keep trying to deliver for up to 48-72 hours
# A connector option (`--option receipt_timeout=SECONDS`) that overrides it for that link's messages.
RECEIPT_TIMEOUT_OPTION = "receipt_timeout"
MAX_SECONDS = 365 * 86400  # no message waits longer than a year: a longer setting is a typing mistake


@dataclass(frozen=True, slots=True)
class MaxAges:
    """The platform's maximum age of each kind, in seconds, from acceptance to submission."""

    verification: int = 10 * 60
    notification: int = 24 * 3600
    marketing: int = 24 * 3600

    def of(self, kind: str, overrides: Mapping[str, int] | None = None) -> int:
        """`kind`'s maximum age: the sub-account's override, else the platform's (an unknown kind,
        which the API never stores, gets the longest)."""
        if overrides:
            override = overrides.get(kind)
            if isinstance(override, int) and override > 0:
                return override
        if kind == TemplateKind.VERIFICATION:
            return self.verification
        if kind == TemplateKind.NOTIFICATION:
            return self.notification
        if kind == TemplateKind.MARKETING:
            return self.marketing
        return max(self.verification, self.notification, self.marketing)


def parse_seconds(raw: str) -> int:
    """A positive number of seconds, as an operator writes it: `600`, `10m`, `24h`, `1d`."""
    text = raw.strip().lower()
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:], 0)
    number = text[:-1] if unit else text
    if not (number.isascii() and number.isdigit()):
        raise ValueError(f"expected seconds (e.g. 600, 10m, 24h, 1d), got {raw!r}")
    seconds = int(number) * (unit or 1)
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"expected 1 second to 365 days, got {raw!r}")
    return seconds


DEFAULT_MAX_AGES = MaxAges()
