"""version-skew: IR written by another version of the same compiler, linked by the one under test.

Static libraries outlive compiler upgrades: a distribution keeps .a files
built by last year's gcc-11 and links them with gcc-12. LLVM promises to
read older bitcode; GCC's LTO bytecode is tied to one release. Either
answer is fine as long as it is clear: the link works and the program runs,
or the link fails with a diagnostic that names the version mismatch
(gcc: "bytecode stream ... generated with LTO version 11.3 instead of the
expected 12.0"; lld: "Invalid summary version"). A crash (signal, internal
compiler error, a stack dump), a hang, an error that does not say why, or
exit 0 with a program that prints the wrong thing fails. The control is the
same mix without -flto: plain objects of either version must link.

The other versions are ``--skew-cc`` (repeatable) or, by default, every
other installed ``gcc-N`` / ``clang-N`` of the same family and target on
PATH (with the same cross prefix). Case keys (``[expect]``):
``skew_sources``: the sources the other version compiles (the rest are
compiled by the toolchain under test), ``timeout_seconds``: the hang bound.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shlex
from pathlib import Path

from packaging.version import Version

from ..build import Builder, CaseBuild, link_arguments, object_name
from ..cases import Case
from ..errors import UsageError
from ..process import Step, run
from ..schema import Field, Int, ListOf, Source
from ..toolchain import PROBE_TIMEOUT, Tool, digest, family_and_version, find_tool, parse_macros
from ..verdict import Findings
from . import Context, Skip, register
from .evidence import build, run_program

VERSIONED = re.compile(r"^(?P<prefix>.*?)(?P<family>gcc|clang)-(?P<major>\d+)$")
# Diagnostics that name the version mismatch (GCC's LTO bytecode version, LLVM's bitcode/summary versions).
MISMATCH = re.compile(
    r"generated with LTO version \S+ instead of the expected \S+"
    r"|[Ii]nvalid summary version[^\n]*"
    r"|Producer: '[^']*' Reader: '[^']*'"
    r"|[^\n]*bitcode[^\n]*(?:newer|older|version)[^\n]*"
)
CRASH = re.compile(
    r"internal compiler error|PLEASE submit a bug report|Stack dump:|Segmentation fault|"
    r"terminated with signal|[Aa]borted|core dumped"
)


@functools.lru_cache(maxsize=32)
def _identify(argv: tuple[str, ...], workdir: str) -> tuple[str, Version, str] | None:
    """(family, version, target) of a compiler, or None if it is not a working gcc/clang."""
    macros = [*argv, "-dM", "-E", "-x", "c", "/dev/null"]
    step = run(macros, cwd=Path(workdir), timeout=PROBE_TIMEOUT, measure_rss=False)
    found = family_and_version(parse_macros(step.output)) if step.ok else None
    if found is None:
        return None
    target = run([*argv, "-dumpmachine"], cwd=Path(workdir), timeout=PROBE_TIMEOUT, measure_rss=False)
    return found[0], found[1], target.output.strip()


def discover(ctx: Context) -> list[tuple[str, ...]]:
    """Other installed versions of the family under test: same cross prefix, same target, other major."""
    t = ctx.toolchain
    base = Path(t.cc.argv[0]).name
    prefix = base[: base.find(t.family)] if t.family in base else ""
    seen: dict[Path, str] = {}
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            match = VERSIONED.match(name)
            if not match or match["family"] != t.family or match["prefix"] != prefix:
                continue
            if int(match["major"]) == t.version.major:
                continue
            path = Path(folder) / name
            real = path.resolve()
            if real not in seen and os.access(path, os.X_OK):
                seen[real] = name
    out = []
    for name in sorted(seen.values(), key=lambda n: int(VERSIONED.match(n)["major"])):  # type: ignore[index]
        found = _identify((name,), str(ctx.workspace))
        if found and found[0] == t.family and found[1].major != t.version.major and found[2] == t.target:
            out.append((name,))
    return out


def _skew_tools(ctx: Context, compilers: list[tuple[str, ...]]) -> list[tuple[Tool, str]]:
    """Tools for the compilers of the family under test; --skew-cc may name both families in a matrix."""
    out, other = [], []
    for argv in compilers:
        found = _identify(argv, str(ctx.workspace))
        if found is None:
            raise UsageError(f"--skew-cc {shlex.join(argv)}: not a working gcc or clang")
        family, version, target = found
        if family != ctx.toolchain.family:
            other.append(f"{shlex.join(argv)} is {family}-{version}")
            continue
        tool = find_tool(argv, "--skew-cc", dict(os.environ))
        out.append((Tool(tool.argv, tool.path, digest(tool.identity, str(version), target)), f"{family}-{version}"))
    if not out:
        raise Skip(f"--skew-cc names no {ctx.toolchain.family} compiler ({'; '.join(other)})")
    return out


def classify(step: Step, ran: Step | None, expected_stdout: str | None) -> tuple[str, bool, str]:
    """(outcome, acceptable, detail) for one skewed link and the run of its program."""
    text = step.output
    if step.timed_out:
        return "hang", False, f"the link did not finish within {step.seconds:.0f} s"
    crash = CRASH.search(text)
    if step.returncode < 0 or step.returncode >= 128 or crash:
        what = crash[0] if crash else f"exit {step.returncode}"
        return "crash", False, f"the link crashed ({what})"
    if not step.ok:
        named = MISMATCH.search(text)
        if named:
            return "refused-with-version-diagnostic", True, named[0].strip()
        last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "no message")
        return "generic-error", False, f"exit {step.returncode} without naming the versions: {last}"
    if ran is None:
        return "linked", True, "the program cannot run on this machine"
    if ran.ok and (expected_stdout is None or ran.output == expected_stdout):
        return "linked-and-ran", True, f"printed {ran.output.strip()!r}"
    return "broken-program", False, f"exit 0, but the program exited {ran.returncode} printing {ran.output!r}"


def _skewed_build(ctx: Context, case: Case, skew: Tool, label: str, variant: str) -> tuple[CaseBuild, Step | None]:
    """The toolchain under test compiles its part, the other version the skew sources; then link."""
    skewed = case.expect["skew_sources"]
    mine = tuple(s for s in case.sources if s not in skewed)
    own = build(ctx, dataclasses.replace(case, sources=mine, link="none"), variant, tag=f"skew-{label}")
    if not own.ok:
        return own, None
    t = ctx.toolchain
    lto = case.lto_flags_for(t.family) if variant == "lto" else ()
    builder = Builder(own.folder, ctx.cache)
    for source in skewed:
        obj = f"{Path(object_name(source)).stem}.{label}.o"
        step = builder.step(skew, [*case.cflags, *lto, "-c", source, "-o", obj], inputs=[source])
        own.steps.append(step)
        if not step.ok:
            return own, None
        own.objects[source] = obj
    objects = [own.objects[s] for s in case.sources]
    args = link_arguments(t, case, variant, objects, "prog")
    timeout = float(case.expect["timeout_seconds"])
    link = Builder(own.folder, ctx.cache, timeout=timeout).step(t.cc, args, inputs=objects)
    own.steps.append(link)
    own.output = "prog"
    return own, link


@register(
    "version-skew",
    "IR from another version of the same compiler is read, or refused with a diagnostic naming the versions",
    {
        "skew_sources": Field(ListOf(Source(), min_items=1), required=True, expect_only=True),
        "timeout_seconds": Field(Int, default=60, expect_only=True),
    },
    requires=("linker-plugin",),
)
def version_skew(ctx: Context, case: Case, findings: Findings) -> str:
    t = ctx.toolchain
    given = tuple(tuple(shlex.split(c)) for c in ctx.skew_cc if c.strip())
    compilers = list(given) or discover(ctx)
    if not compilers:
        raise Skip(
            f"no other installed version of {t.family} for {t.target} found (looked for "
            f"{t.family}-N on PATH, N != {t.version.major}); name one with --skew-cc"
        )
    reproducers = []
    outcomes: dict[str, str] = {}
    for skew, label in _skew_tools(ctx, compilers):
        lto, link = _skewed_build(ctx, case, skew, label, "lto")
        reproducers.append(lto.reproducer())
        if link is None:
            findings.expect(False, f"{label} and {t.full_id} to compile the probe", _failed(lto), "lto")
            continue
        ran = run_program(ctx, lto) if link.ok else None
        outcome, fine, detail = classify(link, ran, case.run_stdout)
        outcomes[label] = f"{outcome}: {detail}"
        findings.expect(
            fine,
            f"{t.full_id} to link {label}'s IR and run it, or refuse it naming the version mismatch",
            f"{detail}\n{link.describe_failure() if not link.ok else ''}".strip(),
        )
        control, control_link = _skewed_build(ctx, case, skew, label, "control")
        if control_link is None or not control_link.ok:
            findings.expect(
                False, f"plain (non-LTO) objects of {label} to link with {t.full_id}", _failed(control), "control"
            )
        elif (plain := run_program(ctx, control)) is not None and case.run_stdout is not None:
            findings.expect(
                plain.ok and plain.output == case.run_stdout,
                f"the non-LTO mix of {label} and {t.full_id} to print {case.run_stdout!r}",
                f"exit {plain.returncode}, printed {plain.output!r}",
                "control",
            )
    findings.info["skew"] = outcomes
    return "\n".join(reproducers)


def _failed(result: CaseBuild) -> str:
    failed = next((s for s in reversed(result.steps) if not s.ok), None)
    return failed.describe_failure() if failed else "no step ran"
