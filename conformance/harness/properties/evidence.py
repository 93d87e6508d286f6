"""Evidence shared by several properties: builds, plugin traces, programs.

Each helper turns a build into facts and records what did not match in
``Findings``; the property modules decide which facts they need.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import dwarf, elf
from ..build import Builder, CaseBuild, build_case
from ..cases import Case
from ..process import Step, run
from ..schema import Field, ListOf, Record, Source, Str
from ..toolchain import Tool
from ..verdict import Findings
from . import Context

NM_LINE = re.compile(r"^(?:[0-9a-fA-F-]+\s+)?(?P<kind>[A-Za-z?])\s+(?P<name>\S+)$")
GCC_RESOLUTION_LINE = re.compile(r"^\s*\d+\s+\S+\s+(?P<resolution>[A-Z_]+)\s+(?P<symbol>\S+)")
LLVM_RESOLUTION_LINE = re.compile(r"^-r=(?P<file>[^,]*),(?P<symbol>[^,]+),(?P<flags>\w*)$")
# What the program-content checks (check_binary_content) read from a case table.
INLINED = Record(
    {
        "callee": Field(Str, required=True),
        "from_file": Field(Source(), required=True),
        "into": Field(Str, required=True),
    }
)
CONTENT_SCHEMA = {
    "inlined": Field(ListOf(INLINED)),
    "absent": Field(ListOf(Str), default=[]),
    "present": Field(ListOf(Str), default=[]),
    "absent_strings": Field(ListOf(Str), default=[]),
    "present_strings": Field(ListOf(Str), default=[]),
}
UNDEFINED_REFERENCE = re.compile(r"undefined (?:reference to|symbol:?) [`'\"]?(?P<name>[\w.$]+)")


def build(ctx: Context, case: Case, variant: str, **options: Any) -> CaseBuild:
    return build_case(case, ctx.toolchain, variant, ctx.workspace, ctx.cache, **options)


def compile_only(ctx: Context, case: Case, variant: str, tag: str = "") -> CaseBuild:
    """Compile the case without linking, so a property can run and watch the link itself."""
    return build(ctx, dataclasses.replace(case, link="none"), variant, tag=tag)


def variant_tag(flags: str) -> str:
    """A build-folder tag for a variant of link flags."""
    return re.sub(r"[^A-Za-z0-9]+", "-", flags).strip("-")[:40] or "default"


def first_error(step: Step | None) -> str:
    """The line of a failed link a person would quote."""
    if step is None:
        return "no output"
    lines = [ln.strip() for ln in step.output.splitlines() if ln.strip()]
    for line in lines:
        if UNDEFINED_REFERENCE.search(line):
            return line
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[-1] if lines else f"exit {step.returncode}"


def extra_step(
    ctx: Context,
    result: CaseBuild,
    tool: Tool,
    args: Sequence[str],
    *,
    inputs: Sequence[str],
    env: Mapping[str, str] | None = None,
    cacheable: bool = True,
) -> Step:
    """One more step (nm, ar, a second link) in a finished build's folder, cached like the rest
    and kept in the build's steps so the reproducer shows it."""
    step = Builder(result.folder, ctx.cache).step(tool, args, inputs=inputs, env=env, cacheable=cacheable)
    result.steps.append(step)
    return step


def nm_listing(output: str) -> dict[str, str]:
    """name -> nm type letter, from BSD-format nm output (GNU, LLVM)."""
    out: dict[str, str] = {}
    for line in output.splitlines():
        match = NM_LINE.match(line.strip())
        if match:
            out[match["name"]] = match["kind"]
    return out


def check_listing(
    wanted: Mapping[str, str], listing: Mapping[str, str], raw: str, findings: Findings, obj: str
) -> None:
    """nm's listing of obj must name every wanted symbol, undefined ("U") or defined as the case says."""
    missing = []
    for name, kind in wanted.items():
        got = listing.get(name)
        if got is None or (kind == "U") != (got == "U"):
            missing.append(f"{kind} {name}")
    shown = ", ".join(f"{k} {n}" for n, k in sorted(listing.items())) or "no symbols"
    findings.expect(
        not missing,
        f"nm {obj} to list {', '.join(f'{k} {n}' for n, k in wanted.items())}",
        f"{shown}" + (f" ({raw.strip().splitlines()[-1]})" if raw.strip() else ""),
    )


def succeeded(result: CaseBuild, findings: Findings) -> bool:
    """Record a failed build as the problem; the failing command says why."""
    if result.failed is None:
        return True
    findings.expect(
        False,
        f"the {result.variant} build to succeed",
        "a step failed:\n" + _indent(result.failed.describe_failure()),
        where=result.variant,
    )
    return False


def _indent(text: str) -> str:
    return "\n".join("            " + line for line in text.splitlines())


@dataclass(frozen=True)
class PluginTrace:
    """What the LTO plugin left behind with save-temps: the proof it ran."""

    resolution_file: str | None
    resolved: Mapping[str, str]
    lto_outputs: tuple[str, ...]

    def describe(self) -> str:
        if self.resolution_file is None:
            return "no resolution file and no LTRANS output: the plugin did not run"
        return (
            f"{self.resolution_file} resolves {len(self.resolved)} symbols; "
            f"LTO output: {', '.join(self.lto_outputs) or 'none'}"
        )


def plugin_trace(result: CaseBuild) -> PluginTrace:
    """Read GCC's ``<out>.res`` or LLVM's ``<out>.resolution.txt``."""
    out = result.output or "prog"
    folder = result.folder
    resolved: dict[str, str] = {}
    gcc_res, llvm_res = folder / f"{out}.res", folder / f"{out}.resolution.txt"
    chosen: Path | None = None
    if gcc_res.is_file():
        chosen = gcc_res
        for line in gcc_res.read_text(errors="replace").splitlines():
            match = GCC_RESOLUTION_LINE.match(line)
            if match:
                resolved[match["symbol"]] = match["resolution"]
    elif llvm_res.is_file():
        chosen = llvm_res
        for line in llvm_res.read_text(errors="replace").splitlines():
            match = LLVM_RESOLUTION_LINE.match(line.strip())
            if match and "p" in match["flags"]:
                resolved[match["symbol"]] = match["flags"]
    patterns = (f"{out}.ltrans*.o", f"{out}*.lto.o", f"{out}*.precodegen.bc")
    outputs = sorted({p.name for pattern in patterns for p in folder.glob(pattern)})
    return PluginTrace(chosen.name if chosen else None, resolved, tuple(outputs))


SAVE_TEMPS_FLAGS = ("-save-temps", "-Wl,--save-temps", "-Wl,-plugin-opt=save-temps")


def _kept_temps(result: CaseBuild) -> bool:
    """Whether the link asked to keep the plugin's files (a driver such as zig cc refuses to pass it on)."""
    link = result.steps[-1] if result.steps else None
    return link is not None and any(flag in link.argv for flag in SAVE_TEMPS_FLAGS)


def _ir_kinds(result: CaseBuild) -> dict[str, str]:
    return {obj: elf.ir_kind(result.path(obj)).value for obj in result.objects.values()}


def _check_ir_became_code(result: CaseBuild, findings: Findings) -> None:
    """Without a resolution file, the proof is that IR-only inputs came out as machine code."""
    kinds = _ir_kinds(result)
    out = result.output or "prog"
    output_kind = elf.ir_kind(result.path(out)) if result.path(out).is_file() else None
    functions = [s.name for s in elf.symbols_of(result.path(out)) if s.defined and s.type == "STT_FUNC"]
    findings.expect(
        all(k != elf.IRKind.NONE.value for k in kinds.values()) and output_kind == elf.IRKind.NONE and bool(functions),
        "the linker to turn IR-only inputs into machine code (this driver passes no save-temps to its linker, "
        "so there is no resolution file to read)",
        f"inputs: {', '.join(f'{o} is {k}' for o, k in kinds.items())}; {out}: "
        + (f"machine code defining {len(functions)} functions" if functions else "no function defined"),
    )


def check_plugin_ran(result: CaseBuild, symbols: Sequence[str], findings: Findings) -> PluginTrace:
    trace = plugin_trace(result)
    if trace.resolution_file is None and not _kept_temps(result):
        _check_ir_became_code(result, findings)
        return trace
    missing = [s for s in symbols if s not in trace.resolved]
    findings.expect(
        trace.resolution_file is not None and not missing and bool(trace.lto_outputs),
        f"the linker plugin to resolve {', '.join(symbols)} from IR and emit LTRANS output",
        trace.describe() + (f"; not resolved: {', '.join(missing)}" if missing and trace.resolution_file else ""),
    )
    return trace


def check_plugin_idle(result: CaseBuild, symbols: Sequence[str], findings: Findings) -> None:
    """Negative control: without -flto the plugin must have nothing to resolve."""
    trace = plugin_trace(result)
    if not _kept_temps(result):
        kinds = _ir_kinds(result)
        findings.expect(
            all(k == elf.IRKind.NONE.value for k in kinds.values()),
            "no IR among the inputs without -flto",
            ", ".join(f"{o} is {k}" for o, k in kinds.items()),
            where="control",
        )
        return
    seen = [s for s in symbols if s in trace.resolved]
    findings.expect(
        not seen and not trace.lto_outputs,
        "no IR resolution and no LTRANS output without -flto",
        trace.describe(),
        where="control",
    )


def run_program(ctx: Context, result: CaseBuild, program: str | None = None, timeout: float = 20.0) -> Step | None:
    """Run a linked program of the build where this toolchain's programs run; None where they cannot.

    The one way the suite runs what it linked; not cached: the run is the proof.
    """
    name = program or result.output
    if name is None or not ctx.toolchain.runs:
        return None
    return run([*ctx.toolchain.runner, f"./{name}"], cwd=result.folder, timeout=timeout, measure_rss=False)


def check_program_runs(
    ctx: Context, case: Case, result: CaseBuild, findings: Findings, program: str | None = None
) -> None:
    """Where the program can run here (natively or under qemu-user), it must print what the case's ``[run]`` says.

    ``program`` names a program linked after the case's own link (the final
    link of a ``-r`` output); by default the case's linked program.
    ``info["ran"]`` records for results.json how it ran: native, emulated, or not run.
    """
    if case.run_stdout is None or not result.ok:
        return
    if program is None and case.link != "exe":
        return
    step = run_program(ctx, result, program)
    if step is None:
        findings.info["ran"] = "not run"
        findings.notes.append(ctx.toolchain.run_note)
        return
    findings.info["ran"] = ctx.toolchain.run_mode
    findings.expect(
        step.returncode == case.run_exit and step.output == case.run_stdout,
        f"./{program or result.output} to exit {case.run_exit} printing {case.run_stdout!r}",
        f"exit {step.returncode}, printed {step.output!r}",
        where=result.variant,
    )


def check_binary_content(result: CaseBuild, table: Mapping[str, Any], findings: Findings) -> None:
    """Generic expectations on the linked output: symbols, strings, inlining."""
    if not result.ok or not result.output:
        return
    path = result.path(result.output)
    where = result.variant
    names = {s.name for s in elf.symbols_of(path) if s.defined}
    for symbol in table["absent"]:
        findings.expect(symbol not in names, f"no symbol {symbol} in {result.output}", f"{symbol} is defined", where)
    for symbol in table["present"]:
        findings.expect(symbol in names, f"symbol {symbol} in {result.output}", f"{symbol} is not defined", where)
    for text in table["absent_strings"]:
        findings.expect(
            not elf.contains_bytes(path, text.encode()),
            f"string {text!r} gone from {result.output}",
            "it is still in an allocated section",
            where,
        )
    for text in table["present_strings"]:
        findings.expect(
            elf.contains_bytes(path, text.encode()),
            f"string {text!r} in {result.output}",
            "it is not in any allocated section",
            where,
        )
    if "inlined" in table:
        edges = [e for e in dwarf.inlined_edges(path) if e.cross_file]
        wanted = table["inlined"]
        for item in wanted:
            hit = [e for e in edges if e.callee == item["callee"] and e.caller == item["into"]]
            findings.expect(
                bool(hit),
                f"{item['callee']} ({item['from_file']}) inlined into {item['into']}",
                _describe_edges(edges, item["into"]),
                where,
            )
        if not wanted:
            findings.expect(
                not edges,
                "no cross-file inlining",
                "; ".join(f"{e.callee} ({e.callee_file}) inlined into {e.caller} ({e.caller_file})" for e in edges),
                where,
            )


def check_linked_content(ctx: Context, case: Case, findings: Findings) -> str:
    """Build with and without LTO; each program must show its table's content and run right."""
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    if succeeded(lto, findings):
        check_binary_content(lto, case.expect, findings)
        check_program_runs(ctx, case, lto, findings)
    if succeeded(control, findings):
        check_binary_content(control, case.control, findings)
    return lto.reproducer()


def plugin_builds(ctx: Context, case: Case) -> tuple[CaseBuild, CaseBuild]:
    """The LTO and the control build, each keeping what the plugin wrote (save-temps) for check_plugin_*."""
    t = ctx.toolchain
    lto = build(ctx, case, "lto", link_flags=t.save_temps_flags, tag="savetemps")
    control = build(ctx, case, "control", link_flags=t.control_save_temps_flags, tag="savetemps")
    return lto, control


def check_linked_through_plugin(
    ctx: Context, case: Case, lto: CaseBuild, control: CaseBuild, findings: Findings, *, record: bool = False
) -> None:
    """The LTO link resolved ``expect.resolved`` through the plugin and runs; the control's plugin had nothing.

    ``record`` keeps the resolution file and the LTRANS outputs in ``info``.
    """
    resolved = case.expect["resolved"]
    if succeeded(lto, findings):
        trace = check_plugin_ran(lto, resolved, findings)
        if record:
            findings.info["resolution"] = trace.resolution_file
            findings.info["lto_outputs"] = list(trace.lto_outputs)
        check_program_runs(ctx, case, lto, findings)
    if succeeded(control, findings):
        check_plugin_idle(control, resolved, findings)


def _describe_edges(edges: Sequence[dwarf.InlineEdge], caller: str) -> str:
    mine = [e for e in edges if e.caller == caller]
    if mine:
        return "into " + caller + " only: " + ", ".join(f"{e.callee} ({e.callee_file})" for e in mine)
    return f"no cross-file DW_TAG_inlined_subroutine under {caller}" + (
        f" (other cross-file edges: {', '.join(f'{e.callee}->{e.caller}' for e in edges)})" if edges else ""
    )
