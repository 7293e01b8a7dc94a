"""The one exception every codec raises for bytes it cannot make sense of."""


class ProtocolError(Exception):
    """Malformed or unexpected bytes from a peer.

    Link engines catch this to answer with a protocol-level error (generic_nack, a
    non-zero status) or drop the link; it must never escape as a crash.
    """
