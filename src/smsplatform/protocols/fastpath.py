"""Small tools the codecs' compiled fast paths share: tuple-returning getters and a cheap PDU builder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from itertools import repeat
from operator import attrgetter, itemgetter
from types import MemberDescriptorType
from typing import Any, TypeVar

T = TypeVar("T")

Getter = Callable[[Any], tuple[Any, ...]]


def tuple_getter(names: Sequence[str]) -> Getter:
    """attrgetter that always answers a tuple, whatever the number of names."""
    if not names:
        return lambda _: ()
    if len(names) == 1:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    return attrgetter(*names)


def tuple_picker(indices: Sequence[int]) -> Getter:
    """itemgetter that always answers a tuple, whatever the number of indices."""
    if not indices:
        return lambda _: ()
    if len(indices) == 1:
        index = indices[0]
        return lambda items: (items[index],)
    return itemgetter(*indices)


def slot_builder(cls: type[T], names: Sequence[str]) -> Callable[[tuple[Any, ...]], T]:
    """Makes instances of a frozen slotted dataclass from values in the order of ``names``.

    A frozen dataclass's __init__ assigns each field through object.__setattr__, which for a submit
    costs more than parsing its body. When the class keeps every field in a slot and has no
    __post_init__, filling the slots directly yields an equal object for half the cost; otherwise this
    calls the class.
    """
    declared = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if sorted(names) != sorted(declared):
        raise TypeError(f"{cls.__name__} has fields {declared}, not {list(names)}")
    slots = tuple(
        slot for name in names if isinstance(slot := getattr(cls, name, None), MemberDescriptorType)
    )
    if hasattr(cls, "__post_init__") or len(slots) != len(names):
        keywords = tuple(names)
        return lambda values: cls(**dict(zip(keywords, values, strict=True)))
    set_slot = MemberDescriptorType.__set__
    new = object.__new__

    def build(values: tuple[Any, ...]) -> T:
        made: T = new(cls)
        list(map(set_slot, slots, repeat(made), values))
        return made

    return build
