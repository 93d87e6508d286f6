"""post-link-tools: strip and objcopy, as packagers run them, on LTO objects and archives.

dh_strip and rpm's brp-strip run ``strip --strip-debug``, ``--strip-unneeded``
and objcopy section edits over everything a package ships, static libraries
included. On an LTO object such a tool must keep what the link needs (the
IR sections, the archive index over the members' real symbols) or refuse
with a non-zero exit and a message; exit 0 with an object or archive that
lost its IR or its index, or no longer links, is the failure. Every
operation writes a new file (``-o``), so a refusal leaves the input alone
and each result is judged on its own: it must still link through the LTO
plugin (resolution file) and run. The control applies the same operations
to the same build without -flto: there they must simply work.

Case keys (``[expect]``): ``target`` (``objects``: every object of the build;
``archive``: the case's archive, which such a case needs), ``operations``
(names from ``OPERATIONS``), ``resolved`` (symbols the plugin must resolve
from the stripped inputs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from .. import elf
from ..archive import read_index
from ..build import CaseBuild, link_arguments
from ..cases import Case, When
from ..process import Step
from ..schema import Field, ListOf, OneOf, Str
from ..toolchain import Tool
from ..verdict import Findings
from . import Context, Skip, register
from .evidence import build, check_plugin_idle, check_plugin_ran, check_program_runs, extra_step, succeeded

NOTE_SECTION = ".lto-conformance.tag"
NOTE_FILE = "note.txt"
# GCC -g LTO objects: early debug info the LTRANS debug info refers to (by a symbol).
EARLY_DEBUG_PREFIX = ".gnu.debuglto_"
# name -> (tool kind, arguments before the input); ``{out}`` and ``{in}`` are filled per file.
OPERATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "strip-debug": ("strip", ("--strip-debug", "-o", "{out}", "{in}")),
    "strip-unneeded": ("strip", ("--strip-unneeded", "-o", "{out}", "{in}")),
    "objcopy-edit": (
        "objcopy",
        ("--remove-section=.comment", "--add-section", f"{NOTE_SECTION}={NOTE_FILE}", "{in}", "{out}"),
    ),
}


def _label(tool: Tool, operation: str) -> str:
    """How a person names the operation: `strip --strip-debug`, `objcopy (section edit)`."""
    first = OPERATIONS[operation][1][0]
    return f"{tool.name} {first}" if operation.startswith("strip") else f"{tool.name} (section edit)"


def _renamed(name: str, operation: str) -> str:
    path = Path(name)
    return f"{path.stem}.{operation}{path.suffix}"


def _apply(ctx: Context, result: CaseBuild, tool: Tool, operation: str, name: str) -> tuple[Step, str]:
    out = _renamed(name, operation)
    args = [a.replace("{out}", out).replace("{in}", name) for a in OPERATIONS[operation][1]]
    if result.path(out).exists():
        result.path(out).unlink()
    inputs = [name, NOTE_FILE] if operation == "objcopy-edit" else [name]
    return extra_step(ctx, result, tool, args, inputs=inputs), out


def _link(ctx: Context, case: Case, result: CaseBuild, inputs: Sequence[str], output: str) -> Step:
    """The case's link over the processed inputs, keeping the plugin's traces (save-temps)."""
    t = ctx.toolchain
    temps = t.save_temps_flags if result.variant == "lto" else t.control_save_temps_flags
    args = link_arguments(t, case, result.variant, inputs, output, temps)
    return extra_step(ctx, result, t.cc, args, inputs=list(inputs))


def _inputs(case: Case, result: CaseBuild) -> list[str]:
    """What the tool is run on: every object, or the archive."""
    if case.expect["target"] == "archive" and result.archive:  # needs= gives such cases an [archive]
        return [result.archive]
    return list(result.objects.values())


def _damage(result: CaseBuild, before: str, after: str) -> list[str]:
    """What a tool that exited 0 took away: IR sections, index entries, the section edit."""
    old, new = result.path(before), result.path(after)
    if not new.is_file():
        return [f"no output file {after}"]
    if before.endswith(".a"):
        try:
            had, has = read_index(old).symbols, read_index(new).symbols
        except ValueError:
            return [f"{after} is not an archive any more"]
        lost = [s for s in had if s not in has]
        if lost:
            shown = ", ".join(has) or "nothing"
            return [f"archive index lost {', '.join(lost)} (now holds {shown})"]
        return []
    was, now = elf.ir_kind(old), elf.ir_kind(new)
    if was != now:
        return [f"{after} lost its IR: was {was.value}, now {now.value}"]
    if not elf.is_elf(old) or not elf.is_elf(new):
        return []
    early = [n for n in elf.section_names(old) if n.startswith(EARLY_DEBUG_PREFIX)]
    kept = set(elf.section_names(new))
    gone = [n for n in early if n not in kept]
    if gone:
        return [f"{after} lost the early debug sections its IR refers to ({', '.join(gone[:3])}...)"]
    return []


def _check_one(
    ctx: Context, case: Case, result: CaseBuild, operation: str, findings: Findings
) -> tuple[str, list[str]] | None:
    """Run one operation over the target; None if the tool refused (loudly), else outputs."""
    kind = OPERATIONS[operation][0]
    tool: Tool = getattr(ctx.toolchain, kind)
    where = result.variant
    outputs = []
    for name in _inputs(case, result):
        step, out = _apply(ctx, result, tool, operation, name)
        if not step.ok:
            said = next((ln.strip() for ln in step.output.splitlines() if ln.strip()), "")
            if where == "lto":
                findings.expect(
                    bool(said),
                    f"{_label(tool, operation)} on {name} to keep it linkable, or to refuse it with a message",
                    f"exit {step.returncode} without any message",
                )
                return f"refused {name}: exit {step.returncode}: {said}", []
            findings.expect(
                False, f"{_label(tool, operation)} on a non-LTO {name} to work", step.describe_failure(), where
            )
            return None
        damage = _damage(result, name, out)
        if damage:
            findings.expect(
                False,
                f"{_label(tool, operation)} on {name}: exit 0 with an output that keeps what the LTO link needs",
                f"exit 0, but {'; '.join(damage)}",
                where,
            )
        outputs.append(out)
    return "kept", outputs


def _link_and_run(
    ctx: Context, case: Case, result: CaseBuild, operation: str, outputs: list[str], findings: Findings
) -> None:
    rest: list[str] = []
    if case.expect["target"] == "archive" and case.archive:
        members = {result.objects[s] for s in case.archive.members}
        rest = [o for o in result.objects.values() if o not in members]
    program = f"prog.{operation}"
    step = _link(ctx, case, result, [*rest, *outputs], program)
    where = result.variant
    tool = getattr(ctx.toolchain, OPERATIONS[operation][0])
    if not findings.expect(
        step.ok,
        f"the {'LTO ' if where == 'lto' else ''}link of what {_label(tool, operation)} wrote to succeed",
        step.describe_failure(),
        where,
    ):
        return
    linked = dataclasses.replace(result, output=program)
    if where == "lto":
        check_plugin_ran(linked, case.expect["resolved"], findings)
    else:
        check_plugin_idle(linked, case.expect["resolved"], findings)
    check_program_runs(ctx, case, result, findings, program=program)


@register(
    "post-link-tools",
    "strip/objcopy on LTO objects and archives leave them linkable, or refuse loudly",
    {
        "target": Field(OneOf(("objects", "archive")), required=True, expect_only=True),
        "operations": Field(ListOf(OneOf(tuple(OPERATIONS)), min_items=1), required=True, expect_only=True),
        "resolved": Field(ListOf(Str), required=True, expect_only=True),
    },
    requires=("linker-plugin",),
    needs={"archive": When("expect.target", "archive")},
)
def post_link_tools(ctx: Context, case: Case, findings: Findings) -> str:
    t = ctx.toolchain
    missing = [kind for kind in ("strip", "objcopy") if getattr(t, kind) is None]
    if missing:
        raise Skip(
            f"no {' or '.join(missing)} of this toolchain found (binutils for gcc, the same LLVM's "
            f"llvm-{missing[0]} for clang); name one with --{missing[0]}"
        )
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    for result in (lto, control):
        if not succeeded(result, findings):
            continue
        for operation in case.expect["operations"]:
            outcome = _check_one(ctx, case, result, operation, findings)
            if outcome is None:
                continue
            how, outputs = outcome
            if result.variant == "lto":
                findings.info.setdefault("operations", {})[operation] = how
            if outputs:
                _link_and_run(ctx, case, result, operation, outputs, findings)
    return lto.reproducer()
