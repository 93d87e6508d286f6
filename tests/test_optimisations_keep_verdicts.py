"""The speed-ups change no verdict: a run with each of them gives what a run without them gives.

A run of real properties with the optimisations off (cold), then with them
on twice (the verdict cache empty, under xdist with the longest-first
schedule; then the verdict cache filled), against the same
toolchain: the outcomes and failure texts must be identical test by test.
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


def _run(tmp_path: Path, name: str, cache: Path, extra_env: dict[str, str], *args: str) -> dict[str, tuple[str, str]]:
    env = {**os.environ, "LTO_CONFORMANCE_CACHE": str(cache), "LC_ALL": "C", **extra_env}
    for key in ("CC", *OFF):
        if key not in extra_env:
            env.pop(key, None)
    report = tmp_path / name
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
    return {t["nodeid"]: (t["outcome"], t.get("message", "")) for t in tests}


def test_verdicts_identical_with_and_without_the_optimisations(tmp_path: Path) -> None:
    plain = _run(tmp_path, "off", tmp_path / "cache-off", OFF)
    # Under xdist: longest first, dealt round robin by the suite's scheduler.
    cold = _run(tmp_path, "cold", tmp_path / "cache-on", {}, "-n", "2")
    warm = _run(tmp_path, "warm", tmp_path / "cache-on", {})
    assert plain, "no test ran"
    assert cold == plain
    assert warm == plain
    assert any((tmp_path / "cache-on" / "verdicts").rglob("verdict.json")), "the warm run read no kept verdict"
    assert any((tmp_path / "cache-on" / "toolchains").glob("*.pickle")), "no resolved toolchain was kept"
    assert not (tmp_path / "cache-off" / "verdicts").exists(), "switched off, a verdict was kept"
