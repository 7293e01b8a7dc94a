import pytest

from smsplatform.protocols.sgip.report_state import (
    ReportState,
    is_final_state,
    receipt_stat,
    report_state_for_stat,
)


@pytest.mark.parametrize(
    ("state", "stat"), [(0, "DELIVRD"), (1, "ENROUTE"), (2, "UNDELIV"), (3, "UNKNOWN"), (255, "UNKNOWN")]
)
def test_states_read_as_stat_words(state: int, stat: str) -> None:
    assert receipt_stat(state) == stat


def test_only_waiting_is_not_final() -> None:
    assert [is_final_state(state) for state in ReportState] == [True, False, True]


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", ReportState.DELIVERED),
        ("ENROUTE", ReportState.WAITING),
        ("acceptd", ReportState.WAITING),
        ("EXPIRED", ReportState.FAILED),
        ("DELETED", ReportState.FAILED),
        ("UNDELIV", ReportState.FAILED),
        ("UNKNOWN", ReportState.FAILED),
        ("REJECTD", ReportState.FAILED),
    ],
)
def test_stat_words_fold_as_spec_section_5_4(stat: str, state: ReportState) -> None:
    assert report_state_for_stat(stat) == state


@pytest.mark.parametrize("state", list(ReportState))
def test_defined_states_survive_the_trip_through_a_stat_word(state: ReportState) -> None:
    assert report_state_for_stat(receipt_stat(state)) == state
