"""What a fuzz target is, and how one input is judged against it.

A target's `check` gets arbitrary bytes and raises only when the code under test broke its promise:
an exception other than the documented one, a round trip that does not come back equal, a result of
the wrong type. `examine` turns that, or an input that takes too long, into a `Finding` with a
signature (the exception type and where it was raised) so that one fuzzing session can report each
distinct fault once and keep looking for others.
"""

from __future__ import annotations

import hashlib
import re
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# Each input must be handled in well under a second; a parse that goes quadratic on a 64 KB input
# takes far longer than this, while noise from other work on a shared machine stays below it.
SLOW_INPUT_SECONDS = 0.5
MAX_INPUT_LENGTH = 64 * 1024


class PropertyViolation(AssertionError):
    """A promise broken without an exception of its own: a round trip that changed a value, say."""


@dataclass(frozen=True)
class Target:
    name: str
    check: Callable[[bytes], None]
    seeds: Callable[[], Iterable[bytes]]
    about: str
    # Inputs near the size limit built to hit the slow paths a fuzzer rarely grows an input into.
    large: Callable[[], Iterable[bytes]] = lambda: ()


@dataclass(frozen=True)
class Finding:
    target: str
    kind: str  # "crash" (an exception or broken property) or "slow"
    signature: str
    data: bytes
    detail: str

    @property
    def digest(self) -> str:
        return hashlib.sha1(self.data).hexdigest()[:16]

    def save(self, directory: Path) -> Path:
        """Writes the input (and, beside it, what went wrong) where a regression test can take it from."""
        directory.mkdir(parents=True, exist_ok=True)
        label = re.sub(r"[^A-Za-z0-9_]+", "_", self.target)
        path = directory / f"{label}-{self.kind}-{self.digest}"
        path.write_bytes(self.data)
        path.with_suffix(".txt").write_text(f"{self.signature}\n\n{self.detail}\n", encoding="utf-8")
        return path


def signature_of(exc: BaseException) -> str:
    """The exception type and the innermost frame of our own code that it passed through."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [
        frame for frame in frames if "/smsplatform/" in frame.filename or "/tests/fuzz/" in frame.filename
    ]
    chosen = ours or frames
    where = f"{Path(chosen[-1].filename).name}:{chosen[-1].lineno}" if chosen else "?"
    return f"{type(exc).__name__} at {where}"


def examine(target: Target, data: bytes, slow_after: float = SLOW_INPUT_SECONDS) -> Finding | None:
    """Runs one input; a Finding when the target's promise broke or the input took too long."""
    # CPU time rather than wall time: other work on a shared machine must not make an input look slow.
    started = time.process_time()
    try:
        target.check(data)
    except Exception as exc:  # RecursionError and MemoryError included: each is a finding
        detail = "".join(traceback.format_exception(exc))
        return Finding(target.name, "crash", signature_of(exc), data, detail)
    elapsed = time.process_time() - started
    if elapsed > slow_after and _still_slow(target, data, slow_after):
        detail = f"{len(data)} octets took {elapsed:.2f} s (limit {slow_after} s)"
        return Finding(target.name, "slow", f"slow input ({len(data) // 1024} KiB)", data, detail)
    return None


def _still_slow(target: Target, data: bytes, slow_after: float) -> bool:
    # A hiccup is not the code's fault: only an input slow twice counts.
    started = time.process_time()
    target.check(data)
    return time.process_time() - started > slow_after


_GROWN_SEEDS = 12
_RUNS = (b"\x00", b" ", b"a", b"%", b"&", b"=", b"a=", b"%E7", b"\t ", b"id:", b"{", b"[", b'"', b"\xff")


def large_inputs(target: Target) -> list[bytes]:
    """The target's own large inputs, its seeds grown to the limit, and long runs of telling octets."""
    size = MAX_INPUT_LENGTH
    inputs = list(target.large())
    for seed in list(target.seeds())[:_GROWN_SEEDS]:
        if seed:
            inputs.append((seed * (size // len(seed) + 1))[:size])
            inputs.append(seed + seed[-1:] * (size - len(seed)))
    inputs += [(run * (size // len(run) + 1))[:size] for run in _RUNS]
    inputs += [b"\x00" + (run * (size // len(run)))[: size - 1] for run in _RUNS]
    return inputs
