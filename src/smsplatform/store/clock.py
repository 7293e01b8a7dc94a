"""Unix seconds, the one unit of time the store keeps."""

import time


def now() -> int:
    return int(time.time())
