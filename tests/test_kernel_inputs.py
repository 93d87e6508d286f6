"""Kernel inputs checked before the run; half-done unpacks and resumed builds handled after it."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import pytest

from conformance.harness import kbuild, kernel_source
from conformance.harness.errors import InfrastructureError, UsageError
from conformance.harness.properties import kernel_build
from tests.kernel_fakes import FAKE_TREE, fake_toolchain, reset_fake_env

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@pytest.fixture(autouse=True)
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    reset_fake_env(monkeypatch)


def tarball(folder: Path, suffix: str) -> Path:
    mode = {"tar": "w", "tar.gz": "w:gz", "tar.xz": "w:xz", "tar.bz2": "w:bz2"}[suffix]
    path = folder / f"linux-source-9.9.{suffix}"
    with tarfile.open(path, mode) as tar:
        tar.add(FAKE_TREE, arcname="linux-source-9.9")
    return path


def truncated(path: Path) -> Path:
    data = path.read_bytes()
    cut = path.with_name("cut-" + path.name)
    cut.write_bytes(data[: len(data) * 2 // 3])
    return cut


@pytest.mark.parametrize("suffix", ["tar", "tar.gz", "tar.xz", "tar.bz2"])
def test_a_truncated_tarball_is_a_usage_error(suffix: str, tmp_path: Path) -> None:
    if suffix != "tar" and shutil.which({"tar.gz": "gzip", "tar.xz": "xz", "tar.bz2": "bzip2"}[suffix]) is None:
        pytest.skip(f"no tool to test a .{suffix}")
    good = tarball(tmp_path, suffix)
    kernel_source.check_options(str(good), None, tmp_path / "cache")
    bad = truncated(good)
    with pytest.raises(UsageError, match=rf"^--kernel-src {bad}: (damaged or truncated|truncated tar)"):
        kernel_source.check_options(str(bad), None, tmp_path / "cache")


def test_an_already_unpacked_tarball_is_not_read_again(tmp_path: Path) -> None:
    good = tarball(tmp_path, "tar.xz")
    cache = tmp_path / "cache"
    kernel_source.resolve_source(str(good), cache)
    data = good.read_bytes()
    stat = good.stat()
    good.write_bytes(data[:100] + bytes(len(data) - 100))  # the check would fail now; the tree is there
    os.utime(good, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    kernel_source.check_options(str(good), None, cache)


@pytest.mark.parametrize(
    "content", ["root:x:0:0:root:/root:/bin/bash\n", "", "PRINTK=y\n"], ids=["passwd", "empty", "no-prefix"]
)
def test_a_config_file_without_config_lines_is_a_usage_error(content: str, tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text(content)
    with pytest.raises(UsageError, match=r"^--kernel-config .*passwd: not a kernel config \(no CONFIG_"):
        kernel_source.check_options(None, str(path))


def test_a_config_file_with_only_unset_options_is_a_config(tmp_path: Path) -> None:
    path = tmp_path / "min.config"
    path.write_text("# CONFIG_MODULES is not set\n")
    assert kernel_source.resolve_config(str(path)).path == path.resolve()


def test_a_killed_unpack_is_removed_by_the_next(tmp_path: Path) -> None:
    good = tarball(tmp_path, "tar.gz")
    cache = tmp_path / "cache"
    final = kernel_source.unpack_target(good, cache)
    leftover = final.parent / f".unpack-{final.name}-dead1234"
    (leftover / "linux-source-9.9").mkdir(parents=True)
    (leftover / "linux-source-9.9" / "half-written.c").write_text("int x")
    source = kernel_source.resolve_source(str(good), cache)
    assert kernel_source.is_kernel_tree(source.root)
    assert not leftover.exists()
    assert [p.name for p in final.parent.iterdir() if p.is_dir()] == [final.name]


def test_an_unpack_failure_is_one_error_for_the_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tarball the cheap check cannot judge (gzip past its timeout) fails at unpack, once."""
    bad = truncated(tarball(tmp_path, "tar.gz"))
    cache = tmp_path / "cache"
    with pytest.raises(InfrastructureError, match="cannot unpack kernel source") as first:
        kernel_source.resolve_source(str(bad), cache)
    ran: list[object] = []
    monkeypatch.setattr(kernel_source, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(InfrastructureError) as second:
        kernel_source.resolve_source(str(bad), cache)
    assert str(second.value) == str(first.value) and ran == []
    assert not list((cache / "kernel" / "src").glob(".unpack-*"))


def test_a_resumed_build_reports_no_build_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted, then resumed: only the rest was built, so time and memory are no cost figure."""
    tc = fake_toolchain()
    source = kernel_source.resolve_source(str(FAKE_TREE), Path("/nonexistent"))
    request = kbuild.BuildRequest(source, kernel_source.resolve_config(None), tc, "thin")
    monkeypatch.setenv("FAKE_KERNEL_FAIL", "vmlinux")  # stands in for an interrupted make
    assert not kbuild.build_kernel(request, tmp_path).ok
    monkeypatch.delenv("FAKE_KERNEL_FAIL")
    resumed = kbuild.build_kernel(request, tmp_path)
    assert resumed.ok and resumed.resumed
    figures = kernel_build.figures(resumed)
    assert figures["resumed"] is True
    assert not {"build_seconds", "make_seconds", "peak_rss_mib"} & set(figures)
    assert "no build time" in kernel_build.resumed_note(resumed)
    fresh = kbuild.build_kernel(request, tmp_path / "clean")
    assert fresh.ok and not fresh.resumed and "build_seconds" in kernel_build.figures(fresh)
