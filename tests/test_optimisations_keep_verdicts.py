"""The speed-ups change no verdict: a run with each of them gives what a run without them gives.

A run of real properties with the optimisations off (cold), then with them
on (the verdict cache empty, under xdist with the longest-first schedule;
then the verdict cache filled; then ``-n 2`` again, which a run that started
no command lets run without workers; then with the kept verdicts gone, still
in one process, which must rebuild and take the workers back), against the
same toolchain: the outcomes and failure texts must be identical test by test.
The properties chosen include a known gcc failure, uncached runs (jobserver,
tmpdir, reproducible-output) and properties that stand on others.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROPERTIES = "lto_ir or linker_plugin or dead_function_removal or nm_symbols or jobserver or tmpdir or archive_index"
PYTEST = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "conformance/", "-q", "--cc", "gcc")
OFF = {"LTO_CONFORMANCE_VERDICT_CACHE": "0", "LTO_CONFORMANCE_RESOLUTION_CACHE": "0"}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


XDIST_STARTED = "bringing up nodes"


def _run(tmp_path: Path, cache: Path, extra_env: dict[str, str], *args: str) -> tuple[dict, str]:
    env = {**os.environ, "LTO_CONFORMANCE_CACHE": str(cache), "LC_ALL": "C", **extra_env}
    for key in ("CC", *OFF):
        if key not in extra_env:
            env.pop(key, None)
    report = tmp_path / f"report-{cache.name}"  # one command line for every run on one cache
    result = subprocess.run(
        [*PYTEST, "-k", PROPERTIES, "--lto-report", str(report), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    tests = json.loads((report / "results.json").read_text())["tests"]
    return {t["nodeid"]: (t["outcome"], t.get("message", "")) for t in tests}, result.stdout


def test_verdicts_identical_with_and_without_the_optimisations(tmp_path: Path) -> None:
    plain, _ = _run(tmp_path, tmp_path / "cache-off", OFF)
    cache = tmp_path / "cache-on"
    # Under xdist: longest first, dealt round robin by the suite's scheduler.
    cold, cold_out = _run(tmp_path, cache, {}, "-n", "2")
    warm, warm_out = _run(tmp_path, cache, {}, "-n", "2")
    again, again_out = _run(tmp_path, cache, {}, "-n", "2")
    assert plain, "no test ran"
    assert cold == plain
    assert warm == plain
    assert again == plain
    assert XDIST_STARTED in cold_out and XDIST_STARTED in warm_out
    assert XDIST_STARTED not in again_out, "a rerun after one that started no command still started workers"
    assert any((cache / "warm-runs").iterdir())
    shutil.rmtree(cache / "verdicts")
    shutil.rmtree(cache / "steps")
    rebuilt, rebuilt_out = _run(tmp_path, cache, {}, "-n", "2")
    assert rebuilt == plain
    assert XDIST_STARTED not in rebuilt_out
    assert not any((cache / "warm-runs").iterdir()), "a run that started commands left its invocation marked warm"
    assert any((tmp_path / "cache-on" / "verdicts").rglob("verdict.json")), "the warm run read no kept verdict"
    assert any((tmp_path / "cache-on" / "toolchains").glob("*.pickle")), "no resolved toolchain was kept"
    assert not (tmp_path / "cache-off" / "verdicts").exists(), "switched off, a verdict was kept"
