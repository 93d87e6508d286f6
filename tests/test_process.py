"""The command runner: exit codes, timeouts, and peak RSS of the command alone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conformance.harness.process import run

HOG = "b = bytearray(96 << 20)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\n"


@pytest.fixture
def measuring(monkeypatch):
    """The self-tests switch the RSS shim off for speed; these tests need it."""
    monkeypatch.delenv("LTO_CONFORMANCE_MEASURE_RSS", raising=False)


def test_peak_rss_is_the_commands_not_pytests(measuring, tmp_path: Path):
    ballast = bytearray(192 << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    small = run(["true"], cwd=tmp_path)
    big = run([sys.executable, "-c", HOG], cwd=tmp_path)
    assert small.ok and small.peak_rss_kib < 64 << 10, small.peak_rss_kib
    assert big.ok and 96 << 10 <= big.peak_rss_kib < 190 << 10, big.peak_rss_kib
    del ballast


def test_exit_codes_and_missing_programs(measuring, tmp_path: Path):
    assert run(["sh", "-c", "exit 3"], cwd=tmp_path).returncode == 3
    missing = run(["no-such-program-xyz"], cwd=tmp_path)
    assert missing.returncode == 127 and "No such file" in missing.output
    assert run(["sh", "-c", "kill -9 $$"], cwd=tmp_path).returncode == 137


def test_timeout_kills_the_process_group(measuring, tmp_path: Path):
    step = run(["sh", "-c", "sleep 30 & sleep 30"], cwd=tmp_path, timeout=0.5)
    assert step.timed_out and not step.ok and step.seconds < 5
    assert "timed out after" in step.describe_failure()


def test_output_environment_and_reproducer(tmp_path: Path):
    step = run(["sh", "-c", 'echo "$LC_ALL $PROBE"'], cwd=tmp_path, env={"PROBE": "x y"}, measure_rss=False)
    assert step.output == "C x y\n"
    assert step.shell() == "$ PROBE='x y' sh -c 'echo \"$LC_ALL $PROBE\"'"
    lines: list[str] = []
    run(["printf", "a\\nb\\n"], cwd=tmp_path, on_line=lines.append)
    assert lines == ["a", "b"]
