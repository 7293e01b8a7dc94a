"""Inputs the fuzzer found, kept byte for byte, each with what went wrong.

Each is run through its target's whole check (see tests/fuzz), and, where that says more, through the
code it broke. A fault in code outside protocols/ that is not fixed yet is marked xfail(strict=True):
it turns into a failure the day it is fixed, so that its mark comes off.
"""

from __future__ import annotations

import pytest

from smsplatform.protocols.smpp import codec as smpp_codec
from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.status import CommandStatus
from tests.fuzz.harness import examine
from tests.fuzz.targets import TARGETS

# A deliver_sm whose sm_length is 255 (past the spec's 254), and whose length field is 56: the target
# reads it with the length made to fit too. It decoded, and then could not be encoded again.
SMPP_SM_LENGTH_255 = bytes.fromhex(
    "0000003800000005003130373930a93030000000007a3b0000000000310000000000ff00000000000000000000310103"
    "0000000000000006000000cfccc7cb3031333830303000000031303639303030313031000000080424003230108fdb52"
    "366570636e301160a876849a8c8bc17801662f003100320033003400350036ff0c00355206949e518567096548020c00"
    "00009b000000000000000000000000000000000000000000000000000000000000000000007500000103000000000000"
    "000600000000000000cfccc7cb3031333830303000000031303639303030313031000000080424003230108fdb523665"
    "70636e301160a876849a8c8bc17801662f003100320033003400350036ff0c00355206949e518567096548020c000000"
    "9b0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000120000000000310000000000ff0000000000000000000000000000000000000000"
    "0000001200000030363900007540737377006f0000000000000000025400000000000000000000440000000000000000"
    "0000000000000000000000000000000000000000000000310f000101"
)


def test_smpp_a_short_message_longer_than_the_spec_allows_is_refused_when_decoded() -> None:
    assert examine(TARGETS["smpp"], SMPP_SM_LENGTH_255) is None
    frame = len(SMPP_SM_LENGTH_255).to_bytes(4, "big") + SMPP_SM_LENGTH_255[4:]
    with pytest.raises(SmppDecodeError) as caught:
        smpp_codec.decode(frame)
    assert caught.value.status == CommandStatus.ESME_RINVMSGLEN
    assert caught.value.sequence == int.from_bytes(frame[12:16], "big")
