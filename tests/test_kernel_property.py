"""kernel-build and kernel-boot through the one pipeline (``evaluate``), on the fake tree.

A kernel failure must read like every other failure (property, toolchain,
case, expected/found, ``$`` reproducer); kernel-boot stands on the
kernel-build case of its mode; an infrastructure failure is not a FAIL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.harness.build import StepCache
from conformance.harness.properties import Context, evaluate, load_all
from conformance.harness.toolchain import Toolchain
from conformance.harness.verdict import ERROR, FAIL, PASS, SKIP
from tests.kernel_fakes import (
    FAKE_TREE,
    fake_env,  # noqa: F401 (autouse: resets the fake kbuild's knobs)
    fake_toolchain,
    needs_make_and_cc,
)

CASES_ROOT = Path(__file__).resolve().parent.parent / "cases"

pytestmark = needs_make_and_cc


def context(tmp_path: Path, tc: Toolchain | None = None, src: Path = FAKE_TREE, progress=None) -> Context:
    load_all()
    return Context(
        tc or fake_toolchain(),
        tmp_path / "work",
        StepCache(tmp_path / "cache"),
        CASES_ROOT,
        progress=progress,
        kernel_src=str(src),
    )


def case(ctx: Context, prop: str, name: str):
    return next(c for c in ctx.cases(prop) if c.name == name)


def test_a_proven_build_passes_with_its_figures_and_progress(tmp_path: Path) -> None:
    lines: list[str] = []
    ctx = context(tmp_path, progress=lines.append)
    verdict = evaluate(ctx, "kernel-build", case(ctx, "kernel-build", "thin"))
    assert verdict.outcome == PASS, verdict.message()
    assert verdict.info["bitcode_objects"] == 3 and verdict.info["baseline_bitcode_objects"] == 0
    assert verdict.info["kernel_config"] == "tinyconfig" and "build_seconds" in verdict.info
    assert any("ThinLTO-promoted" in proof for proof in verdict.info["lto_proofs"])
    assert "# the non-LTO control:" in verdict.reproducer
    assert any(line.startswith("[kernel thin [clang-19+lld]] building vmlinux") for line in lines)
    assert any(line.startswith("[kernel none [clang-19+lld]]") for line in lines)


def test_a_kernel_build_failure_reads_like_every_other_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KERNEL_FAIL", "vmlinux")
    ctx = context(tmp_path)
    verdict = evaluate(ctx, "kernel-build", case(ctx, "kernel-build", "thin"))
    assert verdict.outcome == FAIL
    message = verdict.message()
    assert message.startswith("kernel-build [clang-19.1.7+lld] cases/kernel-build/thin\n")
    assert "  expected: CONFIG_LTO_CLANG_THIN=y kept by olddefconfig, vmlinux built" in message
    assert "  found:    kernel build failed\n            $ make -C" in message
    assert "failed on request" in message
    assert "  why it matters:" in message and "\n  reproduce:\n  $ make -C" in message


def test_kernel_boot_stands_on_the_build_of_its_own_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KERNEL_DROP_LTO", "1")
    ctx = context(tmp_path)
    verdict = evaluate(ctx, "kernel-boot", case(ctx, "kernel-boot", "thin"))
    assert verdict.outcome == SKIP and verdict.blocked_by is not None
    assert verdict.blocked_by.property == "kernel-build"
    assert verdict.blocked_by.problem.startswith("expected CONFIG_LTO_CLANG_THIN=y kept by olddefconfig")
    assert "Kconfig dropped CONFIG_LTO_CLANG_THIN" in verdict.reason
    assert set(ctx.facts) == {"kernel-build/thin"}  # the full build was not asked for


def test_no_gcc_lto_in_the_tree_is_a_skip_naming_it(tmp_path: Path) -> None:
    ctx = context(tmp_path, fake_toolchain("gcc", "gcc", "bfd"))
    full = evaluate(ctx, "kernel-build", case(ctx, "kernel-build", "full"))
    assert full.outcome == SKIP and "no GCC LTO in this kernel tree" in full.reason
    thin = evaluate(ctx, "kernel-build", case(ctx, "kernel-build", "thin"))
    assert thin.outcome == SKIP and "needs a clang toolchain" in thin.reason


def test_a_tarball_that_cannot_be_unpacked_is_not_a_property_failure(tmp_path: Path) -> None:
    tarball = tmp_path / "linux-source-9.9.tar.gz"
    tarball.write_bytes(b"\x1f\x8b not really gzip")
    ctx = context(tmp_path, src=tarball)
    verdict = evaluate(ctx, "kernel-build", case(ctx, "kernel-build", "full"))
    assert verdict.outcome == ERROR
    assert verdict.reason.startswith(f"infrastructure failure, not checked: cannot unpack kernel source {tarball}")


MARKS_PLUGIN = """
import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    for item in items:
        timeout = item.get_closest_marker("timeout")
        groups = [m.args[0] for m in item.iter_markers("xdist_group")]
        print("MARKS", item.name, timeout.args[0] if timeout else None, groups)
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_kernel_tests_get_kernel_timeout_unless_the_user_gave_timeout(tmp_path: Path) -> None:
    (tmp_path / "show_marks.py").write_text(MARKS_PLUGIN)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "LTO_CONFORMANCE_CACHE": str(tmp_path / "cache")}
    env.pop("PYTEST_TIMEOUT", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "show_marks", "--collect-only"]
    command += ["-q", "conformance/test_kernel.py", "--toolchain", "gcc"]
    for extra, timeout in (((), "14400.0"), (("--timeout", "60"), "None"), (("-o", "kernel_timeout=99"), "99.0")):
        result = subprocess.run(
            [*command, *extra],
            cwd=CASES_ROOT.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert f"MARKS test_kernel_build[gcc-full] {timeout} ['kernel-gcc-full']" in result.stdout, result.stdout
