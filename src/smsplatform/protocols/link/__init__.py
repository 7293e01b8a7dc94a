"""The link between an ESME and an SMSC, sans-IO: one framing object per protocol, shared by both ends.

`framing.py` holds the seam (`Framing`, `PduKind`, `LinkEnd`); `smpp.py`, `cmpp.py`, `sgip.py` and
`smgp.py` each frame one protocol, importing nothing but that protocol's codec.
"""

from smsplatform.protocols.link.framing import FrameReader, Framing, LinkEnd, PduKind

__all__ = ["FrameReader", "Framing", "LinkEnd", "PduKind"]
