"""Every fuzz target by name."""

from __future__ import annotations

import importlib

from tests.fuzz.api_targets import API_TARGETS
from tests.fuzz.harness import Target
from tests.fuzz.protocol_targets import PROTOCOL_TARGETS

TARGETS: dict[str, Target] = {target.name: target for target in (*PROTOCOL_TARGETS, *API_TARGETS)}


def find_target(name: str) -> Target:
    """A target of TARGETS by name, or one defined elsewhere named `module:attribute`."""
    if ":" not in name:
        return TARGETS[name]
    module, _, attribute = name.partition(":")
    target = getattr(importlib.import_module(module), attribute)
    if not isinstance(target, Target):
        raise TypeError(f"{name} is not a fuzz target")
    return target
