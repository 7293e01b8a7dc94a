"""Simulated SMSCs on our own codecs: the embedded default upstream and a test peer.

`server.py` is the protocol-neutral SMSC, `dialect.py` the seam to a protocol (`smpp.py` first),
`rules.py` decides outcomes, `control.py` drives a simulator in another process.
"""

from smsplatform.simulator.rules import LastDigitRule, OutcomeRule, PercentageRule
from smsplatform.simulator.runner import create_simulator, register_dialect, run_simulator
from smsplatform.simulator.server import ReceivedMessage, SmscServer

__all__ = [
    "LastDigitRule",
    "OutcomeRule",
    "PercentageRule",
    "ReceivedMessage",
    "SmscServer",
    "create_simulator",
    "register_dialect",
    "run_simulator",
]
