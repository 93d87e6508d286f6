"""debug-info: ``-g`` DWARF survives LTO and resolves.

Kernel developers debug LTO kernels with gdb, crash and perf, and
decode_stacktrace.sh resolves addresses to file:line. With GCC the compile-
time ``-g`` lives in ``.gnu.debuglto_*`` sections until LTRANS turns it into
DWARF; clang carries it in the bitcode. The LTO program must have a compile
unit per source and line tables that map each function to its file and
line, with no ``.gnu.debuglto_`` leftovers; the non-LTO build is the
reference, and an LTO build without ``-g`` must have none of it.

Case keys (``[expect]``):

``units``
    list of source file names that must each have a DWARF compile unit.
``lines``
    list of tables ``{function, file, line}``: the line table must map the
    function's code to ``file:line``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import dwarf, elf
from ..build import CaseBuild
from ..cases import Case
from ..schema import Field, Int, ListOf, Record, Source, Str
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_program_runs, succeeded


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
    expected_units: list[str] = case.expect["units"]
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
    for item in case.expect["lines"]:
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


LINE = Record(
    {"function": Field(Str, required=True), "file": Field(Source(), required=True), "line": Field(Int, required=True)}
)
SCHEMA = {
    "units": Field(ListOf(Source()), default=[], expect_only=True),
    "lines": Field(ListOf(LINE), default=[], expect_only=True),
}


@register("debug-info", "-g DWARF survives LTO and resolves", SCHEMA, ("linker-plugin",))
def debug_info(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    # -g0, not just no -g: some drivers (zig cc) emit debug info by default
    no_g = dataclasses.replace(case, cflags=(*(f for f in case.cflags if not f.startswith("-g")), "-g0"))
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
