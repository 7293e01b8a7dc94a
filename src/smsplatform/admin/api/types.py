"""Python types of the operations' signatures and results, as JSON Schema and as parsed input.

The management API has no model classes of its own: an operation's parameters and its result
dataclasses are the contract. `Schemas` turns their type hints into JSON Schema (dataclasses become
named components); `parse_json` and `parse_text` turn a request's values into those types, refusing
what the schema would refuse, so that the document and the validation cannot say different things.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_INT_TEXT = re.compile(r"-?[0-9]{1,19}")
_FLOAT_TEXT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


class BadInput(ValueError):
    """A request value that does not have its parameter's type."""


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _origin(tp: Any) -> Any:
    return typing.get_origin(tp)


def is_optional(tp: Any) -> bool:
    return _is_union(tp) and type(None) in _args(tp)


def _is_union(tp: Any) -> bool:
    return _origin(tp) in (typing.Union, types.UnionType)


def without_none(tp: Any) -> Any:
    """`X` of `X | None` (and `X | Y` of `X | Y | None`)."""
    rest = [a for a in _args(tp) if a is not type(None)]
    return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007


def _sequence_item(tp: Any) -> Any | None:
    """The item type of list[X], tuple[X, ...], Sequence[X], frozenset[X]; None for anything else."""
    origin = _origin(tp)
    if origin in (list, set, frozenset, Sequence, Iterable, Collection):
        return _args(tp)[0] if _args(tp) else Any
    if origin is tuple and len(_args(tp)) == 2 and _args(tp)[1] is Ellipsis:
        return _args(tp)[0]
    return None


def _is_mapping(tp: Any) -> bool:
    return _origin(tp) in (dict, Mapping, typing.Mapping)


def hints(cls_or_fn: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls_or_fn)


class Schemas:
    """JSON Schema for types; dataclasses and enums become components referenced by name."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self._names: dict[Any, str] = {}

    def of(self, tp: Any) -> dict[str, Any]:
        if tp is Any or tp is object:
            return {}
        if tp is type(None) or tp is None:
            return {"type": "null"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self._ref(tp, lambda: self._enum(tp))
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._ref(tp, lambda: self._dataclass(tp))
        if _origin(tp) is typing.Literal:
            return {"enum": list(_args(tp))}
        if _origin(tp) is typing.Annotated:
            return self.of(_args(tp)[0])
        if _is_union(tp):
            return {"anyOf": [self.of(a) for a in _args(tp)]}
        item = _sequence_item(tp)
        if item is not None:
            return {"type": "array", "items": self.of(item)}
        if _origin(tp) is tuple:
            items = [self.of(a) for a in _args(tp)]
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": len(items),
                "maxItems": len(items),
            }
        if _is_mapping(tp):
            key, value = _args(tp) or (str, Any)
            schema: dict[str, Any] = {"type": "object", "additionalProperties": self.of(value)}
            if isinstance(key, type) and issubclass(key, int) and key is not bool:
                schema["propertyNames"] = {"pattern": "^-?[0-9]+$"}
            return schema
        raise TypeError(f"no JSON Schema for {tp!r}")

    def _ref(self, tp: type, build: typing.Callable[[], dict[str, Any]]) -> dict[str, Any]:
        name = self._names.get(tp)
        if name is None:
            name = tp.__name__
            if name in self.components:  # two classes of one name: the module tells them apart
                name = f"{tp.__module__.rsplit('.', 1)[-1]}_{name}"
            self._names[tp] = name
            self.components[name] = {}  # reserved first: a dataclass may refer to itself
            self.components[name] = build()
        return {"$ref": f"#/components/schemas/{name}"}

    @staticmethod
    def _enum(tp: type[enum.Enum]) -> dict[str, Any]:
        values = [m.value for m in tp]
        kind = "string" if all(isinstance(v, str) for v in values) else "integer"
        return {"type": kind, "enum": values}

    def _dataclass(self, tp: type) -> dict[str, Any]:
        types_of = hints(tp)
        fields = [f for f in dataclasses.fields(tp) if not f.name.startswith("_")]
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: self.of(types_of[f.name]) for f in fields},
            "required": [f.name for f in fields],
        }
        if tp.__doc__ and not tp.__doc__.startswith(tp.__name__ + "("):
            schema["description"] = " ".join(tp.__doc__.split())
        return schema


def input_fields(tp: type) -> tuple[dict[str, Any], set[str]]:
    """A dataclass built from a request: its fields' types, and the ones a request must give."""
    types_of = hints(tp)
    fields = dataclasses.fields(tp)
    required = {
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    return {f.name: types_of[f.name] for f in fields if f.init}, required


def input_schema(schemas: Schemas, tp: Any) -> dict[str, Any]:
    """Like `Schemas.of`, but a dataclass read from a request lists only the fields it needs."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        fields, required = input_fields(tp)
        return object_schema(schemas, fields, required)
    item = _sequence_item(tp)
    if item is not None:
        return {"type": "array", "items": input_schema(schemas, item)}
    if is_optional(tp):
        return {"anyOf": [input_schema(schemas, without_none(tp)), {"type": "null"}]}
    return schemas.of(tp)


def object_schema(
    schemas: Schemas,
    fields: Mapping[str, Any],
    required: set[str],
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    properties = {name: input_schema(schemas, tp) for name, tp in fields.items()}
    for name, text in (descriptions or {}).items():
        if name in properties and text:
            properties[name] = {**properties[name], "description": text}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = [name for name in fields if name in required]
    return schema


def _text_checked(value: str, where: str) -> str:
    if "\x00" in value:
        raise BadInput(f"{where} may not contain a NUL character")
    return value


def _int_checked(value: int, where: str) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise BadInput(f"{where} is out of range")
    return value


def _type_name(tp: Any) -> str:
    if tp is str:
        return "a string"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is bool:
        return "true or false"
    if _sequence_item(tp) is not None or _origin(tp) is tuple:
        return "a list"
    if _is_mapping(tp) or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        return "an object"
    return "a valid value"


def parse_json(value: Any, tp: Any, where: str) -> Any:
    """`value` (decoded JSON) as a `tp`; BadInput naming `where` if it is not one."""
    if tp is Any or tp is object:
        return value
    if value is None:
        if tp is type(None) or is_optional(tp):
            return None
        raise BadInput(f"{where} may not be null")
    if is_optional(tp):
        return parse_json(value, without_none(tp), where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return _int_checked(value, where)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return _text_checked(value, where)
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _member(tp, value, where)
    elif _origin(tp) is typing.Literal:
        if value in _args(tp) and not isinstance(value, bool):
            return value
        raise BadInput(f"{where} must be one of {', '.join(map(str, _args(tp)))}")
    elif _origin(tp) is typing.Annotated:
        return parse_json(value, _args(tp)[0], where)
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            fields, required = input_fields(tp)
            return tp(**parse_object(value, fields, required, where))
    elif _is_union(tp):
        for option in _args(tp):
            try:
                return parse_json(value, option, where)
            except BadInput:
                continue
    elif (item := _sequence_item(tp)) is not None:
        if isinstance(value, list):
            parsed = [parse_json(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
            origin = _origin(tp)
            return (
                tuple(parsed) if origin is tuple else origin(parsed) if origin in (set, frozenset) else parsed
            )
    elif _origin(tp) is tuple:
        if isinstance(value, list) and len(value) == len(_args(tp)):
            return tuple(
                parse_json(v, t, f"{where}[{i}]")
                for i, (v, t) in enumerate(zip(value, _args(tp), strict=True))
            )
    elif _is_mapping(tp):
        if isinstance(value, dict):
            key_type, value_type = _args(tp) or (str, Any)
            return {
                parse_text(k, key_type, f"{where} key"): parse_json(v, value_type, f"{where}.{k}")
                for k, v in value.items()
            }
    else:
        raise TypeError(f"cannot read a {tp!r} from a request")
    raise BadInput(f"{where} must be {_type_name(tp)}")


def parse_object(
    value: Mapping[str, Any], fields: Mapping[str, Any], required: set[str], where: str = ""
) -> dict[str, Any]:
    """The named values of a JSON object, each as its field's type: none missing, none unknown."""
    prefix = f"{where}." if where else ""
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise BadInput(f"unknown field {prefix}{unknown[0]}; known: {', '.join(fields) or 'none'}")
    missing = [name for name in fields if name in required and name not in value]
    if missing:
        raise BadInput(f"{prefix}{missing[0]} is required")
    return {name: parse_json(v, fields[name], prefix + name) for name, v in value.items()}


def parse_text(text: str, tp: Any, where: str) -> Any:
    """A query or path value (always text) as a `tp`."""
    if tp is Any or tp is object or tp is str:
        return _text_checked(text, where)
    if is_optional(tp):
        return parse_text(text, without_none(tp), where)
    if _origin(tp) is typing.Annotated:
        return parse_text(text, _args(tp)[0], where)
    if tp is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
    elif tp is int:
        if _INT_TEXT.fullmatch(text):
            return _int_checked(int(text), where)
    elif tp is float:
        if _FLOAT_TEXT.fullmatch(text):
            return float(text)
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        if isinstance(next(iter(tp)).value, int):
            return _member(tp, int(text) if _INT_TEXT.fullmatch(text) else text, where)
        return _member(tp, text, where)
    elif _origin(tp) is typing.Literal:
        for option in _args(tp):
            if str(option) == text:
                return option
        raise BadInput(f"{where} must be one of {', '.join(map(str, _args(tp)))}")
    elif _is_union(tp):
        for option in _args(tp):
            try:
                return parse_text(text, option, where)
            except BadInput:
                continue
    else:
        raise TypeError(f"cannot read a {tp!r} from a query or path")
    raise BadInput(f"{where} must be {_type_name(tp)}")


def _member(tp: type[enum.Enum], value: Any, where: str) -> enum.Enum:
    for member in tp:
        if member.value == value and type(member.value) is type(value):
            return member
    raise BadInput(f"{where} must be one of {', '.join(str(m.value) for m in tp)}")


def is_text_type(tp: Any) -> bool:
    """Whether a query or path parameter of this type can be read (`parse_text` handles it)."""
    if is_optional(tp):
        tp = without_none(tp)
    if _origin(tp) is typing.Annotated:
        tp = _args(tp)[0]
    if tp in (str, int, float, bool) or tp is Any:
        return True
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return True
    if _origin(tp) is typing.Literal:
        return True
    return _is_union(tp) and all(is_text_type(a) for a in _args(tp))


def sequence_item(tp: Any) -> Any | None:
    return _sequence_item(without_none(tp) if is_optional(tp) else tp)
