"""Kernel idioms under LTO: what broke when Linux was first built with LTO.

Each property is a probe of a few tiny files that does one thing the kernel
does (file-scope asm calling C, explicit sections and tables, ordered
initcalls, ``-r`` links of thin archives, per-file flags) and checks the
final ELF with pyelftools, plus the program's output where it runs here.
The control build is the same probe without LTO: the baseline the LTO
result is compared against, so a case whose expectation is wrong for the
toolchain shows up in the control instead of blaming LTO.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from .. import elf
from ..build import CaseBuild, run_program
from ..cases import Case
from ..process import Step
from ..verdict import Findings
from . import Context, Skip, register
from .evidence import build, check_program_runs, extra_step, nm_listing, succeeded

UNDEFINED_REFERENCE = re.compile(r"undefined (?:reference to|symbol:?) [`'\"]?(?P<name>[\w.$]+)")
TRACE_HOOKS = ("__fentry__", "mcount", "__mcount", "_mcount")


def _require_x86_64(ctx: Context, why: str) -> None:
    """The probes' asm and ftrace flags are x86_64 code; say so instead of failing elsewhere."""
    if not ctx.toolchain.target.startswith("x86_64"):
        raise Skip(f"{why} is x86_64-only (target is {ctx.toolchain.target})")


def base_name(symbol: str) -> str:
    """``f.lto_priv.0``, ``f.llvm.123``, ``f.constprop.0`` are still f."""
    return symbol.split(".", 1)[0] if not symbol.startswith(".") else symbol


def _symbols_by_base(path: Path) -> dict[str, list[elf.Symbol]]:
    out: dict[str, list[elf.Symbol]] = {}
    for symbol in elf.symbols_of(path):
        if symbol.defined:
            out.setdefault(base_name(symbol.name), []).append(symbol)
    return out


def _first_error(step: Step | None) -> str:
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


def _check_defined(result: CaseBuild, names: Sequence[str], findings: Findings) -> None:
    if not names or not result.ok or not result.output:
        return
    have = _symbols_by_base(result.path(result.output))
    missing = [n for n in names if n not in have]
    findings.expect(
        not missing,
        f"{', '.join(names)} defined in {result.output}",
        f"missing: {', '.join(missing)}",
        result.variant,
    )


# --- toplevel-asm -------------------------------------------------------------------------------------------------


@register(
    "toplevel-asm",
    "asm-only references to C symbols resolve when annotated as the kernel does",
    {"links": bool, "defined": list, "record": str, "link_variants": dict},
    requires=("linker-plugin",),
)
def toplevel_asm(ctx: Context, case: Case, findings: Findings) -> str:
    _require_x86_64(ctx, "the probe's file-scope asm")
    record = case.expect.get("record")
    variants = case.expect.get("link_variants", {}).get(ctx.toolchain.family, [""])
    outcomes: dict[str, str] = {}
    first: CaseBuild | None = None
    for flags in variants:
        lto = build(ctx, case, "lto", link_flags=shlex.split(flags), tag=_variant_tag(flags) if flags else "")
        first = first or lto
        label = flags or "default"
        if record:
            outcomes[label] = _record_asm_resolution(ctx, case, lto, label, findings)
        elif case.expect.get("links", True) and succeeded(lto, findings):
            _check_defined(lto, case.expect.get("defined", []), findings)
            check_program_runs(ctx, case, lto, findings)
    if record:
        findings.info[record] = outcomes["default"] if list(outcomes) == ["default"] else outcomes
    control = build(ctx, case, "control")
    if case.control.get("links", True) and succeeded(control, findings):
        _check_defined(control, case.control.get("defined", []), findings)
        check_program_runs(ctx, case, control, findings)
    assert first is not None
    return first.reproducer()


def _record_asm_resolution(ctx: Context, case: Case, lto: CaseBuild, label: str, findings: Findings) -> str:
    """A fact about the toolchain, not a verdict: does LTO see references made only by asm?"""
    if lto.ok:
        check_program_runs(ctx, case, lto, findings)
        return "resolved: the program links"
    line = _first_error(lto.failed)
    match = UNDEFINED_REFERENCE.search(line)
    what = f"undefined reference to {match['name']}" if match else line
    findings.notes.append(
        f"{ctx.toolchain.family} LTO [{label}] does not resolve this asm-only reference ({what}); "
        "code built with this toolchain needs the kernel's __visible/__used annotations on global symbols"
    )
    return f"not resolved: {what} (LTO dropped, localized or partitioned away a symbol only asm uses)"


# --- section-placement --------------------------------------------------------------------------------------------


@register(
    "section-placement",
    "explicit sections and __start_/__stop_ tables survive LTO",
    {"placed": dict},
    requires=("linker-plugin",),
)
def section_placement(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    for result, table in ((lto, case.expect), (control, case.control)):
        if succeeded(result, findings):
            _check_placement(result, table.get("placed", {}), findings)
            check_program_runs(ctx, case, result, findings)
    return lto.reproducer()


def _check_placement(result: CaseBuild, placed: Mapping[str, str], findings: Findings) -> None:
    assert result.output
    have = _symbols_by_base(result.path(result.output))
    found: dict[str, str] = {}
    wrong = []
    for name, section in placed.items():
        sections = sorted({s.section for s in have.get(name, [])})
        found[name] = ", ".join(sections)
        if section not in sections:
            wrong.append(f"{name} in {found[name]}" if sections else f"{name} is gone (not in .symtab)")
    findings.expect(
        not wrong,
        "in " + result.output + ": " + ", ".join(f"{n} in {s}" for n, s in placed.items()),
        ", ".join(wrong),
        result.variant,
    )


# --- initcall-order -----------------------------------------------------------------------------------------------


def pointer_table(path: Path, sections: Sequence[str]) -> list[str] | None:
    """The function names a table of pointers points at, in section order; None if a section is missing.

    Reads the final image the way the kernel's do_initcalls walks it: each
    pointer-sized word is an address, named through the symbol table. Cases
    link non-PIE: in a PIE the words are only filled in by dynamic relocations.
    """
    with path.open("rb") as handle:
        image = ELFFile(handle)
        width = 8 if image.elfclass == 64 else 4
        order = "little" if image.little_endian else "big"
        table = image.get_section_by_name(".symtab")
        names: dict[int, str] = {}
        if isinstance(table, SymbolTableSection):
            for sym in table.iter_symbols():
                if sym["st_info"]["type"] == "STT_FUNC" and sym.name:
                    names.setdefault(sym["st_value"], base_name(sym.name))
        out: list[str] = []
        for name in sections:
            section = image.get_section_by_name(name)
            if section is None:
                return None
            data = section.data()
            for offset in range(0, len(data) - width + 1, width):
                address = int.from_bytes(data[offset : offset + width], order)
                out.append(names.get(address, hex(address)))
        return out


def _variant_tag(flags: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", flags).strip("-")[:40] or "default"


def _describe_order(found: list[str] | None, tables: Sequence[str]) -> str:
    if found is None:
        return f"no section {' / '.join(tables)} in the image"
    return " ".join(found) or "an empty table"


@register(
    "initcall-order",
    "order-sensitive tables keep link order under LTO as the kernel requires",
    {"tables": list, "order": list, "link_variants": dict, "recorded_variants": dict},
    requires=("linker-plugin",),
)
def initcall_order(ctx: Context, case: Case, findings: Findings) -> str:
    family = ctx.toolchain.family
    tables, wanted = case.expect["tables"], case.expect["order"]
    judged = case.expect.get("link_variants", {}).get(family, [""])
    recorded = case.expect.get("recorded_variants", {}).get(family, [])
    orders: dict[str, str] = {}
    first: CaseBuild | None = None
    shown: CaseBuild | None = None  # the first judged variant whose order is wrong: its commands reproduce it
    for flags in [*judged, *recorded]:
        label = flags or "default"
        result = build(ctx, case, "lto", link_flags=shlex.split(flags), tag=_variant_tag(flags))
        first = first or result
        is_judged = flags in judged
        if not result.ok:
            if is_judged:
                succeeded(result, findings)
            else:
                orders[label] = "link failed: " + _first_error(result.failed)
            continue
        assert result.output
        found = pointer_table(result.path(result.output), tables)
        orders[label] = _describe_order(found, tables)
        if is_judged:
            if found != list(wanted) and shown is None:
                shown = result
            findings.expect(
                found == list(wanted),
                f"{' + '.join(tables)} in link order with LTO link flags [{label}]: {' '.join(wanted)}",
                orders[label] + _order_hint(found, wanted),
            )
            check_program_runs(ctx, case, result, findings)
        elif found != list(wanted):
            findings.notes.append(f"with {label} the order is not link order: {orders[label]}")
    findings.info["order"] = orders
    control = build(ctx, case, "control")
    if succeeded(control, findings):
        assert control.output
        found = pointer_table(control.path(control.output), case.control.get("tables", tables))
        findings.info["control_order"] = _describe_order(found, tables)
        expected = case.control.get("order")
        if expected is not None:
            findings.expect(
                found == list(expected),
                f"link order without LTO: {' '.join(expected)}",
                _describe_order(found, tables),
                "control",
            )
            check_program_runs(ctx, case, control, findings)
    assert first is not None
    return (shown or first).reproducer()


def _order_hint(found: list[str] | None, wanted: Sequence[str]) -> str:
    if found is None:
        return ""
    missing = [n for n in wanted if n not in found]
    if missing:
        return f" (missing: {', '.join(missing)})"
    return " (every entry is there, in another order)" if found != list(wanted) else ""


# --- incremental-link ---------------------------------------------------------------------------------------------


@register(
    "incremental-link",
    "-r links of LTO objects keep working (IR kept or nolto-rel)",
    {"r_flags": list, "defines": list, "keeps": dict},
    requires=("thin-archive",),
)
def incremental_link(ctx: Context, case: Case, findings: Findings) -> str:
    assert case.link == "relocatable", f"{case.id}: incremental-link cases need link = 'relocatable'"
    r_flags = case.expect.get("r_flags", [])
    lto = build(ctx, case, "lto", link_flags=r_flags)
    control_flags = [f for f in r_flags if not f.startswith("-flinker-output")]
    control = build(ctx, case, "control", link_flags=control_flags)
    for result, table in ((lto, case.expect), (control, case.control)):
        if succeeded(result, findings) and _check_relocatable(ctx, result, table, findings):
            _final_link(ctx, case, result, findings)
    return lto.reproducer()


def _relocatable_symbols(ctx: Context, result: CaseBuild, path: Path) -> tuple[elf.IRKind, set[str], str]:
    """What the -r output defines: from the ELF symtab, or via the nm under test when it holds IR."""
    kind = elf.ir_kind(path)
    if kind in (elf.IRKind.GCC_SLIM, elf.IRKind.LLVM_BITCODE):
        step = extra_step(ctx, result, ctx.toolchain.nm, [path.name], inputs=[path.name])
        names = {name for name, kind in nm_listing(step.output).items() if kind not in ("U", "w", "v")}
        return kind, names, f"{ctx.toolchain.nm.name} lists"
    if kind == elf.IRKind.NOT_AN_OBJECT:
        return kind, set(), "not an object"
    return kind, elf.global_definitions(path), "symtab"


def _check_relocatable(ctx: Context, result: CaseBuild, table: Mapping[str, object], findings: Findings) -> bool:
    assert result.output
    path = result.path(result.output)
    where = result.variant
    kind, names, how = _relocatable_symbols(ctx, result, path)
    keeps = "ir" if kind in (elf.IRKind.GCC_SLIM, elf.IRKind.GCC_FAT, elf.IRKind.LLVM_BITCODE) else "code"
    empty = not names and kind in (elf.IRKind.NONE, elf.IRKind.NOT_AN_OBJECT)
    if where == "lto":
        if empty:
            findings.info["r_output"] = "empty: no symbols and no IR"
        elif keeps == "ir":
            findings.info["r_output"] = f"IR kept ({kind.value}): the final link does the LTO"
        else:
            findings.info["r_output"] = "code generated (plain ELF object): LTO ran in the -r step"
    wanted = [str(n) for n in table.get("defines", [])]  # type: ignore[union-attr]
    missing = [n for n in wanted if n not in names]
    size = path.stat().st_size if path.exists() else 0
    if missing and empty:
        found = (
            f"{result.output} ({size} bytes) defines no symbol and carries no IR: "
            f"the linker ({ctx.toolchain.linker}) wrote an empty object for -r and exited 0"
        )
    else:
        found = f"{how} {', '.join(sorted(names)) or 'nothing'}; missing {', '.join(missing)}"
    ok = findings.expect(not missing, f"the -r output {result.output} to define {', '.join(wanted)}", found, where)
    expected_keep = table.get("keeps", {}).get(ctx.toolchain.family)  # type: ignore[union-attr]
    if expected_keep and ok:
        findings.expect(
            keeps == expected_keep,
            f"the -r output to hold {'IR' if expected_keep == 'ir' else 'machine code'}",
            f"it holds {'IR' if keeps == 'ir' else 'machine code'} ({kind.value})",
            where,
        )
    return ok


def _final_link(ctx: Context, case: Case, result: CaseBuild, findings: Findings) -> None:
    """Link vmlinux from vmlinux.o: the LTO flags again, since the -r output may still be IR."""
    t = ctx.toolchain
    lto_flags = case.lto_flags_for(t.family) if result.variant == "lto" else ()
    assert result.output
    args = [*t.cflags, *case.cflags, *lto_flags, *t.linker_flags, *t.ldflags, *case.ldflags]
    step = extra_step(ctx, result, ctx.toolchain.cc, [*args, result.output, "-o", "prog"], inputs=[result.output])
    if not findings.expect(
        step.ok, f"the final link of {result.output} to succeed", _first_error(step), result.variant
    ):
        return
    if case.run_stdout is not None and t.runs_natively:
        run = run_program(_as_exe(result))
        findings.expect(
            run.returncode == case.run_exit and run.output == case.run_stdout,
            f"./prog to exit {case.run_exit} printing {case.run_stdout!r}",
            f"exit {run.returncode}, printed {run.output!r}",
            result.variant,
        )


def _as_exe(result: CaseBuild) -> CaseBuild:
    return CaseBuild(result.case, result.variant, result.folder, result.steps, result.objects, None, "prog", None)


# --- per-file-flags -----------------------------------------------------------------------------------------------


def trace_callers(path: Path) -> set[str]:
    """Functions whose code holds a relocation against an ftrace hook (__fentry__, mcount).

    The final image keeps relocations only with ``--emit-relocs``; they name
    the hook, and the function is the symbol whose range holds the offset.
    """
    with path.open("rb") as handle:
        image = ELFFile(handle)
        symtab = image.get_section_by_name(".symtab")
        if not isinstance(symtab, SymbolTableSection):
            return set()
        functions = [
            (s["st_value"], s["st_size"], base_name(s.name))
            for s in symtab.iter_symbols()
            if s["st_info"]["type"] == "STT_FUNC" and s["st_size"] and s.name
        ]
        callers: set[str] = set()
        for section in image.iter_sections():
            if not isinstance(section, RelocationSection) or section["sh_link"] == 0:
                continue
            target = image.get_section(section["sh_info"])
            if not target["sh_flags"] & 0x4:  # SHF_EXECINSTR: code, not __mcount_loc tables
                continue
            symbols = image.get_section(section["sh_link"])
            for reloc in section.iter_relocations():
                if symbols.get_symbol(reloc["r_info_sym"]).name not in TRACE_HOOKS:
                    continue
                offset = reloc["r_offset"]
                callers.update(name for start, size, name in functions if start <= offset < start + size)
        return callers


X86_ENDBR64 = bytes.fromhex("f30f1efa")
X86_FRAME_SETUP = bytes.fromhex("554889e5")  # push %rbp; mov %rsp,%rbp


def frame_pointer_setup(path: Path, names: Sequence[str]) -> dict[str, bool]:
    """Whether each named x86_64 function starts by setting up %rbp (after an optional endbr64).

    -fno-omit-frame-pointer is a per-function code-generation choice; its
    cheapest proof is the prologue itself.
    """
    out: dict[str, bool] = {}
    with path.open("rb") as handle:
        image = ELFFile(handle)
        symtab = image.get_section_by_name(".symtab")
        if not isinstance(symtab, SymbolTableSection):
            return out
        for sym in symtab.iter_symbols():
            name = base_name(sym.name) if sym.name else ""
            if name not in names or sym["st_info"]["type"] != "STT_FUNC" or not isinstance(sym["st_shndx"], int):
                continue
            section = image.get_section(sym["st_shndx"])
            start = sym["st_value"] - section["sh_addr"]
            code = section.data()[start : start + 8]
            code = code.removeprefix(X86_ENDBR64)
            out[name] = out.get(name, False) or code.startswith(X86_FRAME_SETUP)
    return out


@register(
    "per-file-flags",
    "per-file flags (-pg -mfentry, -fno-omit-frame-pointer, -fno-lto, .S objects) survive LTO",
    {"traced": list, "untraced": list, "frame_pointer": list, "no_frame_pointer": list, "link_flags": dict},
    requires=("linker-plugin",),
)
def per_file_flags(ctx: Context, case: Case, findings: Findings) -> str:
    _require_x86_64(ctx, "the probe's __fentry__ hook")
    family = ctx.toolchain.family
    link_flags = list(case.expect.get("link_flags", {}).get(family, []))
    lto = build(ctx, case, "lto", link_flags=link_flags, tag="linkflags" if link_flags else "")
    if succeeded(lto, findings):
        _check_tracing(lto, case.expect, findings)
        check_program_runs(ctx, case, lto, findings)
    bare = build(ctx, case, "lto", tag="bare") if link_flags else lto
    findings.info["traced_without_link_flags"] = _tracing_fact(bare, case.expect.get("traced", []), link_flags)
    control = build(ctx, case, "control")
    if succeeded(control, findings):
        _check_tracing(control, case.control, findings)
        check_program_runs(ctx, case, control, findings)
    return lto.reproducer()


def _check_tracing(result: CaseBuild, table: Mapping[str, list], findings: Findings) -> None:
    assert result.output
    callers = trace_callers(result.path(result.output))
    traced, untraced = table.get("traced", []), table.get("untraced", [])
    shown = ", ".join(sorted(callers)) or "no function"
    findings.expect(
        all(n in callers for n in traced) and not any(n in callers for n in untraced),
        f"exactly {', '.join(traced)} to call __fentry__ (not {', '.join(untraced)})",
        f"{shown} call(s) __fentry__ (relocations in {result.output})",
        result.variant,
    )
    with_fp, without_fp = table.get("frame_pointer", []), table.get("no_frame_pointer", [])
    if with_fp or without_fp:
        setup = frame_pointer_setup(result.path(result.output), [*with_fp, *without_fp])
        wrong = [f"{n} {'sets up' if setup.get(n) else 'does not set up'} %rbp" for n in with_fp if not setup.get(n)]
        wrong += [f"{n} sets up %rbp" for n in without_fp if setup.get(n)]
        wrong += [f"{n} is not in {result.output}" for n in [*with_fp, *without_fp] if n not in setup]
        findings.expect(
            not wrong,
            f"exactly {', '.join(with_fp)} to start with push %rbp; mov %rsp,%rbp (not {', '.join(without_fp)})",
            ", ".join(wrong),
            result.variant,
        )


def _tracing_fact(result: CaseBuild, traced: Sequence[str], flags: Sequence[str]) -> str:
    if not result.ok:
        return "link failed: " + _first_error(result.failed)
    assert result.output
    callers = trace_callers(result.path(result.output))
    without = f"without {' '.join(flags) or 'ftrace flags'} at link time"
    if not callers:
        return f"lost: {without} no function calls __fentry__ (the link succeeds silently)"
    if all(n in callers for n in traced):
        return f"kept: {without} {', '.join(sorted(callers))} still call(s) __fentry__ (flags recorded per function)"
    return f"partly: only {', '.join(sorted(callers))} call __fentry__"
