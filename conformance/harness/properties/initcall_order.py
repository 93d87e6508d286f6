"""initcall-order: order-sensitive tables keep link order under LTO as the kernel requires.

Initcalls run in link order within each level and depend on each other.
LTO re-emits the program in its own order, so the kernel keeps the order
with a generated linker script (Clang LTO, ``.tmp_initcalls.lds``) or with
``no_reorder`` on every initcall (the GCC LTO patches). The order is read
from the final ELF: the named sections hold pointer-sized words, named
through ``.symtab``; cases build non-PIE (``-fno-pie``, ``-no-pie``) so the
words are final addresses.

Case keys (``[expect]`` / ``[control]``):

``tables``
    list of sections holding the pointer tables, read in this order.
``order``
    list of function names (base names) the tables must hold, in order.
    In ``[control]``: judged only when given; the order found is always
    recorded (info ``control_order``).
``link_variants``
    ``[expect]`` only, table ``{gcc = [...], clang = [...]}``: LTO link
    flags, one string per judged link (shlex-split; ``""`` = plain).
    Default ``[""]``; ``[]`` judges nothing.
``recorded_variants``
    ``[expect]`` only, table like ``link_variants``: more LTO links whose
    order is only recorded (info ``order``, plus a note when it is not link
    order).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from .. import elf
from ..build import CaseBuild
from ..cases import Case
from ..schema import Field, ListOf, PerFamily, Str
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_program_runs, first_error, succeeded, variant_tag


def pointer_table(path: Path, sections: Sequence[str]) -> list[str] | None:
    """The function names a table of pointers points at, in section order; None if a section is missing.

    Reads the final image the way the kernel's do_initcalls walks it: each
    pointer-sized word is an address, named through the symbol table. Cases
    link non-PIE: in a PIE the words are only filled in by dynamic relocations.
    """
    names: dict[int, str] = {}
    for symbol in elf.symbols_of(path):
        if symbol.type == "STT_FUNC":
            names.setdefault(symbol.value, symbol.base)
    out: list[str] = []
    for name in sections:
        words = elf.pointer_words(path, name)
        if words is None:
            return None
        out += [names.get(address, hex(address)) for address in words]
    return out


def _describe_order(found: list[str] | None, tables: Sequence[str]) -> str:
    if found is None:
        return f"no section {' / '.join(tables)} in the image"
    return " ".join(found) or "an empty table"


@register(
    "initcall-order",
    "order-sensitive tables keep link order under LTO as the kernel requires",
    {
        "tables": Field(ListOf(Str), required=True),
        "order": Field(ListOf(Str), required=True),
        "link_variants": Field(
            PerFamily(ListOf(Str), default=[""]), default={"gcc": [""], "clang": [""]}, expect_only=True
        ),
        "recorded_variants": Field(
            PerFamily(ListOf(Str), default=[]), default={"gcc": [], "clang": []}, expect_only=True
        ),
    },
    requires=("linker-plugin",),
)
def initcall_order(ctx: Context, case: Case, findings: Findings) -> str:
    family = ctx.toolchain.family
    tables, wanted = case.expect["tables"], case.expect["order"]
    judged = case.expect["link_variants"][family]
    recorded = case.expect["recorded_variants"][family]
    orders: dict[str, str] = {}
    first: CaseBuild | None = None
    shown: CaseBuild | None = None  # the first judged variant whose order is wrong: its commands reproduce it
    for flags in [*judged, *recorded]:
        label = flags or "default"
        result = build(ctx, case, "lto", link_flags=shlex.split(flags), tag=variant_tag(flags))
        first = first or result
        is_judged = flags in judged
        if not result.ok:
            if is_judged:
                succeeded(result, findings)
            else:
                orders[label] = "link failed: " + first_error(result.failed)
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
