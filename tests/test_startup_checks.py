"""Every place the user points the run at is checked before it starts: one line, exit 4."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conformance.harness import startup
from conformance.harness.verdict import FAIL, SKIP
from tests import fakes
from tests.kernel_fakes import FAKE_TREE
from tests.test_cli import run_suite


def truncated_tarball(folder: Path) -> Path:
    path = folder / "linux-source-9.9.tar.xz"
    with tarfile.open(path, "w:xz") as tar:
        tar.add(FAKE_TREE, arcname="linux-source-9.9")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, str]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    baselines = {"empty": "{}", "garbage": "garbage{", "schema99": '{"schema": 99, "tests": []}'}
    for name, text in baselines.items():
        (tmp_path / f"{name}.json").write_text(text)
    return {
        **{name: str(tmp_path / f"{name}.json") for name in baselines},
        "file": str(a_file),
        "under-file": str(a_file / "sub"),
        "passwd": str(passwd),
        "truncated": str(truncated_tarball(tmp_path)) if shutil.which("xz") else "",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lto-report", "{file}"], "ERROR: --lto-report {file}: is a file, not a folder"),
        (
            ["--lto-report", "{under-file}"],
            "ERROR: --lto-report {under-file}: cannot create the folder (Not a directory)",
        ),
        (["--lto-cache", "{file}"], "ERROR: --lto-cache {file}: is a file, not a folder"),
        (["--lto-cache", "{under-file}"], "ERROR: --lto-cache {under-file}: cannot create the cache folder"),
        (["--kernel-config", "{passwd}"], "ERROR: --kernel-config {passwd}: not a kernel config (no CONFIG_"),
        (["--kernel-src", "{truncated}"], "ERROR: --kernel-src {truncated}: damaged or truncated tarball (xz: "),
        (["--baseline", "{empty}"], "ERROR: --baseline {empty}: not an lto-conformance results.json"),
        (["--baseline", "{garbage}"], "ERROR: --baseline {garbage}: cannot read results: Expecting value"),
        (
            ["--baseline", "{schema99}"],
            "ERROR: --baseline {schema99}: written by results schema 99, this lto-conformance reads schema 1 and 2",
        ),
    ],
    ids=[
        "report-is-a-file",
        "report-uncreatable",
        "cache-is-a-file",
        "cache-uncreatable",
        "config",
        "tarball",
        "baseline-empty",
        "baseline-garbage",
        "baseline-schema",
    ],
)
def test_a_bad_place_is_one_usage_error(args, message, inputs, tmp_path):
    if "{truncated}" in args and not inputs["truncated"]:
        pytest.skip("no xz")
    args = [a.format(**inputs) for a in args]
    result = run_suite("conformance/test_core.py", "-k", "lto_ir", *args, tmp_path=tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert message.format(**inputs) in result.stderr
    assert result.stderr.count("ERROR:") == 1 and "Traceback" not in result.stderr + result.stdout


@contextlib.contextmanager
def tmpfs(where: Path, options: str):
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_cache_or_report_folder(tmp_path):
    with tmpfs(tmp_path / "ro", "size=1m,ro") as ro:
        result = run_suite("conformance/test_core.py", "--lto-report", str(ro / "out"), tmp_path=tmp_path)
        assert result.returncode == 4 and "cannot create the folder (Read-only file system)" in result.stderr
        result = run_suite("conformance/test_core.py", "--lto-cache", str(ro), tmp_path=tmp_path)
        assert result.returncode == 4 and f"--lto-cache {ro}: cannot write to the cache (Read-only" in result.stderr


def test_a_cache_too_small_for_the_selection_says_how_much_is_needed(tmp_path):
    with tmpfs(tmp_path / "small", "size=8m") as small:
        result = run_suite("conformance/test_core.py", "--lto-cache", str(small), tmp_path=tmp_path)
        assert result.returncode == 4, result.stdout + result.stderr
        assert f"ERROR: --lto-cache {small}: 8 MiB free, the selected tests need about 32 MiB" in result.stderr
        kernel = run_suite(
            "conformance/",
            "-m",
            "kernel",
            "--cc",
            "clang-19",
            "--fuse-ld",
            "lld",
            "--kernel-src",
            str(FAKE_TREE),
            "--lto-cache",
            str(small),
            tmp_path=tmp_path,
        )
        if shutil.which("clang-19"):
            assert kernel.returncode == 4 and "kernel builds (tinyconfig)" in kernel.stderr, kernel.stderr
            assert "-m 'not kernel'" in kernel.stderr


def test_the_need_is_estimated_from_the_selection(tmp_path):
    fast = startup.cache_need(toolchains=2, kernel_params=[], tree_to_unpack=None, kernel_config=None)
    assert fast.total == 2 * startup.FAST_NEED
    kernel = startup.cache_need(
        toolchains=1, kernel_params=["clang-19-thin", "clang-19-full"], tree_to_unpack=None, kernel_config=None
    )
    assert kernel.total == startup.FAST_NEED + 3 * startup.KERNEL_BUILD_NEED["tinyconfig"]
    tarball = tmp_path / "linux.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(FAKE_TREE, arcname="linux")
    with_tree = startup.cache_need(toolchains=1, kernel_params=["x"], tree_to_unpack=tarball, kernel_config="defconfig")
    assert with_tree.total == startup.FAST_NEED + 2 * startup.LARGE_KERNEL_BUILD_NEED + tarball.stat().st_size


def test_a_tool_that_writes_nothing_fails_its_property_and_blocks_its_dependents(system_gcc, step_cache_root, tmp_path):
    """--ar /bin/true: no FileNotFoundError, one failure naming the missing archive, dependents skipped."""
    tc = fakes.toolchain(cc="gcc", ar="/bin/true")
    results = fakes.evaluate_properties(tc, step_cache_root, tmp_path, ["archive-index", "thin-archive"])
    (index,) = results["archive-index"]
    assert index.outcome == FAIL
    assert "true exited 0 but wrote no archive libprobe.a" in index.message()
    assert all(v.outcome == SKIP and "archive-index" in v.reason for v in results["thin-archive"])
