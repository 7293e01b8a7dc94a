"""One target under atheris (libFuzzer), in a process of its own: libFuzzer ends the process when done.

    python -m tests.fuzz.atheris_worker TARGET FINDINGS_DIR [libFuzzer options and corpus dirs...]

TARGET is a name from `targets.TARGETS`, or `module:attribute` for a target defined elsewhere.

Each distinct finding (by signature) is saved to FINDINGS_DIR and announced on stdout as one
tab-separated line `FINDING kind signature path`; the fuzzer then keeps going, so one session reports
every fault it meets rather than the first. Hangs past libFuzzer's -timeout and memory blow-ups end
the process; libFuzzer saves those inputs under its -artifact_prefix.
"""

from __future__ import annotations

import sys
from pathlib import Path

FINDING_PREFIX = "FINDING"


def main(argv: list[str]) -> None:
    import atheris  # type: ignore[import-untyped]  # only where it installs; elsewhere hypothesis runs

    name, findings_dir = argv[1], Path(argv[2])
    # Let libFuzzer see the strings that comparisons look for. (Its RegEx hook cannot compile the
    # bytes patterns the report readers use, so it stays off.)
    atheris.enabled_hooks.add("str")
    # Only our own code is instrumented: coverage of the codecs and the API, not of the libraries.
    with atheris.instrument_imports(include=["smsplatform", "tests.fuzz"]):
        from tests.fuzz.harness import examine
        from tests.fuzz.targets import find_target

        target = find_target(name)
    seen: set[str] = set()

    def test_one_input(data: bytes) -> None:
        finding = examine(target, data)
        if finding is None or finding.signature in seen:
            return
        seen.add(finding.signature)
        path = finding.save(findings_dir)
        print(f"{FINDING_PREFIX}\t{finding.kind}\t{finding.signature}\t{path}", flush=True)

    atheris.Setup([argv[0], *argv[3:]], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
