"""Result codes of SMGP responses (spec §6.2.6) and which of them are worth a retry.

The Status field stays a plain int on the PDUs: 128-255 are vendor-defined and other values
reserved, so a peer may send codes this enum does not name.
"""

from enum import IntEnum


class Status(IntEnum):
    OK = 0
    SYSTEM_BUSY = 1
    TOO_MANY_CONNECTIONS = 2
    MESSAGE_STRUCTURE_ERROR = 10
    COMMAND_ERROR = 11
    DUPLICATE_SEQUENCE = 12
    IP_ADDRESS_ERROR = 20
    AUTHENTICATION_ERROR = 21
    VERSION_TOO_HIGH = 22
    INVALID_MSG_TYPE = 30
    INVALID_PRIORITY = 31
    INVALID_FEE_TYPE = 32
    INVALID_FEE_CODE = 33
    INVALID_MSG_FORMAT = 34
    INVALID_TIME_FORMAT = 35
    INVALID_MSG_LENGTH = 36
    VALIDITY_EXPIRED = 37
    INVALID_QUERY_TYPE = 38
    ROUTING_ERROR = 39
    INVALID_FIXED_FEE = 40
    INVALID_UPDATE_TYPE = 41
    INVALID_ROUTE_ID = 42
    INVALID_SERVICE_ID = 43
    INVALID_VALID_TIME = 44
    INVALID_AT_TIME = 45
    INVALID_SRC_TERM_ID = 46
    INVALID_DEST_TERM_ID = 47
    INVALID_CHARGE_TERM_ID = 48
    INVALID_SP_CODE = 49
    INVALID_SRC_GATEWAY_ID = 56
    INVALID_QUERY_TERM_ID = 57
    NO_MATCHING_ROUTE = 58
    INVALID_SP_TYPE = 59
    INVALID_LAST_ROUTE_ID = 60
    INVALID_ROUTE_TYPE = 61
    INVALID_DEST_GATEWAY_ID = 62
    INVALID_DEST_GATEWAY_IP = 63
    INVALID_DEST_GATEWAY_PORT = 64
    INVALID_TERM_RANGE_ID = 65
    INVALID_PROVINCE_CODE = 66
    INVALID_USER_TYPE = 67
    ROUTE_UPDATE_UNSUPPORTED = 68
    INVALID_SP_ID = 69
    INVALID_SP_ACCESS_TYPE = 70
    ROUTE_UPDATE_FAILED = 71
    INVALID_TIMESTAMP = 72
    INVALID_MSERVICE_ID = 73
    SP_SENDING_FORBIDDEN_NOW = 74
    SP_DAILY_LIMIT_EXCEEDED = 75
    SP_ACCOUNT_EXPIRED = 76


_TRANSIENT = frozenset(
    {
        Status.SYSTEM_BUSY,
        Status.TOO_MANY_CONNECTIONS,
        # The SP's sending window is closed or its daily quota spent: the same message is
        # accepted later, so it is held back rather than failed.
        Status.SP_SENDING_FORBIDDEN_NOW,
        Status.SP_DAILY_LIMIT_EXCEEDED,
    }
)


def is_transient_status(status: int) -> bool:
    """True when resubmitting the same PDU later may succeed (busy, limits), False for a verdict."""
    return status in _TRANSIENT
