"""The route table refuses, at start-up, an endpoint it could not describe or serve faithfully."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.api import types
from smsplatform.admin.api.endpoint import Endpoint, Operation, fixed


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Thing:
    id: int
    colour: Colour
    tags: tuple[str, ...]
    note: str | None


def get_thing(conn: sa.Connection, actor: Actor, thing_id: int, verbose: bool = False) -> Thing:
    raise NotImplementedError


def paint(
    conn: sa.Connection, actor: Actor, thing_id: int, colour: Colour, tags: Sequence[str] = ()
) -> Thing:
    raise NotImplementedError


def no_actor(conn: sa.Connection, thing_id: int) -> None:
    raise NotImplementedError


def test_inputs_are_placed_by_method_and_path() -> None:
    read = Operation(Endpoint("GET", "/things/{thing_id}", get_thing))
    assert [p.name for p in read.path_params] == ["thing_id"]
    assert [(p.name, p.required) for p in read.query_params] == [("verbose", False)]
    assert read.permission is Permission.VIEW and not read.writes
    change = Operation(Endpoint("POST", "/things/{thing_id}/paint", paint))
    assert change.body_fields == {"colour": Colour, "tags": Sequence[str]} and change.body_required == {
        "colour"
    }
    assert change.permission is Permission.MANAGE and change.writes
    red = Operation(Endpoint("POST", "/things/{thing_id}/red", paint, supplied={"colour": fixed(Colour.RED)}))
    assert red.body_fields == {"tags": Sequence[str]}


@pytest.mark.parametrize(
    ("endpoint", "complaint"),
    [
        (Endpoint("GET", "/things/{id}", get_thing), "does not take"),
        (Endpoint("GET", "/things/{thing_id}", no_actor), "(conn, actor)"),
        (Endpoint("GET", "/things/{thing_id}", get_thing, params={"verbos": "typo"}), "describes"),
        (Endpoint("GET", "/things/{thing_id}", get_thing, supplied={"colour": fixed(1)}), "supplies"),
        (Endpoint("PUT", "/things/{tags}", paint), "plain value"),
    ],
)
def test_an_endpoint_that_cannot_be_described_is_refused(endpoint: Endpoint, complaint: str) -> None:
    with pytest.raises(TypeError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        Operation(endpoint)


def test_schemas_name_dataclasses_and_enums() -> None:
    schemas = types.Schemas()
    assert schemas.of(list[Thing]) == {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}
    thing = schemas.components["Thing"]
    assert thing["required"] == ["id", "colour", "tags", "note"]
    assert thing["properties"]["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert schemas.components["Colour"] == {"type": "string", "enum": ["red", "blue"]}


@pytest.mark.parametrize(
    ("value", "tp", "parsed"),
    [
        (5, int, 5),
        (5, float, 5.0),
        ("red", Colour, Colour.RED),
        (None, int | None, None),
        (["a", "b"], Sequence[str], ["a", "b"]),
        ({"1": "x"}, dict[int, str], {1: "x"}),
        ({"id": 1, "colour": "blue", "tags": [], "note": None}, Thing, Thing(1, Colour.BLUE, (), None)),
    ],
)
def test_json_values_are_read_as_their_types(value: Any, tp: Any, parsed: Any) -> None:
    assert types.parse_json(value, tp, "x") == parsed


@pytest.mark.parametrize(
    ("value", "tp"),
    [
        (True, int),
        (2**63, int),
        ("5", int),
        (1, str),
        ("a\x00b", str),
        ("green", Colour),
        (None, str),
        ("ab", Sequence[str]),
        ({"id": 1, "colour": "blue", "tags": []}, Thing),
        ({"id": 1, "colour": "blue", "tags": [], "note": None, "extra": 1}, Thing),
    ],
)
def test_json_values_of_another_type_are_refused(value: Any, tp: Any) -> None:
    with pytest.raises(types.BadInput):
        types.parse_json(value, tp, "x")


def test_query_text_is_read_as_its_type() -> None:
    assert types.parse_text("-12", int, "x") == -12
    assert types.parse_text("TRUE", bool, "x") is True
    assert types.parse_text("blue", Colour | None, "x") is Colour.BLUE
    for text, tp in (("1.5", int), ("yes", bool), ("9" * 20, int), ("green", Colour)):
        with pytest.raises(types.BadInput):
            types.parse_text(text, tp, "x")
