"""The suite as a user runs it: bad options are one usage error, ids carry the toolchain."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import fakes

ROOT = Path(__file__).resolve().parent.parent


def run_suite(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LTO_CONFORMANCE_CACHE": str(tmp_path / "cache"), "LC_ALL": "C"}
    env.pop("CC", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cc", "/bin/true"], "ERROR: --cc: /bin/true is not a working C compiler"),
        (["--cc", "/bin/false"], "ERROR: --cc: /bin/false is not a working C compiler"),
        (["--cc", "no-such-cc"], "ERROR: --cc: 'no-such-cc' not found on PATH"),
        (["--toolchain", "tcc"], "ERROR: --toolchain 'tcc': unknown preset"),
        (["--toolchain", "gcc+ld64"], "ERROR: --toolchain 'gcc+ld64': unknown linker"),
        (["--toolchain", "gcc", "--cc", "gcc"], "ERROR: --toolchain and --cc conflict"),
        (["--fuse-ld", "ld64"], "ERROR: --fuse-ld 'ld64': unknown linker"),
        (["--kernel-src", "/nonexistent-tree"], "ERROR: --kernel-src"),
        (["--known-failures", "README.md"], "ERROR: --known-failures README.md: "),
        (["--toolchains", "README.md"], "ERROR: --toolchains README.md: "),
        (["--toolchains", "no-such.toml"], "ERROR: --toolchains no-such.toml: no such file"),
        (["--toolchains", "pyproject.toml"], "ERROR: --toolchains pyproject.toml: unknown table or key"),
        (["--toolchains", "README.md", "--ar", "ar"], "ERROR: --toolchains and --ar conflict"),
        (["--probe-timeout", "soon"], "ERROR: --probe-timeout 'soon'"),
    ],
)
def test_bad_option_is_one_usage_error(args, message, tmp_path):
    result = run_suite("conformance/", "-m", "not kernel", *args, tmp_path=tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert message in result.stderr
    assert "passed" not in result.stdout
    assert result.stderr.count("ERROR:") == 1


def _processes_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (a run's own cache path)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if marker.encode() in environ:
                found.append(int(entry))
    return found


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cc", "/bin/true"], "ERROR: --cc: /bin/true is not a working C compiler"),
        (["--cc", "no-such-cc"], "ERROR: --cc: 'no-such-cc' not found on PATH"),
        (["--toolchain", "gcc-4"], "ERROR: --toolchain gcc-4: 'gcc-4' not found on PATH"),
    ],
)
def test_a_toolchain_resolved_while_xdist_starts_is_the_same_usage_error(args, message, tmp_path):
    """Under -n the controller resolves while the workers start; a bad toolchain is still one usage
    error, and the workers started meanwhile are gone with the run. execnet gives a worker that is
    still starting 5 s before it interrupts it: the run does not wait for that."""
    started = time.monotonic()
    result = run_suite("conformance/", "-m", "not kernel", "-n", "2", *args, tmp_path=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 4, result.stdout + result.stderr
    assert message in result.stderr
    assert result.stderr.count("ERROR:") == 1 and "Traceback" not in result.stdout + result.stderr
    assert "passed" not in result.stdout
    assert _processes_with(str(tmp_path / "cache")) == [], "a worker outlived its run"
    assert elapsed < 4.5, f"the run took {elapsed:.1f} s to report a usage error"
    assert not list((tmp_path / "cache" / "runs").glob("*")), "the handoff file is removed"


def test_suite_own_tests_do_not_need_a_toolchain(tmp_path):
    """`pytest tests/` never validates the toolchain under test."""
    result = run_suite("tests/test_cli.py", "--collect-only", "-q", "--cc", "/bin/true", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not os.path.exists("/usr/bin/gcc"), reason="needs gcc")
def test_report_and_ids(tmp_path):
    out = tmp_path / "report"
    result = run_suite(
        "conformance/test_optimization.py",
        "--toolchain",
        "gcc",
        "--lto-report",
        str(out),
        "-q",
        "-rA",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_cross_file_inlining[gcc-simple]" in result.stdout
    data = json.loads((out / "results.json").read_text())
    assert data["toolchains"][0]["label"] == "gcc"
    outcomes = {t["property"]: t["outcome"] for t in data["tests"] if t["case"].endswith("simple")}
    assert outcomes == {"cross-file-inlining": "passed"}
    assert (out / "report.md").read_text().startswith("# lto-conformance\n")
    assert '<table class="matrix">' in (out / "report.html").read_text()
    summary = result.stdout.split("lto-conformance: per toolchain")[-1]
    assert re.search(r"^gcc \(gcc-[\d.]+\+\w+\)  \d+ passed", summary, re.M), summary


@pytest.mark.skipif(not os.path.exists("/usr/bin/gcc"), reason="needs gcc")
def test_tool_temporaries_go_to_the_cache(tmp_path):
    """Every tool the suite runs gets TMPDIR inside the cache, not the user's TMPDIR."""
    log = tmp_path / "tmpdirs.log"
    record = f"open({str(log)!r}, 'a').write(os.environ.get('TMPDIR', '') + '\\n')"
    cc = fakes.wrapper(tmp_path / "bin", "gcc", "gcc", purpose="records TMPDIR", extra=record)
    user_tmp = tmp_path / "user-tmp"
    user_tmp.mkdir()
    cache = tmp_path / "cache"
    known = ["--known-failures", str(ROOT / "known-failures" / "debian-12.toml")]
    args = ["-p", "no:cacheprovider", "conformance/test_core.py", "-q", "--cc", str(cc), *known]
    env = {**os.environ, "TMPDIR": str(user_tmp), "LTO_CONFORMANCE_CACHE": str(cache)}
    base = ["--basetemp", str(tmp_path / "basetemp")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *args, *base], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = set(log.read_text().split())
    assert seen == {str(cache / "scratch")}


@pytest.mark.skipif(
    not os.path.exists("/usr/bin/gcc")
    or subprocess.run(["gcc", "-m32", "-print-multiarch"], capture_output=True).returncode != 0,
    reason="needs gcc with -m32 (gcc-multilib)",
)
def test_flag_values_that_look_like_options_work_as_typed(tmp_path):
    """`--cflags -m32` as typed; the label carries the 32-bit target."""
    result = run_suite(
        "conformance/test_core.py", "--collect-only", "-q", "--cc", "gcc", "--cflags", "-m32", tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "+bfd/i386-" in result.stdout
