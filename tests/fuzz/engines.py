"""Running a target for a set time: atheris where it installs, hypothesis elsewhere.

atheris is coverage-guided (libFuzzer over Python bytecode edges) and runs in a child process, since
libFuzzer exits when it is done. Where it is absent, hypothesis generates inputs in this process for
the same time (an example budget larger than any run): fresh bytes and mutations of the seeds, made
from the random generator each example draws.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.atheris_worker import FINDING_PREFIX
from tests.fuzz.harness import MAX_INPUT_LENGTH, Finding, Target, examine, large_inputs

REPOSITORY = Path(__file__).resolve().parents[2]
# libFuzzer's own limit, for inputs that never return; slow-but-finishing ones are caught in the harness.
HANG_SECONDS = 10
RSS_LIMIT_MB = 2048
# The worker's imports and the seed corpus take a while before libFuzzer's clock starts.
_STARTUP_ALLOWANCE = 60.0


@dataclass
class Report:
    target: str
    engine: str
    seconds: float
    executions: int = 0
    coverage: str = ""
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> str:
        found = f"{len(self.findings)} finding(s)" if self.findings else "nothing found"
        covered = f", {self.coverage}" if self.coverage else ""
        rate = self.executions / self.seconds if self.seconds else 0.0
        return (
            f"{self.target:<13} {self.engine:<10} {self.seconds:6.1f} s  {self.executions:>9} inputs "
            f"({rate:,.0f}/s){covered}; {found}"
        )


def atheris_available() -> bool:
    return importlib.util.find_spec("atheris") is not None


def fuzz(target: Target, seconds: float, workdir: Path, engine: str = "auto") -> Report:
    """Fuzzes `target` for about `seconds`; the corpus and findings are kept under `workdir`."""
    if engine == "auto":
        engine = "atheris" if atheris_available() else "hypothesis"
    large = _examine_large_inputs(target, workdir)
    if engine == "atheris":
        report = _fuzz_with_atheris(target, seconds, workdir)
    else:
        report = _fuzz_with_hypothesis(target, seconds, workdir)
    known = {finding.signature for finding in report.findings}
    report.findings += [finding for finding in large if finding.signature not in known]
    return report


def _examine_large_inputs(target: Target, workdir: Path) -> list[Finding]:
    """Inputs at the size limit, tried first: fuzzers seldom grow an input that far in a short run."""
    findings: dict[str, Finding] = {}
    for data in large_inputs(target):
        finding = examine(target, data)
        if finding is not None and finding.signature not in findings:
            finding.save(workdir / "findings")
            findings[finding.signature] = finding
    return list(findings.values())


def _write_seeds(target: Target, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index, seed in enumerate(target.seeds()):
        (directory / f"seed-{index:03d}").write_bytes(seed)


_COVERAGE = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)/")
_EXECUTIONS = re.compile(r"stat::number_of_executed_units: (\d+)")


def _fuzz_with_atheris(target: Target, seconds: float, workdir: Path) -> Report:
    corpus, seeds = workdir / "corpus" / target.name, workdir / "seeds" / target.name
    findings_dir, artifacts = workdir / "findings", workdir / "artifacts" / target.name
    for directory in (corpus, findings_dir, artifacts):
        directory.mkdir(parents=True, exist_ok=True)
    _write_seeds(target, seeds)
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.atheris_worker",
        target.name,
        str(findings_dir),
        f"-max_total_time={max(1, round(seconds))}",
        f"-timeout={HANG_SECONDS}",
        f"-max_len={MAX_INPUT_LENGTH}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        str(corpus),
        str(seeds),
    ]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (str(REPOSITORY), os.environ.get("PYTHONPATH")))),
    }
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=seconds + HANG_SECONDS + _STARTUP_ALLOWANCE,
        check=False,
    )
    report = Report(target.name, "atheris", time.monotonic() - started)
    for line in done.stdout.splitlines():
        if line.startswith(FINDING_PREFIX + "\t"):
            _, kind, signature, path = line.split("\t", 3)
            detail = Path(path).with_suffix(".txt").read_text(encoding="utf-8")
            report.findings.append(Finding(target.name, kind, signature, Path(path).read_bytes(), detail))
    coverage = _COVERAGE.findall(done.stderr)
    if coverage:
        edges, features, corpus_size = coverage[-1]
        report.coverage = f"cov {edges} edges, {features} features, corpus {corpus_size}"
    executions = _EXECUTIONS.findall(done.stderr)
    report.executions = int(executions[-1]) if executions else 0
    if done.returncode != 0:
        # libFuzzer itself stopped: a hang past -timeout, memory past -rss_limit_mb, a crash in C.
        report.findings += _artifacts(target, artifacts, done.stderr)
        if not report.findings:
            raise RuntimeError(f"atheris worker for {target.name} failed:\n{done.stderr[-4000:]}")
    return report


def _artifacts(target: Target, directory: Path, log: str) -> list[Finding]:
    findings = []
    for path in sorted(directory.iterdir()):
        kind = path.name.split("-", 1)[0]  # timeout-…, oom-…, crash-…, slow-unit-…
        findings.append(Finding(target.name, kind, f"libFuzzer {kind}", path.read_bytes(), log[-4000:]))
        path.unlink()
    return findings


def _fuzz_with_hypothesis(target: Target, seconds: float, workdir: Path) -> Report:
    seeds = list(target.seeds()) or [b""]
    report = Report(target.name, "hypothesis", 0.0)
    seen: set[str] = set()
    findings_dir = workdir / "findings"
    deadline = time.monotonic() + seconds

    class TimeUp(Exception):
        pass

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.randoms(use_true_random=False))
    def run(rng: random.Random) -> None:
        # hypothesis spends milliseconds on each example it draws; a batch of inputs made from each
        # example's random generator keeps the inputs per second near what the code under test allows.
        for _ in range(_INPUTS_PER_EXAMPLE):
            data = _mutate(rng, seeds) if rng.random() < 0.85 else rng.randbytes(rng.randrange(512))
            report.executions += 1
            finding = examine(target, data)
            if finding is not None and finding.signature not in seen:
                seen.add(finding.signature)
                finding.save(findings_dir)
                report.findings.append(finding)
        # After the batch: hypothesis replays the example that raised, which must draw the same again.
        if time.monotonic() > deadline:
            raise TimeUp

    started = time.monotonic()
    with contextlib.suppress(TimeUp):
        run()
    report.seconds = time.monotonic() - started
    return report


_INPUTS_PER_EXAMPLE = 64
_INTERESTING = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"%", b"\r\n")


def _mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    """A seed with octets overwritten, inserted, deleted, cut or spliced: the moves libFuzzer makes."""
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(data) + 1)
        move = rng.randrange(6)
        if move == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif move == 1:
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif move == 2:
            del data[at : at + rng.randint(1, 16)]
        elif move == 3:
            del data[at:]
        elif move == 4:
            value = rng.choice(_INTERESTING)
            data[at : at + len(value)] = value
        else:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) + 1)
            data[at:at] = other[start : start + rng.randint(1, 64)]
    return bytes(data[:MAX_INPUT_LENGTH])
