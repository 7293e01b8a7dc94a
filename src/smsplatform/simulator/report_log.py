"""When each status report left the simulator, for measuring how long reports take to reach customers.

A benchmark turns the log on through the control port, runs a campaign, and has the log written to a
file: for each receipt sent (resends included), the system's monotonic clock (`time.monotonic()`,
CLOCK_MONOTONIC on Linux, which every process of the machine shares) and the destination number. Matched
by number with the times the customer's receiver got each report, it gives every report's delay from the
SMSC to the customer, measured outside the platform. Two flat arrays: a million reports cost 16 MB.
"""

from __future__ import annotations

import struct
import time
from array import array
from pathlib import Path

_COUNT = struct.Struct("<Q")


class ReportLog:
    def __init__(self) -> None:
        self.times = array("d")
        self.numbers = array("Q")  # destinations as integers (mainland numbers are 11 digits)

    def add(self, destination: str) -> None:
        self.times.append(time.monotonic())
        self.numbers.append(int(destination) if destination.isdigit() else 0)

    def __len__(self) -> int:
        return len(self.times)

    def write(self, path: Path) -> int:
        """Writes the log to `path`; returns how many reports it holds."""
        with path.open("wb") as file:
            file.write(_COUNT.pack(len(self.times)))
            self.times.tofile(file)
            self.numbers.tofile(file)
        return len(self.times)


def read_report_log(path: Path) -> ReportLog:
    """A log written by `ReportLog.write` (same machine: native byte order for the arrays)."""
    log = ReportLog()
    with path.open("rb") as file:
        (count,) = _COUNT.unpack(file.read(_COUNT.size))
        log.times.fromfile(file, count)
        log.numbers.fromfile(file, count)
    return log
