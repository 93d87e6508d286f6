"""nm-symbols: nm under test lists the real symbols of LTO objects.

Build systems (the kernel's among them) run nm on objects; on a slim LTO
object plain ELF readers see only ``__gnu_lto_slim``, so nm must read the IR
through the plugin (gcc-nm, llvm-nm) or it lists nothing. The non-LTO
object, read with pyelftools, is the truth the listing is compared with.

Case keys (``[expect]``):

``listed``
    table ``{symbol = "T"}``: nm must list each name; ``"U"`` means
    undefined, any other letter means defined.
"""

from __future__ import annotations

from .. import elf
from ..cases import Case
from ..schema import Field, Str, TableOf
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_listing, extra_step, nm_listing, succeeded

SCHEMA = {"listed": Field(TableOf(Str, key_name="symbol"), required=True, expect_only=True)}


@register("nm-symbols", "nm under test lists the real symbols of LTO objects", SCHEMA, requires=("lto-ir",))
def nm_symbols(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    if not (succeeded(lto, findings) and succeeded(control, findings)):
        return lto.reproducer()
    wanted: dict[str, str] = case.expect["listed"]
    for source, obj in lto.objects.items():
        step = extra_step(ctx, lto, ctx.toolchain.nm, [obj], inputs=[obj])
        listing = nm_listing(step.output) if step.ok else {}
        check_listing(wanted, listing, step.output if not step.ok or not listing else "", findings, obj)
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
