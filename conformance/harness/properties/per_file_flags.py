"""per-file-flags: per-file flags (``-pg -mfentry``, ``-fno-omit-frame-pointer``, ``-fno-lto``, ``.S``) survive LTO.

The kernel builds files with different flags: ftrace's ``-pg -mfentry`` on
most files but not the tracing code, ``-fno-lto`` on some, assembly objects
everywhere. Under LTO per-file code-generation flags must still apply per
function. Cases link with ``-Wl,--emit-relocs`` so the final image keeps
the relocations that name ``__fentry__``/``mcount``; the prologue check reads
x86_64 code, so cases say ``[requires] arch = ["x86_64"]``.

Case keys (``[expect]`` / ``[control]``):

``traced`` / ``untraced``
    lists of functions that must / must not call an ftrace hook (a
    relocation in their code).
``frame_pointer`` / ``no_frame_pointer``
    lists of functions that must / must not start with ``push %rbp; mov
    %rsp,%rbp`` (after an optional ``endbr64``).
``no_ir``
    ``[expect]`` only, list of sources whose objects must carry no IR in the
    LTO build (``-flto ... -fno-lto``: the kernel's per-file opt-out appends
    ``-fno-lto`` after the LTO flags) and still link in.
``link_flags``
    ``[expect]`` only, table ``{gcc = [...]}``: flags the LTO link adds for
    that family (GCC needs code-generation flags at link time); the same
    link without them is recorded (info ``traced_without_link_flags``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import elf
from ..build import CaseBuild
from ..cases import Case
from ..schema import Field, ListOf, PerFamily, Str
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_program_runs, first_error, succeeded

TRACE_HOOKS = frozenset({"__fentry__", "mcount", "__mcount", "_mcount"})
X86_ENDBR64 = bytes.fromhex("f30f1efa")
X86_FRAME_SETUP = bytes.fromhex("554889e5")  # push %rbp; mov %rsp,%rbp


def trace_callers(path: Path) -> set[str]:
    """Functions whose code holds a relocation against an ftrace hook (__fentry__, mcount).

    The final image keeps relocations only with ``--emit-relocs``; they name
    the hook, and the function is the symbol whose range holds the offset.
    """
    functions = [s for s in elf.symbols_of(path) if s.type == "STT_FUNC" and s.size and s.defined]
    callers: set[str] = set()
    for offset in elf.code_relocations(path, set(TRACE_HOOKS)):
        callers.update(f.base for f in functions if f.value <= offset < f.value + f.size)
    return callers


def frame_pointer_setup(path: Path, names: Sequence[str]) -> dict[str, bool]:
    """Whether each named x86_64 function starts by setting up %rbp (after an optional endbr64).

    -fno-omit-frame-pointer is a per-function code-generation choice; its
    cheapest proof is the prologue itself.
    """
    out: dict[str, bool] = {}
    for symbol in elf.symbols_of(path):
        if symbol.base not in names or symbol.type != "STT_FUNC" or symbol.section_index is None:
            continue
        code = elf.code_at(path, symbol, 8).removeprefix(X86_ENDBR64)
        out[symbol.base] = out.get(symbol.base, False) or code.startswith(X86_FRAME_SETUP)
    return out


@register(
    "per-file-flags",
    "per-file flags (-pg -mfentry, -fno-omit-frame-pointer, -fno-lto, .S objects) survive LTO",
    {
        "traced": Field(ListOf(Str), default=[]),
        "untraced": Field(ListOf(Str), default=[]),
        "frame_pointer": Field(ListOf(Str), default=[]),
        "no_frame_pointer": Field(ListOf(Str), default=[]),
        "link_flags": Field(PerFamily(ListOf(Str), default=[]), default={"gcc": [], "clang": []}, expect_only=True),
        "no_ir": Field(ListOf(Str), default=[], expect_only=True),
    },
    requires=("linker-plugin",),
)
def per_file_flags(ctx: Context, case: Case, findings: Findings) -> str:
    family = ctx.toolchain.family
    link_flags = list(case.expect["link_flags"][family])
    lto = build(ctx, case, "lto", link_flags=link_flags, tag="linkflags" if link_flags else "")
    for source in case.expect.get("no_ir", []):
        obj = lto.objects.get(source)
        if obj is not None:
            kind = elf.ir_kind(lto.path(obj))
            findings.expect(
                kind == elf.IRKind.NONE,
                f"{obj} (compiled with {' '.join(case.file_flags(source).cflags)} after the LTO flags) to carry no IR",
                f"{obj} is {kind.value}",
            )
    if succeeded(lto, findings):
        _check_tracing(lto, case.expect, findings)
        check_program_runs(ctx, case, lto, findings)
    bare = build(ctx, case, "lto", tag="bare") if link_flags else lto
    if case.expect.get("traced"):
        findings.info["traced_without_link_flags"] = _tracing_fact(bare, case.expect["traced"], link_flags)
    control = build(ctx, case, "control")
    if succeeded(control, findings):
        _check_tracing(control, case.control, findings)
        check_program_runs(ctx, case, control, findings)
    return lto.reproducer()


def _check_tracing(result: CaseBuild, table: Mapping[str, list], findings: Findings) -> None:
    assert result.output
    traced, untraced = table.get("traced", []), table.get("untraced", [])
    if traced or untraced:
        callers = trace_callers(result.path(result.output))
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
        return "link failed: " + first_error(result.failed)
    assert result.output
    callers = trace_callers(result.path(result.output))
    without = f"without {' '.join(flags) or 'ftrace flags'} at link time"
    if not callers:
        return f"lost: {without} no function calls __fentry__ (the link succeeds silently)"
    if all(n in callers for n in traced):
        return f"kept: {without} {', '.join(sorted(callers))} still call(s) __fentry__ (flags recorded per function)"
    return f"partly: only {', '.join(sorted(callers))} call __fentry__"
