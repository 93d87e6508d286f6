"""kernel-image: a small kernel-style LTO image, built as kbuild links a kernel and booted in QEMU.

The case (``cases/kernel-image/<case>/``) is a 32-bit multiboot image in
subsystem folders with a linker script; ``harness.image`` builds it (thin
archives, ``-r``, the final link with the script) with LTO and without
(the control) and boots both under QEMU. The image reports over the serial
port what it observed (initcall order by level, exported symbols looked up
by name and called, ``__crc_`` values, ``__fentry__`` calls, self-test
results) and leaves QEMU through ``isa-debug-exit``; the check compares that
report with the case, for both builds, and proves LTO against the control:
IR in the objects, a function of one subsystem inlined into another in the
image's DWARF, unreferenced functions gone, and for GCC at least N LTRANS
partitions. Failures name the broken idiom ("initcall level 6 ran before
level 4", "`__crc_kimage_add` is 0x0, expected 0x1234abcd").

Keys of ``[expect]`` (the build layout and the run-time report apply to both
builds; ``[control]`` holds the control's proofs only):

| key | meaning |
|---|---|
| ``head`` | sources linked directly, first (kbuild's head objects) |
| ``linker_script`` | the final link's script |
| ``family_cflags`` | ``{gcc = [...], clang = [...]}``: extra compile flags per compiler family |
| ``link_flags`` | ``{gcc = [...]}``: extra flags of the LTO build's final link |
| ``exit_status`` | QEMU's exit code when the image ends through isa-debug-exit (``(value << 1) | 1``) |
| ``boot_timeout`` | seconds before QEMU is killed |
| ``magic`` | the multiboot magic the C code must see (hex) |
| ``initcalls`` | ``[{level, fn, file}]`` in the order they must run |
| ``exports`` | ``{name = value}``: what each exported symbol, looked up by name and called, returns |
| ``crcs`` | ``{name = "0x..."}``: the ``__crc_<name>`` absolute symbols |
| ``selftests`` | ``{name = "0x..."}``: results of the self-tests in the ``__start_``/``__stop_`` table |
| ``selftest_about`` | ``{name = "..."}``: what a self-test exercises, for its failure message |
| ``fentry_calls`` | calls counted by ``__fentry__`` |
| ``ir`` | ``{gcc = "gcc-slim", clang = "llvm-bitcode"}``: IR kind of every LTO-compiled C object |
| ``min_partitions`` | ``{gcc = 4}``: LTRANS partitions GCC's final link must make |
| ``inlined`` | ``[{callee, from_file, into}]`` from the image's DWARF (``[]``: no cross-file inlining) |
| ``absent``, ``present`` | functions that must be gone from / kept in the image |
| ``frame_pointer``, ``no_frame_pointer`` | functions that must / must not start with ``push %ebp; mov %esp,%ebp`` |
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import dwarf, elf, image, pyelf
from ..cases import Case
from ..image_report import initcall_problems, parse_report
from ..schema import Field, Int, ListOf, OneOf, PerFamily, Record, Source, Str, TableOf
from ..verdict import Findings
from . import Context, Skip, register

I386_FRAME_SETUP = bytes.fromhex("5589e5")  # push %ebp; mov %esp,%ebp
ENDBR32 = bytes.fromhex("f30f1efb")
LINKERS_WITH_FULL_SCRIPTS = ("bfd", "lld")


HEX = Str
IR_KINDS = OneOf(tuple(kind.value for kind in elf.IRKind if kind != elf.IRKind.NOT_AN_OBJECT))
INITCALL = Record(
    {"level": Field(Int, required=True), "fn": Field(Str, required=True), "file": Field(Source(), required=True)}
)
INLINED = Record(
    {
        "callee": Field(Str, required=True),
        "from_file": Field(Source(), required=True),
        "into": Field(Str, required=True),
    }
)
SCHEMA = {
    "head": Field(ListOf(Source()), default=[], expect_only=True),
    "linker_script": Field(Source(exists=True), default="image.lds", expect_only=True),
    "family_cflags": Field(PerFamily(ListOf(Str), default=[]), expect_only=True),
    "link_flags": Field(PerFamily(ListOf(Str), default=[]), expect_only=True),
    "exit_status": Field(Int, required=True, expect_only=True),
    "boot_timeout": Field(Int, default=60, expect_only=True),
    "magic": Field(HEX, expect_only=True),
    "initcalls": Field(ListOf(INITCALL, min_items=1), required=True, expect_only=True),
    "exports": Field(TableOf(Int, key_name="symbol"), default={}, expect_only=True),
    "crcs": Field(TableOf(HEX, key_name="symbol"), default={}, expect_only=True),
    "selftests": Field(TableOf(HEX, key_name="self-test"), default={}, expect_only=True),
    "selftest_about": Field(TableOf(Str, key_name="self-test"), default={}, expect_only=True),
    "fentry_calls": Field(Int, expect_only=True),
    "ir": Field(PerFamily(IR_KINDS)),
    "min_partitions": Field(PerFamily(Int), default={}, expect_only=True),
    "inlined": Field(ListOf(INLINED)),
    "absent": Field(ListOf(Str), default=[]),
    "present": Field(ListOf(Str), default=[]),
    "frame_pointer": Field(ListOf(Str), default=[]),
    "no_frame_pointer": Field(ListOf(Str), default=[]),
}


@register(
    "kernel-image",
    "a kernel-style LTO image (multiboot, linker script, initcalls, ksymtab, __crc_, -r of thin archives) boots",
    SCHEMA,
    requires=("linker-plugin",),
)
def kernel_image(ctx: Context, case: Case, findings: Findings) -> str:
    tc = ctx.toolchain
    try:
        image.qemu_binary()
    except image.NoQemu as exc:
        raise Skip(f"cannot boot the image: {exc}") from None
    spec = case.expect
    plan = image.layout(case, spec.get("head", []), spec.get("linker_script", "image.lds"))

    def build(variant: str) -> image.ImageBuild:
        how = image.recipe(
            case,
            tc,
            variant,
            family_cflags=spec.get("family_cflags", {}),
            family_link_flags=spec.get("link_flags", {}),
        )
        return image.build_image(case, tc, variant, ctx.workspace, ctx.cache, plan, how)

    # Each build is serial in its own folder; the two side by side keep two cores busy.
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {variant: pool.submit(build, variant) for variant in ("lto", "control")}
        builds = {variant: future.result() for variant, future in futures.items()}
    lto = builds["lto"]
    _skip_if_script_unsupported(tc.linker, plan.linker_script, lto)
    booted = {name: b for name, b in builds.items() if _built(b, findings)}
    timeout = float(spec.get("boot_timeout", image.BOOT_TIMEOUT))
    with ThreadPoolExecutor(max_workers=2) as pool:
        boots = {
            name: pool.submit(image.boot, b.path(b.image), b.path("console.log"), timeout=timeout)
            for name, b in booted.items()
            if b.image
        }
        for name, b in booted.items():
            _check_objects(tc.family, case, plan, b, case.expect if name == "lto" else case.control, findings)
            _check_image(b, case.expect if name == "lto" else case.control, findings)
        if "lto" in booted and tc.family == "gcc":
            _check_partitions(lto, spec.get("min_partitions", {}).get("gcc"), findings)
        results = {name: future.result() for name, future in boots.items()}
    for name, boot in results.items():
        findings.info[f"{name}_boot_seconds"] = round(boot.seconds, 2)
        findings.info[f"{name}_console_log"] = str(boot.console_log)
        findings.info["accel"] = boot.accel
        _check_report(spec, boot, findings, name)
    commands = [lto.reproducer()]
    if "lto" in results:
        commands.append(f"$ {results['lto'].command}")
    return "\n".join(commands)


def _built(build: image.ImageBuild, findings: Findings) -> bool:
    if build.failed is None:
        return True
    tail = "\n".join("            " + line for line in build.failed.describe_failure().splitlines())
    findings.expect(
        False, f"the {build.variant} build of the image to succeed", f"a step failed:\n{tail}", build.variant
    )
    return False


def _skip_if_script_unsupported(linker: str, script: str, build: image.ImageBuild) -> None:
    """gold and mold implement only part of GNU ld's script language: a skip that quotes them."""
    failed = build.failed
    if failed is None or linker in LINKERS_WITH_FULL_SCRIPTS:
        return
    if not any(script in a for a in failed.argv):
        return
    lines = [ln.strip() for ln in failed.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.search(r"\b(error|fatal)\b", ln) and "collect2" not in ln]
    quoted = next((ln for ln in errors if script in ln or "script" in ln), None)
    if quoted is None:
        return
    after = lines[lines.index(quoted) + 1 :]
    caret = after[0] if after and after[0].startswith("^") else ""
    raise Skip(f"{linker} cannot link with the image's linker script: {quoted}{' ' + caret if caret else ''}")


# --- what the objects and the image show -------------------------------------------------------------------------


def _opted_out(case: Case, source: str) -> bool:
    """kbuild's way: -fno-lto appended after -flto."""
    flags = case.file_flags(source).cflags
    return "-fno-lto" in flags or not source.endswith(".c")


def _check_objects(
    family: str, case: Case, plan: image.Layout, build: image.ImageBuild, table: Mapping[str, Any], findings: Findings
) -> None:
    where = build.variant
    wanted = table.get("ir", {}).get(family)
    if wanted is None:
        return
    wrong = []
    for source, obj in build.objects.items():
        kind = elf.ir_kind(build.path(obj))
        if _opted_out(case, source):
            if kind != elf.IRKind.NONE:
                why = "-fno-lto after -flto was lost" if source.endswith(".c") else "an assembler object"
                wrong.append(f"{obj} holds {kind} IR, expected machine code ({why})")
        elif kind != wanted:
            wrong.append(f"{obj} holds {kind}, expected {wanted}")
    findings.expect(
        not wrong,
        f"every LTO-compiled C object to hold {wanted}; the -fno-lto and .S objects machine code",
        "; ".join(wrong),
        where,
    )
    if where == "lto" and family == "gcc":
        lost = [r for r in build.relocatables if elf.ir_kind(build.path(r)) == elf.IRKind.NONE]
        findings.expect(
            not lost,
            "each subsystem's -r object to keep the IR for the final LTO link (GCC incremental LTO)",
            f"{', '.join(lost)} hold(s) machine code only",
            where,
        )


def _check_partitions(build: image.ImageBuild, minimum: int | None, findings: Findings) -> None:
    if not minimum or build.final_link is None:
        return
    count = image.ltrans_partitions(build.final_link)
    findings.info["ltrans_partitions"] = count
    findings.expect(
        count >= minimum,
        f"GCC's balanced partitioner to cut the image into at least {minimum} LTRANS partitions",
        f"{count} LTRANS unit(s) in the final link's -v output",
    )


def _function_starts(path: Path, names: Sequence[str]) -> dict[str, bytes]:
    """The first bytes of each named function (its first symbol, clone suffixes dropped), ENDBR32 skipped.

    The symbols come from the bulk reader (already read for the image's
    other checks); pyelftools reads only the sections they are in.
    """
    wanted = [
        s
        for s in elf.symbols_of(path)
        if s.type == "STT_FUNC" and s.section_index is not None and s.name.split(".", 1)[0] in names
    ]
    out: dict[str, bytes] = {}
    if not wanted:
        return out
    with path.open("rb") as handle:
        elf_file = pyelf.ELFFile(handle)
        sections: dict[int, tuple[int, bytes]] = {}
        for sym in wanted:
            if sym.section_index not in sections:
                section = elf_file.get_section(sym.section_index)
                sections[sym.section_index] = (section["sh_addr"], section.data())
            address, data = sections[sym.section_index]
            start = sym.value - address
            out.setdefault(sym.name.split(".", 1)[0], data[start : start + 8].removeprefix(ENDBR32))
    return out


def _check_image(build: image.ImageBuild, table: Mapping[str, Any], findings: Findings) -> None:
    assert build.image
    path = build.path(build.image)
    where = build.variant
    defined = {s.name.split(".", 1)[0] for s in elf.symbols_of(path) if s.defined and s.type == "STT_FUNC"}
    for name in table.get("absent", []):
        findings.expect(
            name not in defined, f"unreferenced {name} gone from the image", f"{name} is still defined", where
        )
    for name in table.get("present", []):
        findings.expect(name in defined, f"{name} in the image", f"{name} is not defined", where)
    with_fp, without_fp = table.get("frame_pointer", []), table.get("no_frame_pointer", [])
    if with_fp or without_fp:
        starts = _function_starts(path, [*with_fp, *without_fp])
        wrong = [
            f"{n} does not set up %ebp"
            for n in with_fp
            if not starts.get(n, I386_FRAME_SETUP).startswith(I386_FRAME_SETUP)
        ]
        wrong += [f"{n} sets up %ebp" for n in without_fp if starts.get(n, b"").startswith(I386_FRAME_SETUP)]
        wrong += [f"{n} is not in the image" for n in [*with_fp, *without_fp] if n not in starts]
        findings.expect(
            not wrong,
            f"the per-file -O level kept: {', '.join(with_fp)} (built at -O0) start with push %ebp; mov %esp,%ebp, "
            f"{', '.join(without_fp)} (-O2) do not",
            "; ".join(wrong),
            where,
        )
    if "inlined" in table:
        edges = [e for e in dwarf.inlined_edges(path) if e.cross_file]
        wanted = table["inlined"]
        for item in wanted:
            hit = any(e.callee == item["callee"] and e.caller == item["into"] for e in edges)
            into = sorted({f"{e.callee} ({e.callee_file})" for e in edges if e.caller == item["into"]})
            findings.expect(
                hit,
                f"{item['callee']} ({item['from_file']}) inlined across subsystems into {item['into']} (DWARF)",
                f"into {item['into']}: {', '.join(into)}" if into else f"no cross-file inlining into {item['into']}",
                where,
            )
        if not wanted:
            shown = sorted({f"{e.callee} ({e.callee_file}) into {e.caller}" for e in edges})
            findings.expect(not edges, "no cross-file inlining", "; ".join(shown[:5]), where)


# --- what the image reported (parsed by image_report) ----------------------------------------------------------


def _hex(value: str | int) -> int:
    return value if isinstance(value, int) else int(value, 16)


def _check_report(spec: Mapping[str, Any], boot: image.Boot, findings: Findings, where: str) -> None:
    status = spec.get("exit_status", 0)
    tail = "\n".join("            " + ln for ln in boot.console_tail().splitlines())
    if boot.timed_out:
        findings.expect(
            False, "the image to boot and end QEMU by itself", f"QEMU timed out; console tail:\n{tail}", where
        )
        return
    report = parse_report(boot.report)
    if boot.exit_status != status:
        findings.expect(
            False,
            f"QEMU to exit with {status} (the image's isa-debug-exit success status)",
            f"QEMU exited with {boot.exit_status}; console tail:\n{tail}",
            where,
        )
        if not report["done"]:
            return
    if "magic" in spec:
        seen = report.get("magic")
        findings.expect(
            seen == _hex(spec["magic"]),
            f"start_kernel (called from the .S entry through file-scope asm) to see multiboot magic {spec['magic']}",
            "no boot line" if seen is None else f"magic {seen:#x}",
            where,
        )
        findings.expect(
            report.get("init_sections", False),
            "__init code and __initdata between __init_begin and __init_end (.init.text/.init.data)",
            "they are outside the init range",
            where,
        )
    if "initcalls" in spec:
        expected = spec["initcalls"]
        problems = initcall_problems(expected, report["initcalls"])
        order = ", ".join(f"{e['level']} {e['fn']}" for e in expected)
        findings.expect(not problems, f"initcalls by level, then link order: {order}", "; ".join(problems), where)
        total, inside = report.get("initcall_table", (0, 0))
        findings.expect(
            inside == total,
            "every initcall function in .init.text",
            f"{total - inside} of {total} initcall(s) point outside __init_begin..__init_end",
            where,
        )
    for name, value in spec.get("exports", {}).items():
        seen = report["exports"].get(name)
        if seen is None:
            held = report.get("ksymtab")
            findings.expect(
                False,
                f"exported symbol {name} in __ksymtab, returning {value} when looked up by name and called",
                f"exported symbol {name} missing from the table"
                + (f" (__ksymtab holds {held} entries)" if held is not None else ""),
                where,
            )
        else:
            findings.expect(
                seen == value,
                f"{name}, looked up in __ksymtab and called, to return {value}",
                f"it returned {seen}",
                where,
            )
    for name, value in spec.get("crcs", {}).items():
        seen = report["crcs"].get(name)
        if name not in report["exports"] or report["exports"][name] is None:
            continue
        findings.expect(
            seen == _hex(value),
            f"`__crc_{name}` (.set in toplevel asm, read from C as an address) to be {value}",
            f"`__crc_{name}` is {'not reported' if seen is None else hex(seen)}, expected {value}",
            where,
        )
    about = spec.get("selftest_about", {})
    for name, value in spec.get("selftests", {}).items():
        seen = report["selftests"].get(name)
        what = f", which {about[name]}" if name in about else ""
        findings.expect(
            seen == _hex(value),
            f"self-test {name}{what} (in the __start_kimage_selftests..__stop_kimage_selftests table) "
            f"to return {value}",
            f"it did not run ({len(report['selftests'])} self-test(s) in the table)"
            if seen is None
            else f"it returned {seen:#x}",
            where,
        )
    if "fentry_calls" in spec:
        seen = report.get("fentry_calls")
        findings.expect(
            seen == spec["fentry_calls"],
            f"{spec['fentry_calls']} calls counted by __fentry__ (the -pg -mfentry file's functions, and only those)",
            f"{seen} calls" if seen is not None else "no count reported",
            where,
        )
    findings.expect(report["done"], "the image to report 'done'", "it stopped before the end of its report", where)
