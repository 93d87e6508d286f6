"""section-placement: explicit sections and ``__start_``/``__stop_`` tables survive LTO.

The kernel puts code and data in explicit sections (``.init.text``,
``.init.data``) and builds tables of static ``__used`` entries in named
sections that it walks between ``__start_``/``__stop_`` bounds or that a
linker script KEEPs. LTO merges files and drops what C does not reference,
so every entry must survive and stay in its section; ``[run] stdout``
proves the program walks the table. Cases with a linker script list the
linkers that take it in ``[requires] linkers``.

Case keys (``[expect]`` / ``[control]``):

``placed``
    table ``{symbol = "section"}``: each symbol (base name) of the linked
    program must be in that section (read from ``.symtab``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import elf
from ..build import CaseBuild
from ..cases import Case
from ..schema import Field, Str, TableOf
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_program_runs, succeeded


@register(
    "section-placement",
    "explicit sections and __start_/__stop_ tables survive LTO",
    {"placed": Field(TableOf(Str, key_name="symbol"), default={})},
    requires=("linker-plugin",),
)
def section_placement(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    for result, table in ((lto, case.expect), (control, case.control)):
        if succeeded(result, findings):
            _check_placement(result, table["placed"], findings)
            check_program_runs(ctx, case, result, findings)
    return lto.reproducer()


def _check_placement(result: CaseBuild, placed: Mapping[str, str], findings: Findings) -> None:
    assert result.output
    have = elf.symbols_by_base(result.path(result.output))
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
