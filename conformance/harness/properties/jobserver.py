"""jobserver: parallel LTRANS honours make's jobserver (no serial fallback).

Kbuild links vmlinux under ``make -jN``. GCC's lto-wrapper runs the LTRANS
jobs through make: with ``-flto=jobserver`` and a recipe that passes the
jobserver (the ``+`` prefix) they share make's job slots; without it gcc-11
falls back to serial LTRANS and gcc-12 to its own ``-j`` auto. The probe
links through an outer ``make -jN`` and reads ``gcc -v`` (``harness.ltrans``):
how many partitions, how many compiled at once, which warnings. The
control is the same make without ``+``. LLVM's LTO has no jobserver client,
so cases say ``[requires] family = "gcc"``.

Case keys (``[expect]``):

``make_jobs``
    int, default 2: the ``-j`` of the outer make.
``min_partitions``
    int, default 2: LTRANS partitions the probe must produce.
``min_parallel``
    int, default 2: LTRANS jobs that must compile at once.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..build import CaseBuild, link_arguments
from ..cases import Case
from ..ltrans import ltrans_trace
from ..process import Step, run
from ..schema import Field, Int
from ..toolchain import Tool, tool_identity
from ..verdict import Findings
from . import Context, Skip, register
from .evidence import compile_only, extra_step, succeeded


def _make_tool() -> Tool:
    """GNU make from PATH, identified by its real file and version like any tool under test."""
    found = shutil.which("make")
    if not found:
        raise Skip("no make on PATH: the jobserver probe needs GNU make")
    version = run([found, "--version"], cwd=Path.cwd(), timeout=10, measure_rss=False)
    if not version.output.startswith("GNU Make"):
        raise Skip(f"{found} is not GNU make ({version.output.strip().splitlines()[:1]})")
    return Tool((found,), Path(found), tool_identity(Path(found), version.output))


def _makefile(name: str, target: str, objects: Sequence[str], argv: Sequence[str], *, plus: bool) -> str:
    prefix = "+" if plus else ""
    why = "passes make's jobserver to it ('+')" if plus else "does not pass the jobserver (no '+')"
    return (
        f"# lto-conformance jobserver probe ({name}): the link recipe {why}.\n"
        f"{target}: {' '.join(objects)}\n"
        f"\t{prefix}{shlex.join(argv)}\n"
    )


def _make_link(ctx: Context, case: Case, result: CaseBuild, make: Tool, *, plus: bool) -> tuple[Step, str]:
    """Link through an outer `make -jN`, as kbuild does; not cached: jobserver use is live behaviour."""
    name = "Makefile.jobserver" if plus else "Makefile.nojobserver"
    target = "prog" if plus else "prog-nojobserver"
    objects = [result.objects[s] for s in case.sources]
    argv = [*ctx.toolchain.cc.argv, *link_arguments(ctx.toolchain, case, result.variant, objects, target, ["-v"])]
    (result.folder / name).write_text(_makefile(name, target, objects, argv, plus=plus))
    # A pytest run under make must not leak its own jobserver into the probe.
    env = {"MAKEFLAGS": "", "MFLAGS": "", "MAKELEVEL": ""}
    jobs = case.expect["make_jobs"]
    args = [f"-j{jobs}", "-f", name, target]
    step = extra_step(ctx, result, make, args, inputs=[*objects, name], env=env, cacheable=False)
    return step, name


@register(
    "jobserver",
    "parallel LTRANS honours make's jobserver (no serial fallback)",
    {
        "make_jobs": Field(Int, default=2, expect_only=True),
        "min_partitions": Field(Int, default=2, expect_only=True),
        "min_parallel": Field(Int, default=2, expect_only=True),
    },
    requires=("linker-plugin",),
)
def jobserver(ctx: Context, case: Case, findings: Findings) -> str:
    make = _make_tool()
    lto = compile_only(ctx, case, "lto")
    if not succeeded(lto, findings):
        return lto.reproducer()
    step, _ = _make_link(ctx, case, lto, make, plus=True)
    trace = ltrans_trace(step.output)
    findings.info["ltrans"] = dataclasses.asdict(trace)
    if findings.expect(step.ok, "make -j link with -flto=jobserver to succeed", step.describe_failure()):
        min_partitions = case.expect["min_partitions"]
        min_parallel = case.expect["min_parallel"]
        findings.expect(
            trace.partitions >= min_partitions,
            f"at least {min_partitions} LTRANS partitions (the probe must give the jobserver work to share)",
            trace.parallelism(),
        )
        findings.expect(
            trace.serial_warning is None and trace.no_jobserver is None,
            "no serial-compilation or jobserver-unavailable warning from lto-wrapper",
            trace.warnings(),
        )
        findings.expect(
            trace.make_args is not None and not re.search(r"-j\d*", trace.make_args) and trace.using_jobserver,
            "lto-wrapper to run LTRANS through make on the inherited jobserver ('Using make jobserver', no own -jN)",
            trace.how(),
        )
        findings.expect(
            trace.max_parallel >= min_parallel,
            f"at least {min_parallel} LTRANS jobs compiling at once under make -j{case.expect['make_jobs']} "
            "(gcc -v: a job's lto1 line before another's `as` line)",
            trace.parallelism(),
        )
    control_step, _ = _make_link(ctx, case, lto, make, plus=False)
    control = ltrans_trace(control_step.output)
    findings.info["without_jobserver"] = control.describe()
    if findings.expect(control_step.ok, "the link without '+' to succeed", control_step.describe_failure(), "control"):
        findings.expect(
            not control.using_jobserver,
            "no 'Using make jobserver' when the recipe does not pass it (else the probe proves nothing)",
            control.describe(),
            where="control",
        )
    if control.serial_warning:
        findings.notes.append(
            f"without a jobserver this gcc falls back to serial LTRANS ({control.serial_warning}): "
            "kbuild recipes must pass it ('+')"
        )
    return _with_makefiles(lto)


def _with_makefiles(result: CaseBuild) -> str:
    """The reproducer, with each generated Makefile shown before the make that reads it."""
    lines = [f"$ cd {result.case.path_for_humans}"]
    for step in result.steps:
        name = next((a for a in step.argv if a.startswith("Makefile.")), None)
        if name and result.path(name).is_file():
            lines.append(f"$ cat {name}")
            lines += ["  " + line for line in result.path(name).read_text().splitlines()]
        lines.append(step.shell())
    return "\n".join(lines)
