import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.domain.numbers import Carrier, CarrierTable, normalize_mobile

MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+8613800138000",
        "8613800138000",
        "008613800138000",
        "  13800138000\t",
        "\u300013800138000",
    ],
)
def test_accepted_spellings_normalise_to_eleven_digits(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1380013800",  # 10 digits
        "138001380000",  # 12 digits
        "12800138000",  # second digit 2
        "23800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 13800138000",
        "+86-13800138000",
        "+8513800138000",
        "08613800138000",
        "+008613800138000",
        "１３８００１３８０００",  # full-width digits
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits
        "13800138000,13800138001",
    ],
)
def test_anything_else_is_refused(raw: str) -> None:
    assert normalize_mobile(raw) is None


@given(MOBILES, st.sampled_from(["", "+86", "86", "0086"]), st.sampled_from(["", " ", "\t "]))
def test_every_prefix_round_trips(mobile: str, prefix: str, pad: str) -> None:
    assert normalize_mobile(pad + prefix + mobile + pad) == mobile
    assert normalize_mobile(mobile) == mobile


EXPECTED = {
    Carrier.MOBILE: "134 135 136 137 138 139 147 148 150 151 152 157 158 159 165 172 178 182 183 184 187 188 "
    "195 197 198 1703 1705 1706",
    Carrier.UNICOM: "130 131 132 145 146 155 156 166 167 171 175 176 185 186 196 1704 1707 1708 1709",
    Carrier.TELECOM: "133 1349 149 153 162 173 177 180 181 189 190 191 193 199 1700 1701 1702 17400 17405",
    Carrier.BROADNET: "192",
}


@pytest.mark.parametrize(("carrier", "prefix"), [(c, p) for c, ps in EXPECTED.items() for p in ps.split()])
def test_default_table_knows_every_segment(carrier: Carrier, prefix: str) -> None:
    mobile = (prefix + "0123456789")[:11]
    assert CarrierTable.default().carrier_of(mobile) is carrier


@pytest.mark.parametrize("prefix", ["154", "161", "164", "194", "17406", "1412", "140"])
def test_unassigned_segments_have_no_carrier(prefix: str) -> None:
    assert CarrierTable.default().carrier_of((prefix + "0000000000")[:11]) is None


def test_longest_prefix_wins() -> None:
    table = CarrierTable.default()
    assert table.carrier_of("13400000000") is Carrier.MOBILE
    assert table.carrier_of("13490000000") is Carrier.TELECOM


def test_operator_extension_adds_and_overrides() -> None:
    base = CarrierTable.default()
    extended = base.with_prefixes({"194": Carrier.MOBILE, "1381234": Carrier.UNICOM})
    assert extended.carrier_of("19400000000") is Carrier.MOBILE
    assert extended.carrier_of("13812340000") is Carrier.UNICOM
    assert extended.carrier_of("13812350000") is Carrier.MOBILE
    # The shared default is untouched.
    assert base.carrier_of("19400000000") is None
    assert base.carrier_of("13812340000") is Carrier.MOBILE


def test_ported_numbers_are_pinned() -> None:
    table = CarrierTable.default()
    pins = {"13800138000": Carrier.TELECOM}
    assert table.carrier_of("13800138000", pins) is Carrier.TELECOM
    assert table.carrier_of("13800138001", pins) is Carrier.MOBILE
    assert table.carrier_of("13800138000", {}) is Carrier.MOBILE


@pytest.mark.parametrize("prefix", ["13", "13800001", "13a", ""])
def test_prefixes_must_be_three_to_seven_digits(prefix: str) -> None:
    with pytest.raises(ValueError, match="3-7 digits"):
        CarrierTable({prefix: Carrier.MOBILE})


def test_parse_reads_comments_and_rejects_bad_lines() -> None:
    table = CarrierTable.parse("# header\n\n138 mobile  # trailing\n1700 TELECOM\n")
    assert dict(table.prefixes) == {"138": Carrier.MOBILE, "1700": Carrier.TELECOM}
    with pytest.raises(ValueError, match="line 1"):
        CarrierTable.parse("138 tietong")
    with pytest.raises(ValueError, match="line 2"):
        CarrierTable.parse("138 mobile\n139\n")
    with pytest.raises(ValueError, match="twice"):
        CarrierTable.parse("138 mobile\n138 unicom\n")


UNASSIGNED = (
    "140",
    "141",
    "142",
    "143",
    "144",
    "154",
    "160",
    "161",
    "163",
    "164",
    "168",
    "169",
    "174",
    "179",
    "194",
)


@given(MOBILES)
def test_every_number_outside_unassigned_segments_has_a_carrier(mobile: str) -> None:
    satellite = "17400" <= mobile[:5] <= "17405"
    expect_none = mobile.startswith(UNASSIGNED) and not satellite
    assert (CarrierTable.default().carrier_of(mobile) is None) == expect_none
