"""Link figures fixed by SGIP 1.2 §3.1; peers may be configured otherwise, so these are only defaults."""

from typing import Final

PORT: Final = 8801
"""TCP port both SP and SMG listen on for SGIP links."""

RESPONSE_TIMEOUT_SECONDS: Final = 30
"""Longest wait for the answer to a command before the client must resend it."""

MAX_UNANSWERED_COMMANDS: Final = 32
"""Most commands a client may have awaiting an answer on one connection (the window)."""

IDLE_TIMEOUT_SECONDS: Final = 60
"""Idle time after which a server may close a connection (SGIP has no heartbeat)."""
