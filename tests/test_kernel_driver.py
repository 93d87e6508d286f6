"""The kbuild driver and boot runner against a fake kernel tree, in seconds.

``tests/fake_kernel`` answers the same make command lines as kbuild
(``make -C tree O=dir ARCH=... tinyconfig/olddefconfig/vmlinux bzImage``),
drops the LTO option the way Kconfig does when the toolchain fails its
checks, and fails on request (``FAKE_KERNEL_FAIL``, ``FAKE_KERNEL_DROP_LTO``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from conformance.harness import kbuild, kbuild_variables, kconfig, kernel_proofs, kernel_source, qemu
from conformance.harness.errors import Unsupported, UsageError
from conformance.harness.toolchain import Toolchain
from tests.kernel_fakes import (
    FAKE_TREE,
    fake_env,  # noqa: F401 (autouse: resets the fake kbuild's knobs)
    fake_toolchain,
    needs_make_and_cc,
)

pytestmark = needs_make_and_cc


def fake_request(tc: Toolchain, mode: str, config: str | None = None) -> kbuild.BuildRequest:
    source = kernel_source.resolve_source(str(FAKE_TREE), Path("/nonexistent"))
    return kbuild.BuildRequest(source, kernel_source.resolve_config(config), tc, mode)


# ----------------------------------------------------------------------------- toolchain -> make variables


@pytest.mark.parametrize(
    ("cc", "family", "linker", "target", "expected"),
    [
        ("clang-19", "clang", "lld", "", {"ARCH": "x86_64", "LLVM": "-19"}),
        ("clang", "clang", "lld", "", {"ARCH": "x86_64", "LLVM": "1"}),
        ("/opt/llvm/bin/clang", "clang", "lld", "", {"ARCH": "x86_64", "LLVM": "/opt/llvm/bin/"}),
        ("clang-19", "clang", "bfd", "", {"ARCH": "x86_64", "LLVM": "-19", "LD": "ld.bfd"}),
        ("gcc", "gcc", "bfd", "", {"ARCH": "x86_64", "CC": "gcc"}),
        ("gcc-12", "gcc", "gold", "", {"ARCH": "x86_64", "CC": "gcc-12", "LD": "ld.gold"}),
        (
            "clang-19 --target=x86_64-linux-gnu",
            "clang",
            "lld",
            "",
            {"ARCH": "x86_64", "LLVM": "-19", "CC": "clang-19 --target=x86_64-linux-gnu"},
        ),
        ("gcc -no-pie", "gcc", "bfd", "", {"ARCH": "x86_64", "CC": "gcc -no-pie"}),
        ("/opt/gcc/bin/xgcc -B/opt/gcc/", "gcc", "bfd", "", {"ARCH": "x86_64", "CC": "/opt/gcc/bin/xgcc -B/opt/gcc/"}),
        (
            "aarch64-linux-gnu-gcc-12",
            "gcc",
            "bfd",
            "aarch64-linux-gnu",
            {"ARCH": "arm64", "CC": "aarch64-linux-gnu-gcc-12", "CROSS_COMPILE": "aarch64-linux-gnu-"},
        ),
    ],
)
def test_make_variables(cc: str, family: str, linker: str, target: str, expected: dict) -> None:
    assert kbuild_variables.make_variables(fake_toolchain(cc, family, linker, target)) == expected


def test_user_flags_become_kcflags_and_linker_flags_on_ld() -> None:
    tc = fake_toolchain(cflags=("-O2", "-DTAG=a b"), ldflags=("-Wl,-z,now", "-Xlinker", "--no-relax", "-static"))
    variables = kbuild_variables.make_variables(tc)
    assert variables["KCFLAGS"] == "-O2 '-DTAG=a b'"
    assert variables["LD"] == "ld.lld-19 -z now --no-relax"
    assert kbuild_variables.split_ldflags(tc.ldflags)[1] == ["-static"]
    gcc = fake_toolchain("x86_64-linux-gnu-gcc-12", "gcc", "gold", ldflags=("-Wl,-O1",))
    assert kbuild_variables.make_variables(gcc)["LD"] == "x86_64-linux-gnu-ld.gold -O1"
    assert kbuild_variables.make_variables(fake_toolchain("gcc", "gcc", "bfd", ldflags=("-Wl,-O1",)))["LD"] == "ld -O1"


def test_jobs_from_affinity_unless_a_reachable_jobserver() -> None:
    assert kbuild_variables.jobs_argument({}) == [f"-j{len(os.sched_getaffinity(0))}"]
    assert kbuild_variables.jobs_argument({"MAKEFLAGS": " -j8 --jobserver-auth=fifo:/tmp/GMfifo1"}) == []
    # an fd-pair jobserver does not survive close_fds: fall back to -jN
    assert kbuild_variables.jobs_argument({"MAKEFLAGS": " -j8 --jobserver-auth=3,4"}) != []


# ----------------------------------------------------------------------------- Kconfig


def test_lto_options_read_from_the_tree() -> None:
    index = kconfig.read_kconfig(FAKE_TREE, "x86")
    assert {"LTO_CLANG_THIN", "LTO_CLANG_FULL", "HAS_LTO_CLANG"} <= index.symbols
    thin = kconfig.lto_choice("clang", "thin", index)
    assert thin.required == "LTO_CLANG_THIN" and "LTO_NONE" in thin.disable


def test_gcc_skips_when_the_tree_has_no_gcc_lto() -> None:
    index = kconfig.read_kconfig(FAKE_TREE, "x86")
    with pytest.raises(Unsupported, match=r"no GCC LTO in this kernel tree.*Clang LTO only"):
        kconfig.lto_choice("gcc", "full", index)


def test_gcc_lto_of_an_out_of_tree_series(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(FAKE_TREE, tree)
    with open(tree / "arch" / "Kconfig", "a") as handle:
        handle.write('\nconfig LTO_GCC\n\tbool "gcc LTO"\n\tdepends on CC_IS_GCC\n')
    index = kconfig.read_kconfig(tree, "x86")
    choice = kconfig.lto_choice("gcc", "full", index)
    assert choice.required == "LTO_GCC"
    with pytest.raises(Unsupported, match="no ThinLTO"):
        kconfig.lto_choice("gcc", "thin", index)


@pytest.mark.parametrize(
    ("expr", "config", "expected"),
    [
        ("CC_IS_CLANG && LD_IS_LLD", {"CC_IS_CLANG": "y"}, False),
        ("CC_IS_CLANG && LD_IS_LLD", {"CC_IS_CLANG": "y", "LD_IS_LLD": "y"}, True),
        ("!FTRACE_MCOUNT_USE_RECORDMCOUNT", {}, True),
        ("(!KASAN || CLANG_VERSION >= 170000) || !DEBUG_INFO", {"KASAN": "y", "CLANG_VERSION": "190107"}, True),
        ("$(success,$(NM) --help | head -n 1 | grep -qi llvm)", {}, None),
        ("X && $(success,true)", {}, False),
    ],
)
def test_kconfig_expressions(expr: str, config: dict, expected: bool | None) -> None:
    assert kconfig.evaluate(expr, config) is expected


def test_explain_names_the_unmet_dependency() -> None:
    index = kconfig.read_kconfig(FAKE_TREE, "x86")
    config = {"CC_IS_CLANG": "y", "AS_IS_LLVM": "y", "ARCH_SUPPORTS_LTO_CLANG": "y", "LTO_NONE": "y"}
    reasons = kconfig.explain_dropped("LTO_CLANG_THIN", config, index)
    assert any("HAS_LTO_CLANG" in r for r in reasons)
    assert any("CC_IS_CLANG && LD_IS_LLD && AS_IS_LLVM" in r for r in reasons)


def test_edit_config_replaces_both_spellings(tmp_path: Path) -> None:
    path = tmp_path / ".config"
    path.write_text("CONFIG_LTO_NONE=y\n# CONFIG_PRINTK is not set\nCONFIG_OTHER=y\n")
    kconfig.edit_config(path, ["PRINTK", "LTO_CLANG_THIN"], ["LTO_NONE"])
    assert kconfig.read_config(path) == {"OTHER": "y", "PRINTK": "y", "LTO_CLANG_THIN": "y"}
    assert "# CONFIG_LTO_NONE is not set" in path.read_text()


# ----------------------------------------------------------------------------- options


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--kernel-src .*not a Linux kernel tree"):
        kernel_source.resolve_source(str(tmp_path), tmp_path)
    with pytest.raises(UsageError, match=r"--kernel-src .*no such file"):
        kernel_source.resolve_source(str(tmp_path / "missing"), tmp_path)
    with pytest.raises(UsageError, match="--kernel-config nosuchconfig"):
        kernel_source.resolve_config("nosuchconfig")
    not_a_tarball = tmp_path / "linux.zip"
    not_a_tarball.write_bytes(b"")
    with pytest.raises(UsageError, match="neither a kernel tree nor a source tarball"):
        kernel_source.check_options(str(not_a_tarball), None)
    kernel_source.check_options(str(FAKE_TREE), "defconfig")
    config_file = tmp_path / "my.config"
    config_file.write_text("CONFIG_PRINTK=y\n")
    assert kernel_source.resolve_config(str(config_file)).path == config_file.resolve()
    assert kernel_source.resolve_config(None).target == "tinyconfig"


def test_tarball_unpacked_once_even_when_two_workers_race(tmp_path: Path) -> None:
    tarball = tmp_path / "linux-source-9.9.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(FAKE_TREE, arcname="linux-source-9.9")
    cache = tmp_path / "cache"
    results: list[kernel_source.KernelSource] = []
    threads = [threading.Thread(target=lambda: results.append(kernel_source.resolve_source(str(tarball), cache)))]
    threads.append(threading.Thread(target=lambda: results.append(kernel_source.resolve_source(str(tarball), cache))))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0].root == results[1].root
    assert sorted(r.unpacked_now for r in results) == [False, True]
    again = kernel_source.resolve_source(str(tarball), cache)
    assert not again.unpacked_now and kernel_source.is_kernel_tree(again.root)
    assert [p.name for p in (cache / "kernel" / "src").iterdir() if p.is_dir()] == [again.root.parent.name]


def test_default_tarball_is_the_newest(tmp_path: Path) -> None:
    for version in ("6.1", "6.12", "6.9"):
        (tmp_path / f"linux-source-{version}.tar.xz").write_bytes(b"")
    assert kernel_source.default_tarball(str(tmp_path / "linux-source-*.tar.*")).name == "linux-source-6.12.tar.xz"
    assert kernel_source.default_tarball(str(tmp_path / "nothing-*")) is None


# ----------------------------------------------------------------------------- builds on the fake tree


def test_thin_build_is_proven_against_the_baseline(tmp_path: Path) -> None:
    tc = fake_toolchain()
    progress: list[str] = []
    thin = kbuild.build_kernel(fake_request(tc, "thin"), tmp_path, on_progress=progress.append)
    assert thin.ok, thin.message
    assert thin.option == "CONFIG_LTO_CLANG_THIN" and thin.bitcode_objects == 3 and thin.initcalls_lds
    assert thin.image.endswith("arch/x86/boot/bzImage")
    assert [s.command.split()[-1] for s in thin.steps] == ["tinyconfig", "olddefconfig", "bzImage"]
    assert "ARCH=x86_64 LLVM=-19" in thin.steps[0].command
    assert any(line.startswith("building vmlinux bzImage") for line in progress)
    base = kbuild.build_kernel(fake_request(tc, "none"), tmp_path)
    assert base.ok and base.bitcode_objects == 0 and not base.initcalls_lds
    proofs = kernel_proofs.prove_lto("clang", thin, base)
    assert all(p.ok for p in proofs), [str(p) for p in proofs if not p.ok]
    assert base.symbols.promoted_locals == 0 and thin.symbols.promoted_locals == 1
    assert base.symbols.global_share > thin.symbols.global_share


def test_the_whole_cc_command_and_the_user_flags_reach_kbuild(tmp_path: Path) -> None:
    tc = fake_toolchain("clang-19 --target=x86_64-linux-gnu", cflags=("-DFROM_USER",), ldflags=("-Wl,-z,now",))
    build = kbuild.build_kernel(fake_request(tc, "thin"), tmp_path)
    assert build.ok, build.message
    seen = json.loads((Path(build.out_dir) / "fake-make-variables.json").read_text())
    assert seen["CC"] == "clang-19 --target=x86_64-linux-gnu" and seen["LLVM"] == "-19"
    assert seen["KCFLAGS"] == "-DFROM_USER" and seen["LD"] == "ld.lld-19 -z now"
    assert "'CC=clang-19 --target=x86_64-linux-gnu'" in build.reproducer


def test_gcc_no_pie_reaches_kbuild_whole(tmp_path: Path) -> None:
    build = kbuild.build_kernel(fake_request(fake_toolchain("gcc -no-pie", "gcc", "bfd"), "none"), tmp_path)
    assert build.ok, build.message
    seen = json.loads((Path(build.out_dir) / "fake-make-variables.json").read_text())
    assert seen["CC"] == "gcc -no-pie" and seen["LLVM"] == ""


def test_a_baseline_that_carries_lto_fails_the_proof(tmp_path: Path) -> None:
    tc = fake_toolchain()
    full = kbuild.build_kernel(fake_request(tc, "full"), tmp_path)
    proofs = kernel_proofs.prove_lto("clang", full, full)
    assert any("global functions" in p.expected for p in proofs if not p.ok)
    assert any("non-LTO baseline" in p.expected for p in proofs if not p.ok)


def test_finished_build_of_a_tarball_is_reused_without_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tc = fake_toolchain()
    tarball = tmp_path / "linux-source-9.9.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(FAKE_TREE, arcname="linux-source-9.9")
    source = kernel_source.resolve_source(str(tarball), tmp_path)
    request = kbuild.BuildRequest(source, kernel_source.resolve_config(None), tc, "full")
    first = kbuild.build_kernel(request, tmp_path)
    assert first.ok and not first.cached
    monkeypatch.setenv("FAKE_KERNEL_FAIL", "tinyconfig")  # make would fail now if it ran
    second = kbuild.build_kernel(request, tmp_path)
    assert second.ok and second.cached and second.out_dir == first.out_dir


def test_a_tree_given_as_a_directory_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tc = fake_toolchain()
    assert kbuild.build_kernel(fake_request(tc, "full"), tmp_path).ok
    monkeypatch.setenv("FAKE_KERNEL_FAIL", "tinyconfig")  # the tree may have been edited: make runs again
    again = kbuild.build_kernel(fake_request(tc, "full"), tmp_path)
    assert not again.ok and not again.cached and "failed on request" in again.message


def test_clang_with_gnu_ld_fails_naming_ld_is_lld(tmp_path: Path) -> None:
    build = kbuild.build_kernel(fake_request(fake_toolchain(linker="bfd"), "thin"), tmp_path)
    assert not build.ok and build.stage == "config"
    assert "Kconfig dropped CONFIG_LTO_CLANG_THIN" in build.message
    assert "CONFIG_LTO_NONE=y" in build.message
    assert "depends on CC_IS_CLANG && LD_IS_LLD && AS_IS_LLVM" in build.message
    assert "LD=ld.bfd" in build.message
    assert "LD=ld.bfd" in build.reproducer and "olddefconfig" in build.reproducer


def test_a_silent_drop_is_a_failure_not_a_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KERNEL_DROP_LTO", "1")
    build = kbuild.build_kernel(fake_request(fake_toolchain(), "full"), tmp_path)
    assert not build.ok and "Kconfig dropped CONFIG_LTO_CLANG_FULL" in build.message


def test_build_failure_is_reported_and_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KERNEL_FAIL", "vmlinux")
    failed = kbuild.build_kernel(fake_request(fake_toolchain(), "thin"), tmp_path)
    assert not failed.ok and failed.stage == "build"
    assert "failed on request" in failed.message and "$ make -C" in failed.message
    monkeypatch.delenv("FAKE_KERNEL_FAIL")
    assert kbuild.build_kernel(fake_request(fake_toolchain(), "thin"), tmp_path).ok


def test_config_file_as_starting_point(tmp_path: Path) -> None:
    config_file = tmp_path / "start.config"
    config_file.write_text("CONFIG_LTO_NONE=y\n")
    build = kbuild.build_kernel(fake_request(fake_toolchain(), "thin", str(config_file)), tmp_path)
    assert build.ok and [s.command.split()[-1] for s in build.steps] == ["olddefconfig", "bzImage"]


def test_progress_is_rate_limited() -> None:
    seen: list[str] = []
    progress = kbuild._ProgressFilter(seen.append, "make", interval=3600)
    for i in range(100):
        progress(f"  CC      file{i}.o")
    progress("make[1]: Entering directory")
    assert progress.count == 100 and seen == []
    progress.interval = 0
    progress("  LD      vmlinux")
    assert len(seen) == 1 and "101 steps" in seen[0] and "LD      vmlinux" in seen[0]


# ----------------------------------------------------------------------------- boot runner


def test_no_kvm_without_vmx_or_svm(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu vme de pse sse2 hypervisor\n")
    assert not qemu.cpu_has_virtualisation(("vmx", "svm"), cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu vmx sse2\n")
    assert qemu.cpu_has_virtualisation(("vmx", "svm"), cpuinfo)


def test_boot_command_is_time_boxed_and_offline(tmp_path: Path) -> None:
    argv = qemu.boot_command(qemu.MACHINES["x86"], tmp_path / "bzImage", tmp_path / "initrd", "tcg")
    assert {"-nographic", "-no-reboot"} <= set(argv) and argv[argv.index("-nic") + 1] == "none"
    assert "console=ttyS0 panic=-1 rdinit=/init" in argv


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the /init uses x86_64 syscalls")
def test_hanging_guest_times_out_with_console_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_qemu = tmp_path / "fake-qemu"
    fake_qemu.write_text(
        f"#!{sys.executable}\nimport time\nprint('Linux version 9.9 booting', flush=True)\ntime.sleep(60)\n"
    )
    fake_qemu.chmod(0o755)
    machine = qemu.Machine(str(fake_qemu), (), "ttyS0", "none", ("vmx",))
    monkeypatch.setitem(qemu.MACHINES, "fake", machine)
    result = qemu.boot("fake", tmp_path / "bzImage", tmp_path, FAKE_TREE, tmp_path / "boot", timeout=1)
    assert not result.ok and result.timed_out and result.detail == "timed out after 1 s"
    assert "Linux version 9.9" in result.console_tail()
    assert result.command.startswith(f"$ {fake_qemu}") and result.accel == "tcg"
    assert (tmp_path / "boot" / "initramfs.cpio").read_bytes().startswith(b"070701FAKE")


def test_marker_and_exit_is_a_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_qemu = tmp_path / "fake-qemu"
    fake_qemu.write_text(f"#!{sys.executable}\nprint('{qemu.MARKER} 9.9.0 #1 x86_64')\n")
    fake_qemu.chmod(0o755)
    monkeypatch.setitem(qemu.MACHINES, "fake", qemu.Machine(str(fake_qemu), (), "ttyS0", "none", ("vmx",)))
    result = qemu.boot("fake", tmp_path / "bzImage", tmp_path, FAKE_TREE, tmp_path / "boot", timeout=30)
    assert result.ok and result.marker_line.endswith("x86_64"), result.detail
