"""LTO in a real build environment: make's jobserver, TMPDIR, debug info, cost.

The kernel's LTO notes list what LTO changes about building, beyond what it
optimises: the link runs the compiler again (LTRANS), in parallel through
make's jobserver or not at all; it writes large temporaries that must go to
``$TMPDIR``; it must keep ``-g`` debug info usable; and it costs link time
and memory, with the peak in the single-threaded WPA stage. Each is a small
probe that observes the tool's own behaviour (``-v`` output, a watched
directory, DWARF, ``os.wait4`` figures), never timing alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import random
import re
import shlex
import shutil
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import dwarf, elf
from ..build import CaseBuild, run_program, stage_case
from ..cases import Case
from ..process import Step, run
from ..toolchain import Tool
from ..verdict import Findings
from . import Context, Skip, register
from .evidence import build, check_program_runs, extra_step, succeeded

SERIAL_WARNING = re.compile(r"using serial compilation of (\d+) LTRANS jobs")
NO_JOBSERVER = re.compile(r"jobserver is not available[^\n]*")
LTO_WRAPPER_MAKE = re.compile(r"^\S*make\s+-f\s+\S+\.mk\b(?P<args>.*?)\s*all\s*$", re.MULTILINE)
# An LTRANS lto1 line names its partition in -dumpbase (gcc-11/12) or in its input file.
LTRANS_START = re.compile(r"-dumpbase\s+\S*?ltrans(\d+)\.ltrans\b|\.ltrans(\d+)\.o(?:\s|$)")
LTRANS_FLAG = re.compile(r"\s-fltrans(?:\s|$)")
LTRANS_END = re.compile(r"\s-o\s+\S*\.ltrans(\d+)\.ltrans\.o(?:\s|$)")
GCC_TEMP_PATH = re.compile(r"(?:-fresolution=|-fltrans-output-list=)(\S+?)'?(?:\s|$)")
MIB = 1024


def _make_tool() -> Tool:
    """GNU make from PATH, identified by its real file and version like any tool under test."""
    found = shutil.which("make")
    if not found:
        raise Skip("no make on PATH: the jobserver probe needs GNU make")
    version = run([found, "--version"], cwd=Path.cwd(), timeout=10)
    if not version.output.startswith("GNU Make"):
        raise Skip(f"{found} is not GNU make ({version.output.strip().splitlines()[:1]})")
    real = Path(found).resolve()
    identity = hashlib.sha256(f"{real}\0{real.stat().st_mtime_ns}\0{version.output}".encode()).hexdigest()[:16]
    return Tool((found,), Path(found), identity)


def _link_args(ctx: Context, case: Case, result: CaseBuild, extra: Sequence[str], output: str) -> list[str]:
    """The link build_case would run for these objects, with extra flags: one place for the flag order."""
    lto = case.lto_flags_for(ctx.toolchain.family) if result.variant == "lto" else ()
    t = ctx.toolchain
    objects = [result.objects[s] for s in case.sources]
    return [
        *t.cflags,
        *case.cflags,
        *lto,
        *t.linker_flags,
        *t.ldflags,
        *case.ldflags,
        *extra,
        *objects,
        "-o",
        output,
    ]


def _compile_only(ctx: Context, case: Case, variant: str, tag: str = "") -> CaseBuild:
    """Compile the case without linking, so a property can run and watch the link itself."""
    return build(ctx, dataclasses.replace(case, link="none"), variant, tag=tag)


# --- jobserver ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LtransTrace:
    """What gcc -v said about LTRANS: how many jobs, how run, how many at once."""

    partitions: int
    max_parallel: int
    make_args: str | None
    using_jobserver: bool
    serial_warning: str | None
    no_jobserver: str | None

    def how(self) -> str:
        ran = (
            "lto-wrapper ran no make (serial LTRANS)"
            if self.make_args is None
            else f"lto-wrapper ran `make -f ...mk{' ' + self.make_args if self.make_args else ''} all`"
        )
        said = "printed 'Using make jobserver'" if self.using_jobserver else "no 'Using make jobserver'"
        return f"{ran}; {said}"

    def warnings(self) -> str:
        return "; ".join(f"warning: {w}" for w in (self.serial_warning, self.no_jobserver) if w) or "no warning"

    def parallelism(self) -> str:
        return f"{self.partitions} LTRANS partitions, at most {self.max_parallel} compiling at once"

    def describe(self) -> str:
        return "; ".join((self.parallelism(), self.how(), self.warnings()))


def ltrans_trace(output: str) -> LtransTrace:
    """Read gcc -v output in order: a job starts at its lto1 line and ends at its `as` line.

    The gcc drivers of concurrent LTRANS jobs write -v lines to the same
    stderr as they go, so a job whose lto1 line comes before another's `as`
    line ran at the same time: overlap seen in the tool's own output.
    """
    running: set[str] = set()
    seen: set[str] = set()
    peak = 0
    for line in output.splitlines():
        if "COLLECT_GCC_OPTIONS" in line:
            continue
        if "lto1" in line and LTRANS_FLAG.search(line):
            match = LTRANS_START.search(line)
            if match:
                job = match[1] or match[2]
                running.add(job)
                seen.add(job)
                peak = max(peak, len(running))
            continue
        match = LTRANS_END.search(line)
        if match:
            running.discard(match[1])
    make = LTO_WRAPPER_MAKE.search(output)
    serial = SERIAL_WARNING.search(output)
    unavailable = NO_JOBSERVER.search(output)
    return LtransTrace(
        partitions=max(len(seen), int(serial[1]) if serial else 0),
        max_parallel=peak,
        make_args=make["args"].strip() if make else None,
        using_jobserver="Using make jobserver" in output,
        serial_warning=serial[0] if serial else None,
        no_jobserver=unavailable[0] if unavailable else None,
    )


def _makefile(name: str, target: str, objects: Sequence[str], argv: Sequence[str], *, plus: bool) -> str:
    prefix = "+" if plus else ""
    why = "passes make's jobserver to it ('+')" if plus else "does not pass the jobserver (no '+')"
    return (
        f"# lto-conformance jobserver probe ({name}): the link recipe {why}.\n"
        f"{target}: {' '.join(objects)}\n"
        f"\t{prefix}{shlex.join(argv)}\n"
    )


def _make_link(ctx: Context, case: Case, result: CaseBuild, make: Tool, *, plus: bool) -> tuple[Step, str]:
    """Link through an outer `make -jN`, as kbuild does; not cached: jobserver use is live behaviour."""
    name = "Makefile.jobserver" if plus else "Makefile.nojobserver"
    target = "prog" if plus else "prog-nojobserver"
    argv = [*ctx.toolchain.cc.argv, *_link_args(ctx, case, result, ["-v"], target)]
    objects = [result.objects[s] for s in case.sources]
    (result.folder / name).write_text(_makefile(name, target, objects, argv, plus=plus))
    # A pytest run under make must not leak its own jobserver into the probe.
    env = {"MAKEFLAGS": "", "MFLAGS": "", "MAKELEVEL": ""}
    jobs = case.expect.get("make_jobs", 2)
    args = [f"-j{jobs}", "-f", name, target]
    step = extra_step(ctx, result, make, args, inputs=[*objects, name], env=env, cacheable=False)
    return step, name


@register(
    "jobserver",
    "parallel LTRANS honours make's jobserver (no serial fallback)",
    {"make_jobs": int, "min_partitions": int, "min_parallel": int},
    requires=("linker-plugin",),
)
def jobserver(ctx: Context, case: Case, findings: Findings) -> str:
    t = ctx.toolchain
    if t.family != "gcc":
        raise Skip(
            f"{t.full_id}: LLVM's LTO has no make jobserver client to test; its backends run on the "
            "linker's own thread pool (lld --thinlto-jobs, LLVMgold -plugin-opt=jobs; default: all cores), "
            "outside make -j accounting, never serially"
        )
    make = _make_tool()
    lto = _compile_only(ctx, case, "lto")
    if not succeeded(lto, findings):
        return lto.reproducer()
    step, _ = _make_link(ctx, case, lto, make, plus=True)
    trace = ltrans_trace(step.output)
    findings.info["ltrans"] = dataclasses.asdict(trace)
    if findings.expect(step.ok, "make -j link with -flto=jobserver to succeed", step.describe_failure()):
        min_partitions = case.expect.get("min_partitions", 2)
        min_parallel = case.expect.get("min_parallel", 2)
        findings.expect(
            trace.partitions >= min_partitions,
            f"at least {min_partitions} LTRANS partitions (the probe must give the jobserver work to share)",
            trace.parallelism(),
        )
        findings.expect(
            trace.serial_warning is None and trace.no_jobserver is None,
            "no serial-compilation or jobserver-unavailable warning from lto-wrapper",
            trace.warnings(),
        )
        findings.expect(
            trace.make_args is not None and not re.search(r"-j\d*", trace.make_args) and trace.using_jobserver,
            "lto-wrapper to run LTRANS through make on the inherited jobserver ('Using make jobserver', no own -jN)",
            trace.how(),
        )
        findings.expect(
            trace.max_parallel >= min_parallel,
            f"at least {min_parallel} LTRANS jobs compiling at once under make -j{case.expect.get('make_jobs', 2)} "
            "(gcc -v: a job's lto1 line before another's `as` line)",
            trace.parallelism(),
        )
    control_step, _ = _make_link(ctx, case, lto, make, plus=False)
    control = ltrans_trace(control_step.output)
    findings.info["without_jobserver"] = control.describe()
    if findings.expect(control_step.ok, "the link without '+' to succeed", control_step.describe_failure(), "control"):
        findings.expect(
            not control.using_jobserver,
            "no 'Using make jobserver' when the recipe does not pass it (else the probe proves nothing)",
            control.describe(),
            where="control",
        )
    if control.serial_warning:
        findings.notes.append(
            f"without a jobserver this gcc falls back to serial LTRANS ({control.serial_warning}): "
            "kbuild recipes must pass it ('+')"
        )
    return _with_makefiles(lto)


def _with_makefiles(result: CaseBuild) -> str:
    """The reproducer, with each generated Makefile shown before the make that reads it."""
    lines = [f"$ cd {result.case.path_for_humans}"]
    for step in result.steps:
        name = next((a for a in step.argv if a.startswith("Makefile.")), None)
        if name and result.path(name).is_file():
            lines.append(f"$ cat {name}")
            lines += ["  " + line for line in result.path(name).read_text().splitlines()]
        lines.append(step.shell())
    return "\n".join(lines)


# --- tmpdir ------------------------------------------------------------------------------------


class DirectoryWatcher:
    """Lists a directory as fast as it can while a link runs: temporaries live only that long."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.seen.update(os.listdir(self.folder))
            self._stop.wait(0.0005)

    def __enter__(self) -> DirectoryWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seen.update(os.listdir(self.folder) if self.folder.is_dir() else [])


def _watched_link(ctx: Context, case: Case, result: CaseBuild, tmpdir: Path, output: str) -> tuple[Step, set[str]]:
    """Link with TMPDIR=tmpdir (fresh) and -v; not cached, since what is watched is the live link."""
    if tmpdir.exists():
        shutil.rmtree(tmpdir)
    tmpdir.mkdir(parents=True)
    args = _link_args(ctx, case, result, ["-v"], output)
    objects = [result.objects[s] for s in case.sources]
    with DirectoryWatcher(tmpdir) as watcher:
        env = {"TMPDIR": str(tmpdir)}
        step = extra_step(ctx, result, ctx.toolchain.cc, args, inputs=objects, env=env, cacheable=False)
    return step, watcher.seen


def _temp_paths(output: str) -> list[str]:
    """LTO temporaries gcc -v names (resolution file, LTRANS output list)."""
    return sorted({m[1] for m in GCC_TEMP_PATH.finditer(output)})


def _lto_like(names: set[str]) -> list[str]:
    """LTO code-generation temporaries: GCC's LTRANS files, LLVMgold's lto-llvm-*.o.

    GCC's collect2 writes a resolution file (.res) for every link, LTO or
    not, so only LTRANS output proves the LTO stage wrote there.
    """
    return sorted(n for n in names if "ltrans" in n or n.startswith("lto-llvm"))


@register("tmpdir", "LTO temporaries go to $TMPDIR", {"min_files": int}, requires=("linker-plugin",))
def tmpdir(ctx: Context, case: Case, findings: Findings) -> str:
    t = ctx.toolchain
    lto = _compile_only(ctx, case, "lto")
    control = _compile_only(ctx, case, "control")
    if not (succeeded(lto, findings) and succeeded(control, findings)):
        return lto.reproducer()
    fresh = lto.folder / "tmpdir"
    step, seen = _watched_link(ctx, case, lto, fresh, "prog")
    findings.info["seen_in_tmpdir"] = sorted(seen)
    unusable = lto.folder / "no-such-dir" / "tmp"
    bad_step = _unusable_link(ctx, case, lto, unusable)
    findings.info["unusable_tmpdir"] = _describe_unusable(t.family, bad_step, bool(_lto_like(seen)))
    if not findings.expect(step.ok, "the LTO link with TMPDIR set to succeed", step.describe_failure()):
        return lto.reproducer()
    if not seen and t.linker == "lld":
        raise Skip(
            f"{t.linker_version}: lld runs LTO in process and wrote no temporary file into the watched "
            "$TMPDIR during the link; with nothing to place the property does not apply"
        )
    minimum = case.expect.get("min_files", 1)
    shown = ", ".join(sorted(seen)) or "nothing"
    paths = _temp_paths(step.output) if t.family == "gcc" else []
    elsewhere = [p for p in paths if not p.startswith(str(fresh) + "/")]
    findings.expect(
        len(_lto_like(seen)) >= minimum and not elsewhere,
        f"LTO code-generation temporaries (LTRANS files, lto-llvm-*.o) in the fresh $TMPDIR ({fresh.name}/) "
        "during the link",
        f"watched {fresh.name}/ saw {shown}"
        + (f"; {t.cc.name} -v names temporaries outside it: {', '.join(elsewhere)}" if elsewhere else ""),
    )
    control_step, control_seen = _watched_link(ctx, case, control, control.folder / "tmpdir", "prog")
    if findings.expect(control_step.ok, "the non-LTO link to succeed", control_step.describe_failure(), "control"):
        lto_names = _lto_like(control_seen)
        findings.expect(
            not lto_names,
            "no LTO code-generation temporaries in $TMPDIR without -flto (else the watch proves nothing)",
            ", ".join(lto_names),
            where="control",
        )
    return lto.reproducer()


def _unusable_link(ctx: Context, case: Case, result: CaseBuild, unusable: Path) -> Step:
    """The same link with a TMPDIR that does not exist: fallback or hard error is reported, not judged."""
    args = _link_args(ctx, case, result, ["-v"], "prog-unusable-tmpdir")
    objects = [result.objects[s] for s in case.sources]
    return extra_step(ctx, result, ctx.toolchain.cc, args, inputs=objects, env={"TMPDIR": str(unusable)})


def _describe_unusable(family: str, step: Step, writes_temporaries: bool) -> str:
    if not step.ok:
        error = next((ln.strip() for ln in step.output.splitlines() if "error" in ln.lower()), "")
        return f"hard error with a TMPDIR that does not exist: exit {step.returncode} ({error})"
    places = sorted({str(Path(p).parent) for p in _temp_paths(step.output)}) if family == "gcc" else []
    if places:
        return f"silent fallback: with a TMPDIR that does not exist the link succeeded, temporaries in {places[0]}"
    if not writes_temporaries:
        return "the link succeeded with a TMPDIR that does not exist (it writes no LTO temporaries)"
    return "silent fallback: with a TMPDIR that does not exist the link succeeded, temporaries elsewhere"


# --- debug-info --------------------------------------------------------------------------------


def _function_lines(path: Path, rows: list[dwarf.LineRow], function: str) -> set[tuple[str, int]] | None:
    symbol = next((s for s in elf.symbols_of(path) if s.name == function and s.type == "STT_FUNC" and s.defined), None)
    if symbol is None:
        return None
    return dwarf.lines_between(rows, symbol.value, symbol.value + max(symbol.size, 1))


def _check_debug(
    result: CaseBuild, case: Case, findings: Findings, *, where: str, want: bool, leftovers: bool = True
) -> None:
    """With want, every unit and line of the case must resolve; without, none may."""
    path = result.path(result.output or "prog")
    units = sorted({Path(u.name).name for u in dwarf.compile_units(path)})
    rows = dwarf.line_rows(path)
    expected_units: list[str] = case.expect.get("units", [])
    have = [u for u in expected_units if u in units]
    if want:
        missing = [u for u in expected_units if u not in units]
        findings.expect(
            not missing,
            f"a DWARF compile unit for every source ({', '.join(expected_units)})",
            f"units: {', '.join(units) or 'none'}; missing: {', '.join(missing)}",
            where,
        )
    else:
        findings.expect(not have, "no compile unit for the sources without -g", f"units: {', '.join(units)}", where)
    for item in case.expect.get("lines", []):
        function, file, line = item["function"], item["file"], item["line"]
        found = _function_lines(path, rows, function)
        if found is None:
            findings.expect(False, f"function {function} in {result.output}", "no such STT_FUNC symbol", where)
            continue
        shown = ", ".join(f"{f}:{n}" for f, n in sorted(found)[:8]) or "no line-table rows"
        if want:
            findings.expect(
                (file, line) in found,
                f"the line table to map {function}'s code to {file}:{line}",
                f"{function}'s addresses map to {shown}",
                where,
            )
        else:
            findings.expect(not found, f"no line-table rows for {function} without -g", shown, where)
    if leftovers:
        left = [n for n in elf.section_names(path) if n.startswith(".gnu.debuglto_")]
        findings.expect(
            not left,
            f"no .gnu.debuglto_ sections in {result.output} (they belong in objects, LTRANS turns them into DWARF)",
            ", ".join(left),
            where,
        )


@register("debug-info", "-g DWARF survives LTO and resolves", {"units": list, "lines": list}, ("linker-plugin",))
def debug_info(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    no_g = dataclasses.replace(case, cflags=tuple(f for f in case.cflags if not f.startswith("-g")))
    lto_no_g = build(ctx, no_g, "lto", tag="nog")
    if succeeded(lto, findings):
        _check_debug(lto, case, findings, where="lto", want=True)
        findings.info["units"] = [u.name for u in dwarf.compile_units(lto.path(lto.output or "prog"))]
        check_program_runs(ctx, case, lto, findings)
    if succeeded(control, findings):
        # The non-LTO build is the reference: the case's units and lines must hold there too.
        _check_debug(control, case, findings, where="control", want=True)
    if succeeded(lto_no_g, findings):
        _check_debug(lto_no_g, case, findings, where="lto without -g", want=False, leftovers=False)
    return lto.reproducer()


# --- cost --------------------------------------------------------------------------------------


def generate_sources(folder: Path, files: int, functions: int, seed: int) -> list[str]:
    """Write a deterministic medium program: ``files`` units of ``functions`` functions each.

    Functions mix loops, switches and calls into the same and the previous
    unit, so LTO has cross-file work (inlining, IPA) like a real program;
    gen_root in gen_000.c calls the last function of every unit, keeping all
    of it live. Arithmetic is unsigned (no undefined overflow) and a depth
    argument bounds the calls, so the program runs in microseconds and the
    LTO and non-LTO builds must print the same number.
    """
    rng = random.Random(seed)
    names: list[str] = []
    for f in range(files):
        name = f"gen_{f:03d}.c"
        lines = [f"/* generated by lto-conformance (seed {seed}): unit {f} */", f"volatile unsigned gen_sink_{f};", ""]
        if f > 0:
            lines += [f"unsigned gen_{f - 1}_{j}(unsigned x, unsigned d);" for j in range(functions)] + [""]
        for j in range(functions):
            a, b, c = rng.randrange(2, 97), rng.randrange(1, 13), rng.randrange(3, 29)
            lines += [f"unsigned gen_{f}_{j}(unsigned x, unsigned d)", "{", "\tunsigned acc = x;"]
            lines += [f"\tfor (unsigned i = 0; i < (x & {b}); i++)", f"\t\tacc = acc * {a} + i;"]
            lines += ["\tswitch (acc & 3) {", f"\tcase 0: acc ^= {c}; break;", f"\tcase 1: acc += {a}; break;"]
            lines += [f"\tcase 2: acc -= {b}; break;", f"\tdefault: gen_sink_{f} = acc; break;", "\t}"]
            if j > 0:
                lines.append(f"\tif (d)\n\t\tacc += gen_{f}_{rng.randrange(j)}(acc & 7, d - 1);")
            if f > 0:
                lines.append(f"\tif (d)\n\t\tacc += gen_{f - 1}_{rng.randrange(functions)}(acc & 15, d - 1);")
            lines += ["\treturn acc;", "}", ""]
        if f == 0:
            lines += [f"unsigned gen_{u}_{functions - 1}(unsigned x, unsigned d);" for u in range(1, files)]
            calls = " + ".join(f"gen_{u}_{functions - 1}(x, 4)" for u in range(files))
            lines += ["unsigned gen_root(unsigned x)", "{", f"\treturn {calls};", "}", ""]
        (folder / name).write_text("\n".join(lines))
        names.append(name)
    return names


def _generated_case(ctx: Context, case: Case) -> Case:
    """The case's own files plus generated ones, in a folder keyed by the generator parameters."""
    params: Mapping[str, Any] = case.expect["generate"]
    files, functions, seed = int(params["files"]), int(params["functions_per_file"]), int(params["seed"])
    digest = hashlib.sha256(repr((files, functions, seed)).encode()).hexdigest()[:12]
    folder = ctx.workspace / f"generated-{case.property}-{case.name}-{digest}"
    if not folder.is_dir():
        scratch = folder.with_name(folder.name + f".{os.getpid()}")
        stage_case(case, scratch)
        generated = generate_sources(scratch, files, functions, seed)
        (scratch / "sources.txt").write_text("\n".join(generated))
        try:
            scratch.rename(folder)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
    generated = (folder / "sources.txt").read_text().split()
    return dataclasses.replace(case, directory=folder, sources=(*case.sources, *generated))


@register(
    "cost",
    "time / peak memory / size of LTO vs non-LTO link are measured and bounded",
    {
        "generate": dict,
        "max_peak_rss_mib": int,
        "max_lto_link_seconds": float,
        "max_build_time_ratio": float,
        "timeout_seconds": int,
    },
    requires=("linker-plugin",),
)
def cost(ctx: Context, case: Case, findings: Findings) -> str:
    generated = _generated_case(ctx, case)
    timeout = float(case.expect.get("timeout_seconds", 120))
    lto = build(ctx, generated, "lto", timeout=timeout)
    control = build(ctx, generated, "control", timeout=timeout)
    reproducer = lto.reproducer(str(generated.directory))
    for name, result in (("lto", lto), ("control", control)):
        if result.failed is not None:
            findings.expect(
                False,
                f"the {name} build of the generated probe to finish within {timeout:.0f} s per step",
                "a step failed:\n" + result.failed.describe_failure(),
                where=name,
            )
    if lto.link is None or control.link is None or lto.failed or control.failed:
        return reproducer
    figures = _cost_figures(generated, lto, control)
    findings.info["cost"] = figures
    if not figures["measured_now"]:
        findings.notes.append("cost figures come from the cached run that first measured these steps")
    max_rss = case.expect.get("max_peak_rss_mib", 4096)
    findings.expect(
        figures["lto_link_peak_rss_mib"] <= max_rss,
        f"LTO link peak RSS at most {max_rss} MiB (largest process of the link's tree, os.wait4)",
        f"{figures['lto_link_peak_rss_mib']:.0f} MiB (non-LTO link: {figures['nolto_link_peak_rss_mib']:.0f} MiB; "
        f"runner floor {figures['rss_floor_mib']:.0f} MiB)",
    )
    max_seconds = case.expect.get("max_lto_link_seconds", 60.0)
    findings.expect(
        lto.link.seconds <= max_seconds,
        f"LTO link within {max_seconds:g} s",
        f"{lto.link.seconds:.2f} s (non-LTO link {control.link.seconds:.2f} s)",
    )
    max_ratio = case.expect.get("max_build_time_ratio", 10.0)
    findings.expect(
        figures["build_time_ratio"] <= max_ratio,
        f"the whole LTO build (compile + link) at most {max_ratio:g}x the non-LTO build's time",
        f"{figures['lto_build_seconds']:.2f} s vs {figures['nolto_build_seconds']:.2f} s "
        f"({figures['build_time_ratio']:.1f}x)",
    )
    findings.expect(
        bool(figures["lto_text_bytes"]) and bool(figures["nolto_text_bytes"]),
        "a .text section in both programs",
        f"LTO .text {figures['lto_text_bytes']}, non-LTO .text {figures['nolto_text_bytes']}",
    )
    if ctx.toolchain.runs_natively:
        ran = {name: run_program(b) for name, b in (("lto", lto), ("nolto", control))}
        findings.expect(
            ran["lto"].ok and ran["nolto"].ok and ran["lto"].output == ran["nolto"].output,
            "the LTO and non-LTO programs to run and print the same number (the generated code has no UB)",
            f"LTO: exit {ran['lto'].returncode} {ran['lto'].output.strip()!r}; "
            f"non-LTO: exit {ran['nolto'].returncode} {ran['nolto'].output.strip()!r}",
        )
    return reproducer


def _cost_figures(generated: Case, lto: CaseBuild, control: CaseBuild) -> dict[str, Any]:
    """The figures for the report; seconds and RSS are those Step recorded when the step really ran."""
    assert lto.link is not None and control.link is not None
    # A child's ru_maxrss starts at the RSS of the process that forked it (Linux keeps maxrss
    # across exec), so the runner's own size is a floor under every RSS figure: report it.
    floor = run(["true"], cwd=lto.folder, timeout=10).peak_rss_kib / MIB
    lto_build = sum(s.seconds for s in lto.steps)
    nolto_build = sum(s.seconds for s in control.steps)
    return {
        "sources": len(generated.sources),
        "lto_link_seconds": round(lto.link.seconds, 3),
        "nolto_link_seconds": round(control.link.seconds, 3),
        "link_time_ratio": round(lto.link.seconds / max(control.link.seconds, 1e-3), 1),
        "lto_build_seconds": round(lto_build, 3),
        "nolto_build_seconds": round(nolto_build, 3),
        "build_time_ratio": round(lto_build / max(nolto_build, 1e-3), 2),
        "lto_link_peak_rss_mib": round(lto.link.peak_rss_kib / MIB, 1),
        "nolto_link_peak_rss_mib": round(control.link.peak_rss_kib / MIB, 1),
        "rss_floor_mib": round(floor, 1),
        "lto_text_bytes": elf.section_size(lto.path("prog"), ".text"),
        "nolto_text_bytes": elf.section_size(control.path("prog"), ".text"),
        "measured_now": not any(s.cached for s in (*lto.steps, *control.steps)),
    }
