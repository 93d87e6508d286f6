"""The toolchains a controller resolves while its xdist workers start, and what a worker waits for."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from conformance.harness import handoff
from conformance.harness.errors import UsageError


def test_a_worker_gets_what_the_controller_resolved(tmp_path):
    gate = threading.Event()
    resolution = handoff.Resolution(lambda: gate.wait(5) and ["toolchain"], tmp_path, tmp_path / "runs" / "t")
    filled: list[str] = []
    threading.Timer(0.05, gate.set).start()
    got = handoff.wait_for(tmp_path / "runs" / "t", os.getpid(), lambda: filled.append("imports"))
    assert got == ["toolchain"] == resolution.result()
    assert filled == ["imports"], "the wait is filled once with work the worker needs anyway"


def test_a_failed_resolution_is_the_same_usage_error_on_both_sides(tmp_path):
    def bad():
        raise UsageError("--cc: /bin/true is not a working C compiler")

    resolution = handoff.Resolution(bad, tmp_path, tmp_path / "t")
    with pytest.raises(UsageError, match="not a working C compiler"):
        resolution.result()
    with pytest.raises(UsageError, match="not a working C compiler"):
        handoff.wait_for(tmp_path / "t", os.getpid())


def test_a_harness_bug_reaches_the_controller_and_frees_the_workers(tmp_path):
    resolution = handoff.Resolution(lambda: 1 / 0, tmp_path, tmp_path / "t")
    with pytest.raises(ZeroDivisionError):
        resolution.result()
    with pytest.raises(UsageError, match="could not resolve"):
        handoff.wait_for(tmp_path / "t", os.getpid())


def test_a_worker_stops_waiting_when_its_controller_is_gone(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    started = time.monotonic()
    with pytest.raises(UsageError, match="controller ended"):
        handoff.wait_for(tmp_path / "never", dead.pid)
    assert time.monotonic() - started < 5


def test_an_abandoned_resolution_leaves_no_file(tmp_path):
    """configure failed after the thread started: the file is not written after the run removed it."""
    gate = threading.Event()
    resolution = handoff.Resolution(lambda: gate.wait(5) and ["toolchain"], tmp_path, tmp_path / "t")
    resolution.abandon()
    gate.set()
    resolution.result()
    assert not (tmp_path / "t").exists()
