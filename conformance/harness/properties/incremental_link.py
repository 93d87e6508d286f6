"""incremental-link: ``-r`` links of LTO objects keep working (IR kept or nolto-rel).

The kernel links each directory into a thin archive (built-in.a), all of
them with ``ld -r --whole-archive`` into vmlinux.o, and vmlinux from that.
Under LTO the ``-r`` step must keep the IR for the final link (GCC's
incremental LTO) or generate code (clang, GCC ``-flinker-output=nolto-rel``),
but never lose symbols. The case's own link is the ``-r`` step
(``link = "relocatable"``, output ``combined.o``); the check then links
``combined.o`` into ``prog`` with the case's flags (the LTO flags again in
the LTO variant) and runs it (``[run]``).

Case keys (``[expect]`` / ``[control]``):

``r_flags``
    ``[expect]`` only, list: flags of the ``-r`` step (``-Wl,--whole-archive``);
    the control takes them without ``-flinker-output=*``.
``defines``
    list of symbols the ``-r`` output must define (ELF symtab, or the nm
    under test when it still holds IR).
``keeps``
    table ``{gcc = "ir" | "code", clang = ...}``: what the ``-r`` output must
    hold for that family (absent: not judged; info ``r_output`` says which).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .. import elf
from ..build import CaseBuild, link_arguments
from ..cases import Case
from ..schema import Field, ListOf, OneOf, PerFamily, Str
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_program_runs, extra_step, first_error, nm_listing, succeeded


@register(
    "incremental-link",
    "-r links of LTO objects keep working (IR kept or nolto-rel)",
    {
        "r_flags": Field(ListOf(Str), default=[], expect_only=True),
        "defines": Field(ListOf(Str), default=[]),
        "keeps": Field(PerFamily(OneOf(("ir", "code")))),
    },
    # The -r output's symbols come from the nm under test when it still holds IR.
    requires=("thin-archive", "nm-symbols/symbols"),
    needs={"link": "relocatable"},
)
def incremental_link(ctx: Context, case: Case, findings: Findings) -> str:
    r_flags = case.expect["r_flags"]
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
    wanted: list[str] = table["defines"]  # type: ignore[assignment]
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
    assert result.output
    args = link_arguments(ctx.toolchain, case, result.variant, [result.output], "prog")
    step = extra_step(ctx, result, ctx.toolchain.cc, args, inputs=[result.output])
    if not findings.expect(step.ok, f"the final link of {result.output} to succeed", first_error(step), result.variant):
        return
    check_program_runs(ctx, case, result, findings, program="prog")
