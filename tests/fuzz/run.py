"""Fuzz every target (or some) for a set time each and say what was covered and found.

    .venv/bin/python tests/fuzz/run.py [--seconds 60] [--engine auto|atheris|hypothesis]
                                       [--workdir DIR] [TARGET ...]

Targets: smpp, cmpp, sgip, smgp (the codecs), request_line, params (the API's input handling).
Each finding's input is saved under WORKDIR/findings with its traceback beside it, and printed as a
bytes literal ready for a regression test. WORKDIR keeps the corpus between runs, so later runs
start where earlier ones stopped (a fresh temporary directory when not given). Exits 1 when
anything was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `tests.fuzz` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz.engines import atheris_available, fuzz
from tests.fuzz.targets import TARGETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("targets", nargs="*", choices=[[], *TARGETS], metavar="TARGET", help="default: all")
    parser.add_argument("--seconds", type=float, default=60.0, help="fuzzing time per target")
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    parser.add_argument(
        "--workdir", type=Path, help="corpus and findings (default: a new temporary directory)"
    )
    options = parser.parse_args(argv)
    names = options.targets or list(TARGETS)
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="smsplatform-fuzz-"))
    engine = options.engine
    if engine == "auto":
        engine = "atheris" if atheris_available() else "hypothesis"
    print(f"fuzzing {', '.join(names)} for {options.seconds:g} s each with {engine}; work in {workdir}")
    found = 0
    for name in names:
        report = fuzz(TARGETS[name], options.seconds, workdir, engine)
        print(report.summary(), flush=True)
        for finding in report.findings:
            found += 1
            print(f"    {finding.kind}: {finding.signature}")
            print(f"      input ({len(finding.data)} octets): {finding.data[:400]!r}")
            last_line = finding.detail.strip().splitlines()[-1] if finding.detail.strip() else ""
            print(f"      {last_line[:300]}")
    print(f"findings saved in {workdir / 'findings'}" if found else "no findings")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
