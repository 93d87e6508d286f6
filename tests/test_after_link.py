"""Fault injection for what happens after the link: each fake breaks exactly its property.

post-link-tools: a strip that drops the IR sections (gcc), and an llvm-strip
that "strips" bitcode archives by writing them back without an index
(clang-19), both with exit 0. symbol-versioning: a gcc whose shared links
lose .gnu.version/.gnu.version_d. version-skew: a gcc whose link crashes
(SIGSEGV) on another gcc's IR. reproducible-output: a gcc with a new random
seed every compile. The healthy toolchains must pass (beyond the known
Debian 12 defects, which every fake of the same family inherits).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.harness.build import StepCache
from conformance.harness.process import Step
from conformance.harness.properties import Context, evaluate, load_all
from conformance.harness.properties.reproducible_output import first_difference
from conformance.harness.properties.version_skew import classify, discover
from conformance.harness.toolchain import Toolchain, ToolchainSpec, resolve
from tests import fakes

MINE = ("post-link-tools", "symbol-versioning")
NEIGHBOURS = ("lto-ir", "linker-plugin")

needs_gcc = pytest.mark.skipif(not shutil.which("gcc") or not shutil.which("strip"), reason="needs gcc, strip")
needs_clang = pytest.mark.skipif(
    not shutil.which("clang-19") or not shutil.which("llvm-ar-19"), reason="needs clang-19, llvm-ar-19"
)


def judge(tc: Toolchain, cache: Path, tmp_path: Path, names=(*NEIGHBOURS, *MINE)) -> dict:
    return fakes.evaluate_properties(tc, cache, tmp_path / "builds", names)


def _with(cc: str, **tools: Path) -> Toolchain:
    fuse = "lld" if cc.startswith("clang") else None
    return resolve(ToolchainSpec(cc=(cc,), fuse_ld=fuse, **{k: (str(v),) for k, v in tools.items()}))


@needs_gcc
def test_healthy_gcc_post_link_tools(system_gcc, step_cache_root, tmp_path):
    assert system_gcc.strip is not None and system_gcc.objcopy is not None
    results = judge(system_gcc, step_cache_root, tmp_path)
    assert fakes.failing(results) == set(), fakes.messages(results)


@needs_clang
def test_healthy_clang_post_link_tools(step_cache_root, tmp_path):
    tc = resolve(ToolchainSpec(cc=("clang-19",), fuse_ld="lld"))
    assert tc.strip is not None and "19" in str(tc.strip.path) + tc.strip.name
    results = judge(tc, step_cache_root, tmp_path)
    assert fakes.failing(results) == set(), fakes.messages(results)
    refusals = [v.info.get("operations", {}) for v in results["post-link-tools"]]
    assert any("refused" in how for ops in refusals for how in ops.values()), refusals


@needs_gcc
def test_strip_that_drops_ir_fails_post_link_tools(step_cache_root, tmp_path):
    strip = fakes.wrapper(
        tmp_path / "bin", "strip", "strip", purpose="drops the LTO IR, exit 0", add=["--remove-section=.gnu.lto_*"]
    )
    tc = _with("gcc", strip=strip)
    results = judge(tc, step_cache_root, tmp_path)
    assert fakes.failing(results) == {"post-link-tools"}, fakes.messages(results)
    text = fakes.messages(results)
    assert "lost its IR: was gcc-slim, now none" in text and "\n  $ " in text and str(strip) in text


LOSES_INDEX = """\
import os, shutil, subprocess, sys, tempfile
args = sys.argv[1:]
out = args[args.index("-o") + 1]
source = args[-1]
with open(source, "rb") as handle:
    archive = handle.read(8) == b"!<arch>\\n"
if not archive:
    shutil.copyfile(source, out)
    sys.exit(0)
with tempfile.TemporaryDirectory() as tmp:
    members = subprocess.run([{ar!r}, "t", os.path.abspath(source)], capture_output=True, text=True).stdout.split()
    subprocess.run([{ar!r}, "x", os.path.abspath(source)], cwd=tmp, check=True)
    if os.path.exists(out):
        os.unlink(out)
    subprocess.run([{ar!r}, "rcS", os.path.abspath(out), *members], cwd=tmp, check=True)
"""


@needs_clang
def test_strip_that_loses_the_index_fails_post_link_tools(step_cache_root, tmp_path):
    body = LOSES_INDEX.format(ar=shutil.which("llvm-ar-19"))
    strip = fakes.script(tmp_path / "bin", "llvm-strip", "# exit 0, writes archives back without index\n" + body)
    tc = _with("clang-19", strip=strip)
    results = judge(tc, step_cache_root, tmp_path)
    assert fakes.failing(results) == {"post-link-tools"}, fakes.messages(results)
    text = fakes.messages(results)
    assert "archive index lost lib_answer" in text and "cases/post-link-tools/archive" in text


LOSES_VERSIONS = """\
if linking and "-shared" in args and "-o" in args:
    import subprocess
    rc = subprocess.call([real] + args)
    out = args[args.index("-o") + 1]
    if rc == 0:
        subprocess.call(["objcopy", "--remove-section=.gnu.version", "--remove-section=.gnu.version_d", out])
    sys.exit(rc)
"""


@needs_gcc
def test_linker_that_loses_symbol_versions_fails_symbol_versioning(step_cache_root, tmp_path):
    cc = fakes.wrapper(
        tmp_path / "bin", "gcc", "gcc", purpose="shared links lose their symbol versions", extra=LOSES_VERSIONS
    )
    results = judge(fakes.toolchain(cc=cc), step_cache_root, tmp_path, (*NEIGHBOURS, "symbol-versioning"))
    assert fakes.failing(results) == {"symbol-versioning"}, fakes.messages(results)
    text = fakes.messages(results)
    assert "to export exactly foo@@V2, foo@V1" in text and "found:    V1, V2, foo, foo" in text


CRASHES_ON_FOREIGN_IR = """\
if linking:
    import signal
    for name in args:
        if name.endswith(".o") and os.path.isfile(name):
            data = open(name, "rb").read()
            if b".gnu.lto_" in data and {own!r} not in data:
                os.kill(os.getpid(), signal.SIGSEGV)
"""


@pytest.mark.skipif(not shutil.which("gcc") or not shutil.which("gcc-11"), reason="needs gcc and gcc-11")
def test_link_that_crashes_on_foreign_ir_fails_version_skew(step_cache_root, tmp_path):
    version = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True).stdout.strip()
    extra = CRASHES_ON_FOREIGN_IR.format(own=f") {version}".encode())
    cc = fakes.wrapper(tmp_path / "bin", "gcc", "gcc", purpose="crashes on another gcc's IR", extra=extra)
    tc = fakes.toolchain(cc=cc)
    load_all()
    ctx = Context(tc, tmp_path / "builds", StepCache(step_cache_root), fakes.CASES_ROOT, skew_cc=("gcc-11",))
    results = {name: [evaluate(ctx, name, case) for case in ctx.cases(name)] for name in (*NEIGHBOURS, "version-skew")}
    assert fakes.failing(results) == {"version-skew"}, fakes.messages(results)
    text = fakes.messages(results)
    assert "the link crashed" in text and "gcc-11" in text and "\n  $ gcc-11 " in text


def test_discovery_finds_other_versions(system_gcc, tmp_path):
    load_all()
    ctx = Context(system_gcc, tmp_path, StepCache(None), fakes.CASES_ROOT)
    others = discover(ctx)
    assert all(argv[0].startswith("gcc-") and not argv[0].endswith(f"-{system_gcc.version.major}") for argv in others)
    if shutil.which("gcc-11") and system_gcc.version.major != 11:
        assert ("gcc-11",) in others


def _step(returncode: int, output: str, timed_out: bool = False) -> Step:
    return Step(("cc",), Path("."), returncode, output, 1.0, 0, timed_out=timed_out)


@pytest.mark.parametrize(
    ("returncode", "output", "outcome", "fine"),
    [
        (
            1,
            "lto1: fatal error: bytecode stream in file 'b.o' generated with LTO version 11.3 instead of the "
            "expected 12.0\n",
            "refused-with-version-diagnostic",
            True,
        ),
        (
            1,
            "ld.lld: error: Invalid summary version 12. Version should be in the range [1-10].\n",
            "refused-with-version-diagnostic",
            True,
        ),
        (1, "lto1: internal compiler error: Segmentation fault\n", "crash", False),
        (139, "", "crash", False),
        (1, "collect2: error: ld returned 1 exit status\n", "generic-error", False),
    ],
)
def test_classify_skewed_links(returncode, output, outcome, fine):
    assert classify(_step(returncode, output), None, "42\n")[:2] == (outcome, fine)


def test_classify_hang_and_broken_program():
    assert classify(_step(-9, "", timed_out=True), None, None)[:2] == ("hang", False)
    assert classify(_step(0, ""), _step(0, "41\n"), "42\n")[:2] == ("broken-program", False)
    assert classify(_step(0, ""), _step(0, "42\n"), "42\n")[:2] == ("linked-and-ran", True)


UNSTABLE_OBJECTS = """\
if compiling:
    import random
    args.append(f"-frandom-seed={random.getrandbits(64):x}")
"""


@needs_gcc
def test_compiler_with_unstable_objects_fails_reproducible_output(step_cache_root, tmp_path):
    purpose = "a new random seed every compile"
    cc = fakes.wrapper(tmp_path / "bin", "gcc", "gcc", purpose=purpose, extra=UNSTABLE_OBJECTS)
    results = judge(fakes.toolchain(cc=cc), step_cache_root, tmp_path, (*NEIGHBOURS, "reproducible-output"))
    assert fakes.failing(results) == {"reproducible-output"}, fakes.messages(results)
    text = fakes.messages(results)
    assert "main.o bit-identical when the LTO build with -frandom-seed is rebuilt" in text
    assert "the section lists differ (.gnu.lto_" in text and "-frandom-seed=main.o" in text


def test_first_difference_names_the_section(tmp_path):
    if not shutil.which("gcc"):
        pytest.skip("needs gcc")
    for name, value in (("one", 1), ("two", 2)):
        (tmp_path / f"{name}.c").write_text(f'int answer = {value};\nconst char *tag = "same";\n')
        subprocess.run(["gcc", "-c", f"{name}.c", "-o", f"{name}.o"], cwd=tmp_path, check=True)
    assert first_difference(tmp_path / "one.o", tmp_path / "one.o") is None
    assert first_difference(tmp_path / "one.o", tmp_path / "two.o").startswith("section .data ")
