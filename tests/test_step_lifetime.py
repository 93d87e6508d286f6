"""No child outlives its step: timeouts, exceptions, a dead harness, leftovers, sweeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from conformance.harness import process
from conformance.harness.process import run

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


def alive_with(marker: str) -> list[int]:
    """Pids of live (non-zombie) processes whose environment or argv holds the marker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            blob = Path(f"/proc/{entry}/environ").read_bytes() + Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] not in "ZX" and marker.encode() in blob:
            found.append(int(entry))
    return found


def gone_within(marker: str, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while True:
        left = alive_with(marker)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@pytest.fixture
def marker() -> str:
    return f"LTO_G_TEST_{uuid.uuid4().hex}"


@pytest.fixture(params=["shim", "direct"])
def measuring(request, monkeypatch):
    """Both ways a step runs: behind the RSS shim, and directly."""
    monkeypatch.setenv("LTO_CONFORMANCE_MEASURE_RSS", "1" if request.param == "shim" else "0")
    return request.param


def test_an_exception_during_a_step_kills_its_whole_group(measuring, marker, tmp_path):
    """pytest-timeout's signal method raises in the waiting thread, as does Ctrl-C."""

    def expire(signum, frame):
        raise TimeoutError("pytest-timeout stand-in")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            run(["sh", "-c", "sleep 300 & sleep 300; wait"], cwd=tmp_path, env={"MARK": marker}, timeout=600)
        # By the time the exception arrives here, the group is already gone.
        assert alive_with(marker) == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 5


def test_background_jobs_die_with_their_step(measuring, marker, tmp_path):
    step = run(["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo started"], cwd=tmp_path, env={"MARK": marker})
    assert step.ok and step.output == "started\n"
    assert gone_within(marker, 2.0) == []


def test_timeout_leaves_nothing_behind(measuring, marker, tmp_path):
    step = run(["sh", "-c", "sleep 300 & sleep 300"], cwd=tmp_path, env={"MARK": marker}, timeout=0.5)
    assert step.timed_out and step.environment_failure == "timed out"
    assert gone_within(marker, 2.0) == []


def test_streamed_output_is_killed_too(measuring, marker, tmp_path):
    def boom(line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(["sh", "-c", "echo one; sleep 300"], cwd=tmp_path, env={"MARK": marker}, on_line=boom)
    assert alive_with(marker) == []


DRIVER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from conformance.harness.process import run
    Path(sys.argv[1]).write_text(str(os.getpid()))
    run(["sh", "-c", "sleep 300 & sleep 300"], cwd=Path("."), env={"MARK": sys.argv[2]})
    """
)


def _driver(tmp_path: Path, marker: str) -> subprocess.Popen:
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(ready), marker], cwd=ROOT)
    deadline = time.monotonic() + 30
    while len(alive_with(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive_with(marker), "the driver never started its step"
    return proc


def test_the_shim_kills_its_group_when_the_harness_dies(marker, tmp_path, monkeypatch):
    """SIGKILL (or os._exit) of the harness: no handler runs there, the guardian shim acts."""
    monkeypatch.setenv("LTO_CONFORMANCE_MEASURE_RSS", "1")
    proc = _driver(tmp_path, marker)
    proc.kill()
    proc.wait()
    assert gone_within(marker) == []


def test_sweep_finds_what_a_dead_worker_left(marker, tmp_path, monkeypatch):
    """Without the shim, the session marker lets the controller kill the orphans."""
    monkeypatch.setenv("LTO_CONFORMANCE_MEASURE_RSS", "0")
    token = uuid.uuid4().hex
    monkeypatch.setenv(process.STEP_ENV, "unused")  # child_env always writes its own marker
    old = (process.session_token(), process.step_marker().split("/", 1)[1])
    process.set_session(token, "gw7")
    try:
        driver_env = textwrap.dedent(
            f"""
            from conformance.harness import process
            process.set_session({token!r}, "gw7")
            """
        )
        ready = tmp_path / "ready"
        proc = subprocess.Popen([sys.executable, "-c", driver_env + DRIVER, str(ready), marker], cwd=ROOT)
        deadline = time.monotonic() + 30
        while len(alive_with(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        assert alive_with(marker), "orphans should survive a SIGKILL without the shim"
        assert process.sweep(worker="gw8") == []
        assert process.sweep(worker="gw7")
        assert gone_within(marker) == []
    finally:
        process.set_session(*old)


def test_environment_failures_are_named():
    def step(code: int, output: str = "") -> process.Step:
        return process.Step(("cc",), Path("."), code, output, 0.1, 0)

    assert step(1, "cc1: error: No space left on device").environment_failure == os.strerror(28)
    assert step(1, "ld: final link failed: Input/output error").environment_failure == os.strerror(5)
    assert step(137).environment_failure == "killed by SIGKILL"
    assert step(-15).environment_failure == "killed by SIGTERM"
    assert step(1, "undefined reference to `foo'").environment_failure is None
    assert step(0).environment_failure is None
    assert "not cached" in step(1, "No space left on device").describe_failure()
