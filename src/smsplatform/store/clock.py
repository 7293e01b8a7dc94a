"""Unix seconds, the one unit of time the store keeps."""

import time


def now() -> int:
    return int(time.time())


def format_time(ts: int | None) -> str:
    """How times appear in status reports, replies and queries: `YYYY-MM-DD HH:MM:SS`, server local time."""
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
