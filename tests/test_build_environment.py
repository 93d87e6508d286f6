"""Fault injection for jobserver, tmpdir, debug-info and cost: each fake breaks exactly one.

Every fake wraps the system gcc and breaks one thing the kernel's LTO notes
warn about (serial LTRANS, temporaries outside $TMPDIR, lost line tables,
a memory-hungry link). The healthy gcc must pass the same properties, so a
failure is the fault's doing. The cost case is a small copy of
cases/cost/medium with a tight memory bound: the real bound (4 GiB) is
too generous to exceed cheaply, the copy proves the bound check can fail.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance.harness.build import StepCache
from conformance.harness.generate import generate_sources
from conformance.harness.ltrans import ltrans_trace
from conformance.harness.properties import Context, evaluate, load_all
from conformance.harness.toolchain import Toolchain
from conformance.harness.verdict import FAIL, Verdict
from tests.fakes import CASES_ROOT, messages, toolchain, wrapper

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("make") is None, reason="needs gcc, make")

MINE = ("jobserver", "tmpdir", "debug-info", "cost")
# Properties a link-path fault could also break (the prerequisites, and the other DWARF reader):
# they must keep passing. The rest of the suite reads nothing these fakes touch.
NEIGHBOURS = ("lto-ir", "linker-plugin", "cross-file-inlining")
SMALL_COST_BOUND_MIB = 256

LINKING = 'lto_link = "-c" not in args and "-o" in args and any(a.startswith("-flto") for a in args)\n'

# gcc-12's lto-wrapper joins an active jobserver even under -flto=1, and objects record their
# compile-time -flto=N, so forcing serial LTRANS takes all three: no jobserver, -flto=1 everywhere.
SERIAL_LTRANS = (
    'os.environ["MAKEFLAGS"] = " ".join(w for w in os.environ.get("MAKEFLAGS", "").split() if "jobserver" not in w)\n'
    'args = ["-flto=1" if a.startswith("-flto=") else a for a in args]\n'
    'if lto_link:\n    args.append("-flto=1")\n'
)


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One step cache for the module: the healthy gcc's steps are built once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def cases_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real cases, but a small cost probe with a memory bound a fake can exceed."""
    root = tmp_path_factory.mktemp("cases")
    for folder in CASES_ROOT.iterdir():
        if folder.is_dir() and folder.name != "cost":
            (root / folder.name).symlink_to(folder)
    small = root / "cost" / "small"
    shutil.copytree(CASES_ROOT / "cost" / "medium", small)
    text = (small / "case.toml").read_text()
    replacements = {
        "files = 24, functions_per_file = 12": "files = 3, functions_per_file = 4",
        "max_peak_rss_mib = 4096": f"max_peak_rss_mib = {SMALL_COST_BOUND_MIB}",
    }
    for old, new in replacements.items():
        assert old in text, f"cases/cost/medium/case.toml no longer says {old!r}: update this test"
        text = text.replace(old, new)
    (small / "case.toml").write_text(text)
    return root


def _evaluate(
    tc: Toolchain, cache: Path, cases: Path, workspace: Path, names: tuple[str, ...] = (*NEIGHBOURS, *MINE)
) -> dict[str, list[Verdict]]:
    load_all()
    ctx = Context(tc, workspace, StepCache(cache), cases)
    return {name: [evaluate(ctx, name, case) for case in ctx.cases(name)] for name in names}


def _outcomes(results: dict[str, list[Verdict]]) -> dict[str, set[str]]:
    return {name: {v.outcome for v in verdicts} for name, verdicts in results.items()}


def _failing(results: dict[str, list[Verdict]]) -> set[str]:
    return {name for name, verdicts in results.items() if any(v.outcome == FAIL for v in verdicts)}


LOST_LINE_TABLES = (
    "if '-c' not in args and '-o' in args:\n"
    "    import subprocess\n"
    "    rc = subprocess.call([real] + args, close_fds=False)  # keep make's jobserver fds\n"
    "    out = args[args.index('-o') + 1]\n"
    "    if rc == 0 and os.path.exists(out):\n"
    "        subprocess.call(['objcopy', '--remove-section=.debug_line', out])\n"
    "    sys.exit(rc)\n"
)
HUNGRY_LINK = (
    "if lto_link:\n"
    f"    hog = bytearray(b'x') * ({SMALL_COST_BOUND_MIB + 150} << 20)  # resident: every page written\n"
    "    del hog\n"
)
FAULTS = {
    "serial-ltrans": ("forces serial LTRANS: hides make's jobserver, rewrites -flto=N to -flto=1", SERIAL_LTRANS),
    "ignored-tmpdir": ("ignores $TMPDIR (sets TMPDIR=/tmp before running gcc)", 'os.environ["TMPDIR"] = "/tmp"\n'),
    "lost-line-tables": ("drops .debug_line from every linked output", LOST_LINE_TABLES),
    "g0-at-link": ("adds -g0 to every LTO link", 'if lto_link:\n    args.append("-g0")\n'),
    "hungry-link": ("touches a few hundred MiB before every LTO link", HUNGRY_LINK),
}

# -g0 removes every DWARF proof, so only the two DWARF readers are worth evaluating for it.
SUBSET = {"g0-at-link": (("lto-ir", "linker-plugin", "cross-file-inlining", "debug-info"),)}


@pytest.fixture(scope="module")
def verdicts(
    cache_root: Path, cases_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, list[Verdict]]]:
    """The healthy gcc and every fake, evaluated side by side: they mostly wait on the compiler."""
    folder = tmp_path_factory.mktemp("fakes")
    toolchains = {"healthy": toolchain(cc="gcc")}
    for name, (purpose, extra) in FAULTS.items():
        fake = wrapper(folder / name / "bin", "gcc", "gcc", purpose=purpose, extra=LINKING + extra)
        toolchains[name] = toolchain(cc=fake, label=name)
    load_all()
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {
            name: pool.submit(_evaluate, tc, cache_root, cases_root, folder / name / "work", *SUBSET.get(name, ()))
            for name, tc in toolchains.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_healthy_gcc_passes(verdicts) -> None:
    healthy = verdicts["healthy"]
    assert not _failing(healthy), messages(healthy)
    for name in MINE:
        assert _outcomes(healthy)[name] == {"pass"}, f"{name}: {[v.reason for v in healthy[name]]}"


def test_serial_ltrans_fails_jobserver(verdicts) -> None:
    results = verdicts["serial-ltrans"]
    assert _failing(results) == {"jobserver"}, messages(results)
    text = messages(results)
    assert "Using make jobserver" in text and "compiling at once" in text


def test_ignored_tmpdir_fails_tmpdir(verdicts) -> None:
    results = verdicts["ignored-tmpdir"]
    assert _failing(results) == {"tmpdir"}, messages(results)
    assert "names temporaries outside it: /tmp/" in messages(results)


def test_lost_line_tables_fail_debug_info(verdicts) -> None:
    """A link that loses .debug_line: DWARF units stay (inlining proof intact), lines do not resolve."""
    results = verdicts["lost-line-tables"]
    assert _failing(results) == {"debug-info"}, messages(results)
    assert "the line table to map alpha's code to alpha.c:5" in messages(results)


def test_g0_at_link_fails_debug_info(verdicts) -> None:
    """-g0 at an LTO link drops all DWARF: debug-info fails; cross-file-inlining's proof is DWARF too."""
    results = verdicts["g0-at-link"]
    assert "debug-info" in _failing(results), messages(results)
    assert _failing(results) <= {"debug-info", "cross-file-inlining"}, messages(results)
    assert "a DWARF compile unit for every source" in messages(results)


def test_hungry_link_fails_cost(verdicts) -> None:
    results = verdicts["hungry-link"]
    assert _failing(results) == {"cost"}, messages(results)
    assert f"LTO link peak RSS at most {SMALL_COST_BOUND_MIB} MiB" in messages(results)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    names = generate_sources(one, 3, 4, 7)
    assert names == generate_sources(two, 3, 4, 7)
    assert all((one / n).read_text() == (two / n).read_text() for n in names)


GCC11_SERIAL = """\
lto-wrapper: warning: jobserver is not available: '--jobserver-auth=' is not present in 'MAKEFLAGS'
lto-wrapper: warning: using serial compilation of 2 LTRANS jobs
 /usr/lib/gcc/x86_64-linux-gnu/11/lto1 -dumpbase ./prog.ltrans0.ltrans -O2 -fltrans /tmp/ccA.ltrans0.o -o /tmp/x.s
 as -v --64 -o /tmp/ccA.ltrans0.ltrans.o /tmp/x.s
 /usr/lib/gcc/x86_64-linux-gnu/11/lto1 -dumpbase ./prog.ltrans1.ltrans -O2 -fltrans /tmp/ccA.ltrans1.o -o /tmp/y.s
 as -v --64 -o /tmp/ccA.ltrans1.ltrans.o /tmp/y.s
"""

GCC12_JOBSERVER = """\
Using make jobserver
make -f /tmp/cc9.mk all
 /usr/lib/gcc/x86_64-linux-gnu/12/lto1 -quiet -O2 -fltrans /tmp/ccH.ltrans0.o -o /tmp/a.s
 /usr/lib/gcc/x86_64-linux-gnu/12/lto1 -quiet -O2 -fltrans /tmp/ccH.ltrans2.o -o /tmp/b.s
 as -v --64 -o /tmp/ccH.ltrans0.ltrans.o /tmp/a.s
 as -v --64 -o /tmp/ccH.ltrans2.ltrans.o /tmp/b.s
"""


def test_ltrans_trace_reads_gcc_output() -> None:
    serial = ltrans_trace(GCC11_SERIAL)
    assert (serial.partitions, serial.max_parallel, serial.make_args) == (2, 1, None)
    assert serial.serial_warning == "using serial compilation of 2 LTRANS jobs" and serial.no_jobserver
    parallel = ltrans_trace(GCC12_JOBSERVER)
    assert (parallel.partitions, parallel.max_parallel, parallel.make_args) == (2, 2, "")
    assert parallel.using_jobserver and parallel.serial_warning is None
