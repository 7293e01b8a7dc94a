"""The fast-path helpers the codecs build their PDUs with."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from smsplatform.protocols.fastpath import slot_builder


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    x: int
    y: int = 0
    label: str = ""


@dataclass(frozen=True, slots=True)
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


def test_builds_what_the_class_builds_in_the_order_given() -> None:
    build = slot_builder(Point, ["label", "x", "y"])
    assert build(("a", 1, 2)) == Point(x=1, y=2, label="a")
    assert build(("b", 3, 4)) == Point(x=3, y=4, label="b")  # each call is a new object


def test_names_must_be_the_fields() -> None:
    with pytest.raises(TypeError):
        slot_builder(Point, ["x", "y"])


def test_post_init_runs_unless_the_values_are_trusted() -> None:
    with pytest.raises(ValueError):
        slot_builder(Checked, ["value"])((-1,))
    assert slot_builder(Checked, ["value"], trusted=True)((5,)) == Checked(5)
