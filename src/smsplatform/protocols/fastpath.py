"""Small tools the codecs' compiled fast paths share: tuple-returning getters and a cheap PDU builder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
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


def slot_builder(
    cls: type[T], names: Sequence[str], *, trusted: bool = False
) -> Callable[[tuple[Any, ...]], T]:
    """Makes instances of a frozen slotted dataclass from values in the order of ``names``.

    A frozen dataclass's __init__ assigns each field through object.__setattr__, which for a submit
    costs more than parsing its body. When the class keeps every field in a slot and has no
    __post_init__, filling the slots directly yields an equal object for a fraction of the cost;
    otherwise this calls the class. ``trusted`` says the values always pass the checks of the class's
    __post_init__ (say, numbers read off the wire within their width), which are then skipped.
    """
    declared = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if sorted(names) != sorted(declared):
        raise TypeError(f"{cls.__name__} has fields {declared}, not {list(names)}")
    slots = tuple(
        slot for name in names if isinstance(slot := getattr(cls, name, None), MemberDescriptorType)
    )
    if (hasattr(cls, "__post_init__") and not trusted) or len(slots) != len(names):
        keywords = tuple(names)
        return lambda values: cls(**dict(zip(keywords, values, strict=True)))
    # One call per slot written out, as dataclasses writes __init__: about twice as fast as a loop or
    # map over the slots, which for a submit_sm's 21 fields is a good part of decoding it.
    setters = {f"set_{index}": slot.__set__ for index, slot in enumerate(slots)}
    body = "".join(f"    set_{index}(made, values[{index}])\n" for index in range(len(slots)))
    source = f"def build(values):\n    made = new(cls)\n{body}    return made\n"
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, **setters}
    exec(source, namespace)  # the source is built above from slot indices alone
    build: Callable[[tuple[Any, ...]], T] = namespace["build"]
    return build
