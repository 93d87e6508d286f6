"""Toolchain resolution: every bad option is one clear usage error."""

from __future__ import annotations

import shutil

import pytest

from conformance.harness.errors import UsageError
from conformance.harness.toolchain import ToolchainSpec, resolve, spec_from_preset, split_command
from tests import fakes


def test_system_gcc_is_described(system_gcc):
    assert system_gcc.family == "gcc"
    assert system_gcc.linker in ("bfd", "gold", "mold", "lld")
    assert system_gcc.plugin is not None and system_gcc.plugin.name == "liblto_plugin.so"
    assert "gcc-ar" in system_gcc.ar.name and "gcc-nm" in system_gcc.nm.name
    assert system_gcc.full_id.startswith(f"gcc-{system_gcc.version}+")


@pytest.mark.parametrize(
    ("cc", "message"),
    [
        ("/bin/true", "is not a working C compiler (it printed no GCC or clang macros)"),
        ("/bin/false", "is not a working C compiler (exit 1)"),
        ("no-such-compiler-xyz", "'no-such-compiler-xyz' not found on PATH"),
        ("/", "is not an executable file"),
    ],
)
def test_not_a_compiler(cc, message):
    with pytest.raises(UsageError, match=r"^--cc: ") as err:
        resolve(ToolchainSpec(cc=(cc,)))
    assert message in str(err.value)


def test_hanging_compiler_times_out(tmp_path, monkeypatch):
    monkeypatch.setenv("LTO_CONFORMANCE_PROBE_TIMEOUT", "1")
    hang = fakes.script(tmp_path, "hangcc", "import time\ntime.sleep(60)\n")
    with pytest.raises(UsageError, match="did not finish within 1 s"):
        resolve(ToolchainSpec(cc=(str(hang),)))


def test_compiler_that_writes_no_object(tmp_path):
    liar = fakes.wrapper(tmp_path, "liar-gcc", "gcc", purpose="no object", extra="if '-c' in args: sys.exit(0)")
    with pytest.raises(UsageError, match="did not compile a trivial C file"):
        resolve(ToolchainSpec(cc=(str(liar),)))


@pytest.mark.parametrize("name", ["icc", "gcc-", "clang-19+ld64", "gcc+LLD"])
def test_unknown_preset(name):
    with pytest.raises(UsageError, match="--toolchain"):
        spec_from_preset(name)


def test_presets_are_data():
    spec = spec_from_preset("clang-19")
    assert spec.cc == ("clang-19",) and spec.fuse_ld == "lld"
    spec = spec_from_preset("gcc-12+mold")
    assert spec.cc == ("gcc-12",) and spec.fuse_ld == "mold"
    assert spec_from_preset("gcc").fuse_ld is None


def test_cc_may_carry_arguments():
    assert split_command("gcc -B/build/gcc/ -O1") == ("gcc", "-B/build/gcc/", "-O1")
    assert split_command("  ") is None


def test_unknown_linker():
    with pytest.raises(UsageError, match="--fuse-ld 'ld64': unknown linker"):
        resolve(ToolchainSpec(cc=("gcc",), fuse_ld="ld64"))


@pytest.mark.skipif(not shutil.which("gcc"), reason="no gcc")
def test_identity_tracks_the_binaries(tmp_path, system_gcc):
    other = fakes.wrapper(tmp_path, "gcc", "gcc", purpose="same compiler, other binary")
    assert fakes.toolchain(cc=other).identity != system_gcc.identity
