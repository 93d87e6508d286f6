"""The core LTO properties: IR, the linker plugin, archives and nm.

The kernel's LTO notes start here: LTO needs objects that carry IR, a
linker that hands them to the plugin, and ar/nm that can read them (gcc-ar,
gcc-nm, llvm-ar, or binutils with a working plugin in bfd-plugins).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from .. import elf
from ..archive import read_index
from ..build import CaseBuild
from ..cases import Case
from ..process import run
from ..toolchain import Tool
from ..verdict import Findings
from . import Context, Skip, register
from .evidence import (
    build,
    check_plugin_idle,
    check_plugin_ran,
    check_program_runs,
    extra_step,
    nm_listing,
    succeeded,
)


def _objects(result: CaseBuild) -> list[Path]:
    return [result.path(o) for o in result.objects.values()]


@register("lto-ir", "-flto objects carry IR", {"ir": dict})
def lto_ir(ctx: Context, case: Case, findings: Findings) -> str:
    family = ctx.toolchain.family
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    wanted = case.expect["ir"].get(family)
    if wanted is None:
        raise Skip(f"the case names no IR kind for {family}")
    if succeeded(lto, findings):
        kinds = {o.name: elf.ir_kind(o).value for o in _objects(lto)}
        findings.info["ir"] = kinds
        wrong = {name: kind for name, kind in kinds.items() if kind != wanted}
        findings.expect(
            not wrong,
            f"every object to carry {wanted} IR",
            ", ".join(f"{name} is {kind}" for name, kind in wrong.items()),
        )
    if succeeded(control, findings):
        unwanted = case.control.get("ir", {}).get(family, "none")
        kinds = {o.name: elf.ir_kind(o).value for o in _objects(control)}
        findings.expect(
            all(k == unwanted for k in kinds.values()),
            f"objects built without -flto to be {unwanted}",
            ", ".join(f"{n} is {k}" for n, k in kinds.items()),
            where="control",
        )
    return lto.reproducer()


@register("linker-plugin", "the link went through the LTO plugin", {"resolved": list}, requires=("lto-ir",))
def linker_plugin(ctx: Context, case: Case, findings: Findings) -> str:
    flags = ctx.toolchain.save_temps_flags
    lto = build(ctx, case, "lto", link_flags=flags, tag="savetemps")
    control = build(ctx, case, "control", link_flags=ctx.toolchain.control_save_temps_flags, tag="savetemps")
    if succeeded(lto, findings):
        trace = check_plugin_ran(lto, case.expect["resolved"], findings)
        findings.info["resolution"] = trace.resolution_file
        findings.info["lto_outputs"] = list(trace.lto_outputs)
        check_program_runs(ctx, case, lto, findings)
    if succeeded(control, findings):
        check_plugin_idle(control, case.expect["resolved"], findings)
    return lto.reproducer()


@register("nm-symbols", "nm under test lists the real symbols of LTO objects", {"listed": dict}, requires=("lto-ir",))
def nm_symbols(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    if not (succeeded(lto, findings) and succeeded(control, findings)):
        return lto.reproducer()
    wanted: dict[str, str] = case.expect["listed"]
    for source, obj in lto.objects.items():
        step = extra_step(ctx, lto, ctx.toolchain.nm, [obj], inputs=[obj])
        listing = nm_listing(step.output) if step.ok else {}
        _compare_listing(wanted, listing, step.output if not step.ok or not listing else "", findings, obj)
        truth = elf.symbols_of(control.path(control.objects[source]))
        defined_truth = {s.name for s in truth if s.defined}
        undefined_truth = {s.name for s in truth if not s.defined}
        findings.expect(
            all(name in (undefined_truth if kind == "U" else defined_truth) for name, kind in wanted.items()),
            "the non-LTO object (read with pyelftools) to define what the case lists and reference its U names",
            f"defines {', '.join(sorted(defined_truth))}; undefined {', '.join(sorted(undefined_truth)) or 'none'}",
            where="control",
        )
        visible = set(elf.global_definitions(lto.path(obj)))
        leaked = sorted(n for n, k in wanted.items() if k != "U" and n in visible)
        findings.expect(
            ctx.toolchain.family != "gcc" or elf.ir_kind(lto.path(obj)) != elf.IRKind.GCC_SLIM or not leaked,
            "a slim LTO object's ELF symbol table to hide the real symbols (only nm's plugin can see them)",
            ", ".join(leaked),
            where="control",
        )
    return lto.reproducer()


def _compare_listing(wanted: dict[str, str], listing: dict[str, str], raw: str, findings: Findings, obj: str) -> None:
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


@register("archive-index", "the archiver indexes LTO members", {"indexed": list, "resolved": list}, ("linker-plugin",))
def archive_index(ctx: Context, case: Case, findings: Findings) -> str:
    assert case.archive is not None, f"{case.id}: archive-index cases need [archive]"
    flags = ctx.toolchain.save_temps_flags
    lto = build(ctx, case, "lto", link_flags=flags, tag="savetemps")
    control = build(ctx, case, "control", link_flags=ctx.toolchain.control_save_temps_flags, tag="savetemps")
    if lto.archive and lto.path(lto.archive).is_file():
        index = read_index(lto.path(lto.archive))
        findings.info["index"] = list(index.symbols)
        missing = [s for s in case.expect["indexed"] if s not in index.symbols]
        findings.expect(
            not missing,
            f"the index of {lto.archive} ({ctx.toolchain.ar.name}) to hold {', '.join(case.expect['indexed'])}",
            f"index holds {', '.join(index.symbols) or 'nothing'}",
        )
    if succeeded(lto, findings):
        check_plugin_ran(lto, case.expect["resolved"], findings)
        check_program_runs(ctx, case, lto, findings)
    if succeeded(control, findings):
        check_plugin_idle(control, case.expect["resolved"], findings)
    return lto.reproducer()


@register("thin-archive", "thin archives of LTO objects link", {"resolved": list}, requires=("archive-index",))
def thin_archive(ctx: Context, case: Case, findings: Findings) -> str:
    assert case.archive is not None and case.archive.thin, f"{case.id}: thin-archive cases need a thin [archive]"
    flags = ctx.toolchain.save_temps_flags
    lto = build(ctx, case, "lto", link_flags=flags, tag="savetemps")
    control = build(ctx, case, "control", link_flags=ctx.toolchain.control_save_temps_flags, tag="savetemps")
    if lto.archive and lto.path(lto.archive).is_file():
        index = read_index(lto.path(lto.archive))
        findings.expect(index.thin, f"{lto.archive} to be a thin archive (!<thin>)", "a normal archive")
    if succeeded(lto, findings):
        check_plugin_ran(lto, case.expect["resolved"], findings)
        check_program_runs(ctx, case, lto, findings)
    if succeeded(control, findings):
        check_plugin_idle(control, case.expect["resolved"], findings)
    return lto.reproducer()


def _plugin_dir(program: Path) -> Path:
    """binutils auto-loads every plugin in <bindir>/../lib/bfd-plugins."""
    return program.resolve().parent.parent / "lib" / "bfd-plugins"


def _binutils_tool(name: str) -> Tool:
    found = shutil.which(name)
    if not found:
        raise Skip(f"no {name} on PATH")
    path = Path(found)
    version = run([found, "--version"], cwd=Path.cwd(), timeout=10)
    if not version.output.startswith(f"GNU {name}"):
        raise Skip(f"{found} is not GNU binutils {name} ({version.output.splitlines()[:1]})")
    plugins = sorted(_plugin_dir(path).glob("*.so")) if _plugin_dir(path).is_dir() else []
    stamp = [f"{p.name}:{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in plugins if p.exists()]
    real = path.resolve()
    identity = hashlib.sha256(
        "\0".join([str(real), str(real.stat().st_mtime_ns), version.output, *stamp]).encode()
    ).hexdigest()[:16]
    return Tool((found,), path, identity)


@register("system-binutils", "plain binutils ar/nm auto-load a plugin for this IR", {"listed": dict}, ("lto-ir",))
def system_binutils(ctx: Context, case: Case, findings: Findings) -> str:
    nm, ar = _binutils_tool("nm"), _binutils_tool("ar")
    lto = build(ctx, case, "lto")
    if not succeeded(lto, findings):
        return lto.reproducer()
    plugin_dir = _plugin_dir(nm.path)
    plugins = sorted(p for p in plugin_dir.glob("*.so")) if plugin_dir.is_dir() else []
    findings.info["bfd_plugins"] = [p.name for p in plugins]
    wanted: dict[str, str] = case.expect["listed"]
    for obj in lto.objects.values():
        step = extra_step(ctx, lto, nm, [obj], inputs=[obj])
        listing = nm_listing(step.output) if step.ok else {}
        before = len(findings.problems)
        _compare_listing(wanted, listing, step.output, findings, obj)
        if len(findings.problems) > before:
            findings.notes.append(_diagnose_plugins(ctx, lto, nm, obj, plugins, wanted))
        archive = "libsystem.a"
        step = extra_step(ctx, lto, ar, ["rcs", archive, obj], inputs=[obj])
        if step.ok:
            index = read_index(lto.path(archive))
            defined = [n for n, k in wanted.items() if k != "U"]
            findings.expect(
                all(n in index.symbols for n in defined),
                f"ar's index of {archive} to hold {', '.join(defined)}",
                f"index holds {', '.join(index.symbols) or 'nothing'}",
            )
        else:
            findings.expect(False, f"{ar.path} rcs {archive} {obj} to succeed", step.describe_failure())
    return lto.reproducer()


def _diagnose_plugins(
    ctx: Context, result: CaseBuild, nm: Tool, obj: str, plugins: list[Path], wanted: dict[str, str]
) -> str:
    """Which plugin in bfd-plugins reads this IR, and which one breaks it."""
    if not plugins:
        return f"{_plugin_dir(nm.path)} holds no plugin, so binutils cannot read LTO objects"
    verdicts = []
    for plugin in plugins:
        step = extra_step(ctx, result, nm, ["--plugin", str(plugin), obj], inputs=[obj])
        listing = nm_listing(step.output)
        works = all(n in listing for n in wanted)
        complaint = next((ln for ln in step.output.splitlines() if "plugin" in ln.lower()), "")
        verdicts.append(
            f"{plugin.name}: {'reads it' if works else 'does not'}" + (f" ({complaint})" if complaint else "")
        )
    return (
        f"binutils auto-loads every plugin in {_plugin_dir(nm.path)}; the first to claim the file wins. "
        + "; ".join(verdicts)
    )
