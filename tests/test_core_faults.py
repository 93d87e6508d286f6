"""Fault injection: each broken toolchain makes exactly its property fail.

The healthy system gcc passes all eight core properties; each fake breaks
one thing a real toolchain can get wrong, and only the matching property
may fail (others pass, or skip because a failed prerequisite explains them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import fakes

CORE = [
    "lto-ir",
    "linker-plugin",
    "nm-symbols",
    "archive-index",
    "thin-archive",
    "system-binutils",
    "cross-file-inlining",
    "dead-function-removal",
]

pytestmark = pytest.mark.skipif(not shutil.which("gcc") or not shutil.which("gcc-ar"), reason="needs gcc, gcc-ar")


def judge(tc, step_cache_root: Path, tmp_path: Path) -> dict:
    return fakes.evaluate_properties(tc, step_cache_root, tmp_path / "builds", CORE)


def test_healthy_gcc_passes_everything(system_gcc, step_cache_root, tmp_path):
    results = judge(system_gcc, step_cache_root, tmp_path)
    assert fakes.failing(results) == set(), fakes.messages(results)
    passed = {name for name, vs in results.items() if any(v.outcome == "pass" for v in vs)}
    assert passed == set(CORE)


def fake_no_lto(folder: Path) -> dict:
    return {"cc": fakes.wrapper(folder, "gcc", "gcc", purpose="ignores -flto", drop=["-flto*"])}


def fake_strip_ir(folder: Path) -> dict:
    strip = (
        "if '-c' in args:\n"
        "    import subprocess\n"
        "    rc = subprocess.call([real] + args)\n"
        "    out = args[args.index('-o') + 1]\n"
        "    subprocess.call(['objcopy', '--remove-section=.gnu.lto_*', '--strip-symbol=__gnu_lto_slim', out])\n"
        "    sys.exit(rc)\n"
    )
    return {"cc": fakes.wrapper(folder, "gcc", "gcc", purpose="strips the IR sections", extra=strip)}


def fake_no_plugin(folder: Path) -> dict:
    cc = fakes.wrapper(
        folder, "gcc", "gcc", purpose="links without the linker plugin", add_when_linking=["-fno-use-linker-plugin"]
    )
    return {"cc": cc}


def fake_plugin_off(folder: Path) -> dict:
    """A GCC driver that never uses the linker plugin: it then writes fat objects, which still carry IR."""
    cc = fakes.wrapper(folder, "gcc", "gcc", purpose="never uses the linker plugin", add=["-fno-use-linker-plugin"])
    return {"cc": cc}


def fake_exports_everything(folder: Path) -> dict:
    """Every global is exported, so LTO must keep it: only dead-function-removal may say so."""
    cc = fakes.wrapper(folder, "gcc", "gcc", purpose="exports every symbol", add_when_linking=["-Wl,--export-dynamic"])
    return {"cc": cc}


def fake_blind_nm(folder: Path) -> dict:
    body = "import sys\nfor f in sys.argv[1:]:\n    print(f'nm: {f}: no symbols', file=sys.stderr)\n"
    return {"nm": fakes.script(folder, "blind-nm", body)}


def fake_unindexed_ar(folder: Path) -> dict:
    extra = "args = [a.replace('s', 'S') if i == 0 else a for i, a in enumerate(args)]"
    return {"ar": fakes.wrapper(folder, "gcc-ar", "gcc-ar", purpose="writes no symbol index", extra=extra)}


def fake_thick_ar(folder: Path) -> dict:
    extra = "args = [a.replace('T', '') if i == 0 else a for i, a in enumerate(args)]"
    return {"ar": fakes.wrapper(folder, "gcc-ar", "gcc-ar", purpose="ignores T (thin)", extra=extra)}


def fake_no_inline(folder: Path) -> dict:
    return {"cc": fakes.wrapper(folder, "gcc", "gcc", purpose="never inlines", add=["-fno-inline"])}


def fake_keeps_everything(folder: Path) -> dict:
    cc = fakes.wrapper(
        folder,
        "gcc",
        "gcc",
        purpose="a link that treats the unused function as referenced from outside",
        add_when_linking=["-Wl,--undefined=unused_global"],
    )
    return {"cc": cc}


@pytest.mark.parametrize(
    ("make_fake", "broken"),
    [
        (fake_no_lto, "lto-ir"),
        (fake_strip_ir, "lto-ir"),
        (fake_no_plugin, "linker-plugin"),
        (fake_plugin_off, "linker-plugin"),
        (fake_exports_everything, "dead-function-removal"),
        (fake_blind_nm, "nm-symbols"),
        (fake_unindexed_ar, "archive-index"),
        (fake_thick_ar, "thin-archive"),
        (fake_no_inline, "cross-file-inlining"),
        (fake_keeps_everything, "dead-function-removal"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_fault_breaks_exactly_one_property(make_fake, broken, step_cache_root, tmp_path):
    tc = fakes.toolchain(**make_fake(tmp_path / "bin"))
    results = judge(tc, step_cache_root, tmp_path)
    assert fakes.failing(results) == {broken}, fakes.messages(results)
    message = fakes.messages(results)
    assert message.startswith(f"{broken} [{tc.full_id}] cases/{broken}/")
    assert "expected:" in message and "found:" in message and "\n  $ " in message


def test_stale_system_binutils_fail_only_system_binutils(system_gcc, step_cache_root, tmp_path, monkeypatch):
    """Plain ar/nm with no plugin that reads the IR: empty index, no symbols, exit 0."""
    folder = tmp_path / "binutils" / "bin"
    real_nm = shutil.which("nm")
    # gcc-nm runs the nm on PATH with --plugin: a binutils without bfd-plugins still honours that.
    nm_body = (
        "import os, sys\n"
        "if '--version' in sys.argv:\n    print('GNU nm (fake binutils without plugins) 2.40'); sys.exit(0)\n"
        f"if '--plugin' in sys.argv:\n    os.execv({real_nm!r}, [{real_nm!r}] + sys.argv[1:])\n"
        "for f in sys.argv[1:]:\n    print(f'nm: {f}: no symbols', file=sys.stderr)\n"
    )
    fakes.script(folder, "nm", nm_body)
    real_ar = shutil.which("ar")
    ar_body = (
        "import os, sys\n"
        "if '--version' in sys.argv:\n    print('GNU ar (fake binutils without plugins) 2.40'); sys.exit(0)\n"
        "args = sys.argv[1:]\nargs[0] = args[0].replace('s', 'S')\n"
        f"os.execv({real_ar!r}, [{real_ar!r}] + args)\n"
    )
    fakes.script(folder, "ar", ar_body)
    monkeypatch.setenv("PATH", f"{folder}:{Path(shutil.which('gcc')).parent}:/usr/bin:/bin")
    results = judge(system_gcc, step_cache_root, tmp_path)
    assert fakes.failing(results) == {"system-binutils"}, fakes.messages(results)
    assert "holds no plugin" in fakes.messages(results)


def test_plugin_off_keeps_lto_ir_and_names_the_plugin(step_cache_root, tmp_path):
    """Fat objects where slim ones were expected: lto-ir passes with a note, linker-plugin fails with its proof."""
    tc = fakes.toolchain(**fake_plugin_off(tmp_path / "bin"))
    results = fakes.evaluate_properties(tc, step_cache_root, tmp_path / "builds", ["lto-ir", "linker-plugin"])
    slim = next(v for v in results["lto-ir"] if v.case.endswith("/slim"))
    assert slim.outcome == "pass" and any("gcc-fat where gcc-slim is expected" in n for n in slim.notes)
    assert "the plugin did not run" in fakes.messages(results)


def test_ignored_fno_lto_fails_only_per_file_flags(step_cache_root, tmp_path):
    """The kernel's per-file opt-out, -fno-lto after -flto, must leave an object without IR."""
    drop = fakes.wrapper(tmp_path / "bin", "gcc", "gcc", purpose="ignores -fno-lto", drop=["-fno-lto"])
    tc = fakes.toolchain(cc=drop)
    names = ["lto-ir", "linker-plugin", "per-file-flags"]
    results = fakes.evaluate_properties(tc, step_cache_root, tmp_path / "builds", names)
    assert fakes.failing(results) == {"per-file-flags"}, fakes.messages(results)
    assert "optout.o (compiled with -fno-lto after the LTO flags) to carry no IR" in fakes.messages(results)


@pytest.mark.skipif(not shutil.which("clang-19") or not shutil.which("ld.lld-19"), reason="needs clang-19 and lld")
def test_a_driver_that_refuses_save_temps_is_judged_by_ir_becoming_code(step_cache_root, tmp_path):
    """zig cc refuses -Wl,--save-temps; its LTO links are proven by IR-only inputs turning into machine code."""
    refuse = (
        "if any(a.startswith('-Wl,--save-temps') for a in args):\n"
        "    sys.stderr.write('error: unsupported linker arg: --save-temps\\n'); sys.exit(1)\n"
    )
    cc = fakes.wrapper(tmp_path / "bin", "clang", "clang-19", purpose="refuses linker save-temps", extra=refuse)
    tc = fakes.toolchain(cc=cc, fuse_ld="lld")
    assert not tc.save_temps and tc.save_temps_flags == ()
    results = fakes.evaluate_properties(tc, step_cache_root, tmp_path / "builds", ["lto-ir", "linker-plugin"])
    assert fakes.failing(results) == set(), fakes.messages(results)
    assert [v.outcome for v in results["linker-plugin"]] == ["pass"]


def test_a_blind_nm_blocks_incremental_link_instead_of_failing_it(step_cache_root, tmp_path):
    """incremental-link reads an IR -r output's symbols with the nm under test: a broken nm is nm-symbols' fault."""
    tc = fakes.toolchain(**fake_blind_nm(tmp_path / "bin"))
    results = fakes.evaluate_properties(tc, step_cache_root, tmp_path / "builds", ["nm-symbols", "incremental-link"])
    assert fakes.failing(results) == {"nm-symbols"}, fakes.messages(results)
    blocked = [v for v in results["incremental-link"] if v.blocked_by is not None]
    assert blocked and all(v.blocked_by.property == "nm-symbols" for v in blocked)
