"""Toolchain resolution: every bad option is one clear usage error."""

from __future__ import annotations

import shutil

import pytest

from conformance.harness import toolchain
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


def _have(*programs: str) -> bool:
    return all(shutil.which(p) for p in programs)


@pytest.mark.skipif(not _have("clang-16", "llvm-ar-16"), reason="needs clang-16 and llvm-16")
def test_clang_gets_tools_of_its_own_llvm():
    """clang-16 -print-prog-name=llvm-ar may answer another LLVM's; the versions decide."""
    tc = resolve(spec_from_preset("clang-16"))
    for tool in (tc.ar, tc.nm):
        assert "LLVM version 16." in tool.version, tool
    assert "LLD 16." in tc.linker_version
    assert not tc.warnings
    assert any(c.role == "ld.lld" for c in tc.components)


@pytest.mark.skipif(not _have("clang-16", "llvm-ar-19"), reason="needs clang-16 and llvm-ar-19")
def test_a_mismatch_the_user_asked_for_is_a_warning():
    tc = resolve(ToolchainSpec(cc=("clang-16",), ar=("llvm-ar-19",), fuse_ld="lld"))
    assert tc.ar.name == "llvm-ar-19"
    assert any("LLVM 19, the compiler is clang 16" in w for w in tc.warnings)
    assert "warning --ar" in tc.header()


@pytest.mark.skipif(not _have("gcc"), reason="needs gcc")
def test_target_comes_from_the_flags(system_gcc):
    """-dumpmachine ignores -m32; the macros and -print-multiarch do not."""
    step = fakes_run(["gcc", "-m32", "-print-multiarch"])
    if not step:
        pytest.skip("gcc -m32 does not work here (no gcc-multilib)")
    tc = resolve(ToolchainSpec(cc=("gcc",), cflags=("-m32",)))
    assert tc.arch == "i386" and tc.target.startswith("i386")
    assert tc.full_id.endswith("/i386") and tc.label.endswith("/i386")
    assert system_gcc.arch == system_gcc.host_arch and "/" not in system_gcc.full_id
    assert tc.identity != system_gcc.identity


def fakes_run(argv: list[str]) -> bool:
    import subprocess

    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not _have("aarch64-linux-gnu-gcc"), reason="needs aarch64-linux-gnu-gcc")
def test_foreign_programs_run_under_qemu_user_or_say_why():
    tc = resolve(ToolchainSpec(cc=("aarch64-linux-gnu-gcc",)))
    assert tc.arch == "aarch64" and tc.label.endswith("/aarch64")
    if _have("qemu-aarch64"):
        assert tc.run_mode == "emulated" and tc.runner[0].endswith("qemu-aarch64") and tc.runner[1] == "-L"
    else:
        assert tc.run_mode == "none" and "qemu-aarch64" in tc.run_note


def test_linker_behind_a_driver_is_read_from_verbose_output():
    zig_line = "ld.lld --error-limit=0 -m elf_x86_64 -o a a.o"
    assert toolchain._linker_from_verbose(f"zig ld 0.17.1\n{zig_line}\n") == "lld"
    assert toolchain._linker_from_verbose(' "/usr/bin/ld.gold" -plugin x\n') == "gold"
    assert toolchain._linker_from_verbose("nothing here\n") is None


def test_probe_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(toolchain.PROBE_TIMEOUT_ENV, "42")
    assert toolchain.probe_timeout() == 42.0
    monkeypatch.setenv(toolchain.PROBE_TIMEOUT_ENV, "soon")
    with pytest.raises(UsageError, match="not a number"):
        toolchain.probe_timeout()


def _write(tmp_path, text: str):
    path = tmp_path / "toolchains.toml"
    path.write_text(text)
    return path


def test_toolchains_file_gives_each_its_tools(tmp_path):
    path = _write(
        tmp_path,
        '[[toolchain]]\nname = "old"\ncc = "gcc-11 -O1"\nar = ["gcc-ar-11"]\ncflags = "-m32"\n'
        'env = { COMPILER_PATH = "/opt/x" }\n\n[[toolchain]]\ncc = "clang-19"\nfuse_ld = "lld"\n',
    )
    old, new = toolchain.load_toolchains_file(path, cflags=("-g",))
    assert old.name == "old" and old.cc == ("gcc-11", "-O1") and old.ar == ("gcc-ar-11",)
    assert old.cflags == ("-m32", "-g") and dict(old.env) == {"COMPILER_PATH": "/opt/x"}
    assert new.name is None and new.fuse_ld == "lld" and new.nm is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[toolchain]]\nname = "x"\n', "toolchain 1 (x): missing key 'cc'"),
        ('[[toolchain]]\ncc = "gcc"\narr = "ar"\n', "toolchain 1: unknown key 'arr'"),
        ('[[toolchains]]\ncc = "gcc"\n', "unknown table or key 'toolchains'"),
        ('[[toolchain]]\ncc = "gcc"\nfuse_ld = "ld64"\n', "unknown linker"),
        ('[[toolchain]]\ncc = "gcc"\nenv = { A = 1 }\n', "every value of 'env' must be a string"),
        ("[[toolchain]]\ncc = 12\n", "key 'cc' has the wrong type"),
        ('[[toolchain]]\nname = "a"\ncc = "gcc"\n[[toolchain]]\nname = "a"\ncc = "gcc"\n', "used twice"),
        ("", "no [[toolchain]] entry"),
        ("[[toolchain]\n", "--toolchains"),
    ],
)
def test_toolchains_file_is_validated(tmp_path, text, message):
    with pytest.raises(UsageError, match=r"^--toolchains ") as err:
        toolchain.load_toolchains_file(_write(tmp_path, text))
    assert message in str(err.value)


def test_flag_values_may_look_like_options():
    from conformance.cli_args import join_flag_values

    assert join_flag_values(["--cflags", "-m32", "-k", "x", "--ldflags", "-Wl,-z,now"]) == [
        "--cflags=-m32",
        "-k",
        "x",
        "--ldflags=-Wl,-z,now",
    ]
    assert join_flag_values(["--", "--cflags", "-m32"]) == ["--", "--cflags", "-m32"]
