"""Shared pieces of the kernel self-tests: the fake tree and toolchains that probe nothing."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from conformance.harness.toolchain import Tool, Toolchain

FAKE_TREE = Path(__file__).with_name("fake_kernel")
VARIANTS = Path(__file__).with_name("fake_kernel_variants")
LOGS = Path(__file__).with_name("kbuild_logs")


def fake_tree(folder: Path, variant: str) -> Path:
    """The fake tree with a variant's files on top: ``gcc-lto-2022`` (CONFIG_LTO_GCC), ``lto-menu``."""
    tree = folder / f"linux-{variant}"
    shutil.copytree(FAKE_TREE, tree)
    shutil.copytree(VARIANTS / variant, tree, dirs_exist_ok=True)
    return tree


def fake_toolchain(
    cc: str = "clang-19",
    family: str = "clang",
    linker: str = "lld",
    target: str = "",
    cflags: tuple[str, ...] = (),
    ldflags: tuple[str, ...] = (),
    path: Path | None = None,
) -> Toolchain:
    """A Toolchain as resolve() would return it, without probing anything; cc may carry arguments."""
    argv = tuple(shlex.split(cc))
    name = Path(argv[0]).name
    tool = Tool(argv, path or Path("/usr/bin") / name, "id")
    return Toolchain(
        label=f"{name}+{linker}",
        family=family,
        version=Version("19.1.7" if family == "clang" else "12.2.0"),
        target=target or "x86_64-pc-linux-gnu",
        cc=tool,
        ar=tool,
        nm=tool,
        ranlib=None,
        fuse_ld=linker,
        linker=linker,
        linker_version=linker,
        cflags=cflags,
        ldflags=ldflags,
        plugin=None,
        identity=f"fake-{cc}-{linker}",
    )


def reset_fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake kbuild's knobs off, and no outer make's jobserver."""
    monkeypatch.setenv("FAKE_KERNEL_PYTHON", sys.executable)
    for name in ("FAKE_KERNEL_FAIL", "FAKE_KERNEL_LOG", "FAKE_KERNEL_DROP_LTO", "MAKEFLAGS"):
        monkeypatch.delenv(name, raising=False)


# Every kernel self-test drives the fake kbuild with make and a host cc.
needs_make_and_cc = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("cc") is None, reason="needs make and a host cc"
)


@pytest.fixture(autouse=True)
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Autouse in each module that imports it: the fake kbuild's knobs reset around every test."""
    reset_fake_env(monkeypatch)
