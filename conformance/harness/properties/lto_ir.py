"""lto-ir: ``-flto`` objects carry the compiler's IR.

The kernel's LTO notes start here: LTO needs objects that carry IR instead
of (slim) or beside (fat) machine code. GCC writes ``.gnu.lto_*`` sections
(slim ones with the marker symbol ``__gnu_lto_slim``), clang LLVM bitcode,
or with ``-ffat-lto-objects`` an ELF with ``.llvm.lto``.

Case keys (``[expect]`` / ``[control]``):

``ir``
    table ``{gcc = KIND, clang = KIND}``: the IR kind every object must have,
    per compiler family (kinds: ``none``, ``gcc-slim``, ``gcc-fat``,
    ``llvm-bitcode``, ``llvm-fat``). The control defaults to ``none``.
    ``gcc-fat`` where ``gcc-slim`` is expected passes with a note: fat
    objects carry IR, and GCC writes them when it does not expect the
    linker plugin, which is linker-plugin's to judge.
"""

from __future__ import annotations

from pathlib import Path

from .. import elf
from ..build import CaseBuild
from ..cases import Case
from ..schema import Field, OneOf, PerFamily
from ..verdict import Findings
from . import Context, Skip, register
from .evidence import build, succeeded


def _objects(result: CaseBuild) -> list[Path]:
    return [result.path(o) for o in result.objects.values()]


IR_KINDS = tuple(k.value for k in elf.IRKind if k != elf.IRKind.NOT_AN_OBJECT)


@register("lto-ir", "-flto objects carry IR", {"ir": Field(PerFamily(OneOf(IR_KINDS)), required=True)})
def lto_ir(ctx: Context, case: Case, findings: Findings) -> str:
    family = ctx.toolchain.family
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    wanted = case.expect["ir"].get(family)
    if wanted is None:
        raise Skip(f"the case names no IR kind for {family}")
    if succeeded(lto, findings):
        kinds = {o.name: elf.ir_kind(o).value for o in _objects(lto)}
        findings.info["ir"] = kinds
        fat_not_slim = {name for name, kind in kinds.items() if wanted == "gcc-slim" and kind == "gcc-fat"}
        if fat_not_slim:
            findings.notes.append(
                f"{', '.join(sorted(fat_not_slim))}: gcc-fat where gcc-slim is expected; fat objects carry IR too, and "
                "GCC writes them when it does not expect the linker plugin (linker-plugin says whether it runs)"
            )
        wrong = {name: kind for name, kind in kinds.items() if kind != wanted and name not in fat_not_slim}
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
