"""Result and ErrorCode values of spec §5.2, shared by every *_Resp Result and by Report ErrorCode.

Codes 1-11 mostly answer commands; 21-33 mostly explain a failed delivery in a Report.
"""

from enum import IntEnum


class Result(IntEnum):
    OK = 0
    ILLEGAL_LOGIN = 1
    DUPLICATE_LOGIN = 2
    TOO_MANY_CONNECTIONS = 3
    WRONG_LOGIN_TYPE = 4
    BAD_PARAMETER_FORMAT = 5
    ILLEGAL_MOBILE_NUMBER = 6
    BAD_MESSAGE_ID = 7
    BAD_MESSAGE_LENGTH = 8
    ILLEGAL_SEQUENCE_NUMBER = 9
    ILLEGAL_GNS_OPERATION = 10
    NODE_BUSY = 11
    DESTINATION_UNREACHABLE = 21
    ROUTING_ERROR = 22
    NO_ROUTE = 23
    INVALID_CHARGE_NUMBER = 24
    USER_UNREACHABLE = 25
    HANDSET_MEMORY_FULL = 26
    HANDSET_NO_SMS_SUPPORT = 27
    HANDSET_RECEIVE_ERROR = 28
    UNKNOWN_USER = 29
    FEATURE_NOT_PROVIDED = 30
    ILLEGAL_DEVICE = 31
    SYSTEM_FAILURE = 32
    SMSC_QUEUE_FULL = 33


_DESCRIPTIONS: dict[int, str] = {
    Result.OK: "no error",
    Result.ILLEGAL_LOGIN: "illegal login (name or password wrong)",
    Result.DUPLICATE_LOGIN: "repeated login on one connection",
    Result.TOO_MANY_CONNECTIONS: "too many connections from one node",
    Result.WRONG_LOGIN_TYPE: "wrong login type in bind",
    Result.BAD_PARAMETER_FORMAT: "parameter format error",
    Result.ILLEGAL_MOBILE_NUMBER: "illegal mobile number",
    Result.BAD_MESSAGE_ID: "bad message id",
    Result.BAD_MESSAGE_LENGTH: "bad message length",
    Result.ILLEGAL_SEQUENCE_NUMBER: "illegal or repeated sequence number",
    Result.ILLEGAL_GNS_OPERATION: "illegal GNS operation",
    Result.NODE_BUSY: "node busy",
    Result.DESTINATION_UNREACHABLE: "destination temporarily unreachable",
    Result.ROUTING_ERROR: "routing error",
    Result.NO_ROUTE: "no route",
    Result.INVALID_CHARGE_NUMBER: "invalid charge number",
    Result.USER_UNREACHABLE: "user unreachable (out of coverage or switched off)",
    Result.HANDSET_MEMORY_FULL: "handset memory full",
    Result.HANDSET_NO_SMS_SUPPORT: "handset does not support SMS",
    Result.HANDSET_RECEIVE_ERROR: "handset failed to receive the message",
    Result.UNKNOWN_USER: "unknown user",
    Result.FEATURE_NOT_PROVIDED: "feature not provided",
    Result.ILLEGAL_DEVICE: "illegal device",
    Result.SYSTEM_FAILURE: "system failure",
    Result.SMSC_QUEUE_FULL: "SMSC queue full",
}

# Conditions of the gateway rather than of the message or the account: sending the same message
# again later, or through another link, may well succeed.
_TRANSIENT = frozenset(
    {
        Result.TOO_MANY_CONNECTIONS,
        Result.NODE_BUSY,
        Result.DESTINATION_UNREACHABLE,
        Result.SYSTEM_FAILURE,
        Result.SMSC_QUEUE_FULL,
    }
)


def is_transient_result(code: int) -> bool:
    """Whether a rejected command is worth retrying later; unknown codes are treated as final."""
    return code in _TRANSIENT


def describe_result(code: int) -> str:
    """Short English text for logs and operators; codes the spec leaves undefined say so."""
    return _DESCRIPTIONS.get(code, f"undefined SGIP result {code}")
