from datetime import datetime

import pytest

from smsplatform.protocols.sgip.pdu import SgipSequence
from smsplatform.protocols.sgip.sequence import SequenceGenerator, sequence_timestamp


def test_timestamp_is_mmddhhmmss_as_a_decimal_number() -> None:
    # The example of spec §3.4: 20:32:25 on 20 November.
    assert sequence_timestamp(datetime(2001, 11, 20, 20, 32, 25)) == 1120203225
    assert sequence_timestamp(datetime(2024, 1, 2, 3, 4, 5)) == 102030405


def test_generator_stamps_node_and_time_and_counts_up() -> None:
    generator = SequenceGenerator(3075112345)
    now = datetime(2001, 11, 20, 20, 32, 25)
    later = datetime(2001, 11, 20, 20, 32, 26)
    assert generator.next(now) == SgipSequence(3075112345, 1120203225, 0)
    assert generator.next(later) == SgipSequence(3075112345, 1120203226, 1)


def test_counter_wraps_to_zero_after_the_largest_u32() -> None:
    generator = SequenceGenerator(1, start=0xFFFFFFFF)
    now = datetime(2024, 6, 1)
    assert generator.next(now).number == 0xFFFFFFFF
    assert generator.next(now).number == 0


@pytest.mark.parametrize(("node_id", "start"), [(-1, 0), (1 << 32, 0), (1, -1), (1, 1 << 32)])
def test_out_of_range_node_or_start_is_refused(node_id: int, start: int) -> None:
    with pytest.raises(ValueError):
        SequenceGenerator(node_id, start)
