"""toplevel-asm: asm-only references to C symbols resolve when annotated as the kernel does.

The kernel's entry code and many arch files are file-scope asm that calls C
functions and reads C data. LTO only sees references made from C, so a
symbol used only by asm may be dropped or made local; the kernel marks such
symbols ``__visible`` and ``__used``. The probes' asm is x86_64 code: their
cases say ``[requires] arch = ["x86_64"]``.

Case keys (``[expect]`` / ``[control]``):

``links``
    bool, default true: the build must link; with ``[run]`` it must also
    print ``stdout``.
``defined``
    list of symbols (base names, ``.lto_priv.N`` etc. ignored) the linked
    program must define.
``record``
    ``[expect]`` only, str: do not judge the LTO link; record "resolved" /
    "not resolved: ..." under this info key (a fact about the toolchain).
    If it links, it must still run right.
``link_variants``
    ``[expect]`` only, table ``{gcc = [...], clang = [...]}``: extra LTO link
    flags, one string per link (shlex-split; ``""`` = plain); default ``[""]``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from .. import elf
from ..build import CaseBuild
from ..cases import Case
from ..schema import Bool, Field, ListOf, PerFamily, Str
from ..verdict import Findings
from . import Context, register
from .evidence import UNDEFINED_REFERENCE, build, check_program_runs, first_error, succeeded, variant_tag


def _check_defined(result: CaseBuild, names: Sequence[str], findings: Findings) -> None:
    if not names or not result.ok or not result.output:
        return
    have = elf.symbols_by_base(result.path(result.output))
    missing = [n for n in names if n not in have]
    findings.expect(
        not missing,
        f"{', '.join(names)} defined in {result.output}",
        f"missing: {', '.join(missing)}",
        result.variant,
    )


@register(
    "toplevel-asm",
    "asm-only references to C symbols resolve when annotated as the kernel does",
    {
        "links": Field(Bool, default=True),
        "defined": Field(ListOf(Str), default=[]),
        "record": Field(Str, expect_only=True),
        "link_variants": Field(
            PerFamily(ListOf(Str), default=[""]), default={"gcc": [""], "clang": [""]}, expect_only=True
        ),
    },
    requires=("linker-plugin",),
)
def toplevel_asm(ctx: Context, case: Case, findings: Findings) -> str:
    record = case.expect.get("record")
    variants = case.expect["link_variants"][ctx.toolchain.family]
    outcomes: dict[str, str] = {}
    first: CaseBuild | None = None
    for flags in variants:
        lto = build(ctx, case, "lto", link_flags=shlex.split(flags), tag=variant_tag(flags) if flags else "")
        first = first or lto
        label = flags or "default"
        if record:
            outcomes[label] = _record_asm_resolution(ctx, case, lto, label, findings)
        elif case.expect["links"] and succeeded(lto, findings):
            _check_defined(lto, case.expect["defined"], findings)
            check_program_runs(ctx, case, lto, findings)
    if record:
        findings.info[record] = outcomes["default"] if list(outcomes) == ["default"] else outcomes
    control = build(ctx, case, "control")
    if case.control["links"] and succeeded(control, findings):
        _check_defined(control, case.control["defined"], findings)
        check_program_runs(ctx, case, control, findings)
    assert first is not None
    return first.reproducer()


def _record_asm_resolution(ctx: Context, case: Case, lto: CaseBuild, label: str, findings: Findings) -> str:
    """A fact about the toolchain, not a verdict: does LTO see references made only by asm?"""
    if lto.ok:
        check_program_runs(ctx, case, lto, findings)
        return "resolved: the program links"
    line = first_error(lto.failed)
    match = UNDEFINED_REFERENCE.search(line)
    what = f"undefined reference to {match['name']}" if match else line
    findings.notes.append(
        f"{ctx.toolchain.family} LTO [{label}] does not resolve this asm-only reference ({what}); "
        "code built with this toolchain needs the kernel's __visible/__used annotations on global symbols"
    )
    return f"not resolved: {what} (LTO dropped, localized or partitioned away a symbol only asm uses)"
