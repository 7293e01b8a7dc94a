"""Link figures recommended by SMGP 3.0 §4.2-4.3; peers may be configured otherwise, so only defaults."""

from typing import Final

SP_PORT: Final = 8890
"""TCP port an SMGW listens on for SPs (our connectors dial it; our simulator listens on it)."""

GATEWAY_PORT: Final = 8900
"""TCP port between two SMGWs."""

GNS_PORT: Final = 8901
"""TCP port an SMGW listens on for the gateway name server."""

ACTIVE_TEST_INTERVAL_SECONDS: Final = 180
"""Idle time after which a side sends Active_Test to keep a long connection (C)."""

RESPONSE_TIMEOUT_SECONDS: Final = 60
"""Longest wait for the answer to a request before it is sent again (T)."""

MAX_ATTEMPTS: Final = 3
"""Sends of one request (or Active_Test) before giving up on it or on the link (N)."""

RESEND_INTERVAL_SECONDS: Final = 60
"""Wait before resending a message that could not be sent (R)."""

WINDOW_SIZE: Final = 16
"""Most requests a side may have awaiting an answer on one connection (W)."""
