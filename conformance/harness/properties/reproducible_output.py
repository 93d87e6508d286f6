"""reproducible-output: rebuilding gives the same bytes; the LTRANS job count does not change them.

Reproducible builds (Debian, Guix, NixOS) rebuild a package and compare the
bytes. The probe is built twice from scratch in the same folder, never from
the step cache (rebuilding is the point): every object and the program must
be bit-identical. GCC names its LTO sections with a random suffix unless
``-frandom-seed`` is given, as GCC's own LTO bootstrap does, so the GCC
builds pass ``-frandom-seed=<object>``; whether objects are identical
without it is recorded, not judged. Then the same objects are linked with
one and with N LTRANS jobs (GCC ``-flto=1``/``-flto=N``, lld
``--thinlto-jobs=1``/``=N``): the programs must be identical. A difference
names the first differing section and the pair of commands. The control is
the same without -flto: it must be reproducible too, else the probe is.

Case keys (``[expect]``): ``jobs`` (int, the N of the job comparison),
``job_flags`` (``{gcc = [...], clang = [...]}``: extra link flags of both job
links, e.g. a partitioning that gives GCC several partitions).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path

from .. import elf, pyelf
from ..build import Builder, CaseBuild, link_arguments, object_name
from ..cases import Case, FileFlags
from ..process import Step
from ..schema import Converted, Field, Int, ListOf, PerFamily, Str
from ..verdict import Findings
from . import Context, register
from .evidence import build, succeeded


def first_difference(one: Path, two: Path) -> str | None:
    """None if the files are identical, else where they first differ (an ELF section if it can tell)."""
    a, b = one.read_bytes(), two.read_bytes()
    if a == b:
        return None
    offset = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    if not (elf.is_elf(one) and elf.is_elf(two)):
        return f"byte {offset} of {len(a)}/{len(b)} (not ELF: no sections to name)"
    try:
        with one.open("rb") as h1, two.open("rb") as h2:
            left, right = pyelf.ELFFile(h1), pyelf.ELFFile(h2)
            names_left = [s.name for s in left.iter_sections()]
            names_right = [s.name for s in right.iter_sections()]
            if names_left != names_right:
                extra = sorted(set(names_left) ^ set(names_right))
                shown = ", ".join(extra[:4]) or "the same names in another order"
                return f"the section lists differ ({shown})"
            for s1, s2 in zip(left.iter_sections(), right.iter_sections(), strict=True):
                nobits = s1["sh_type"] == "SHT_NOBITS"
                if (not nobits and s1.data() != s2.data()) or s1.header != s2.header:
                    return f"section {s1.name or '(null)'} (first byte difference at file offset {offset})"
    except pyelf.ELFError as exc:
        return f"byte {offset} ({exc})"
    return f"the ELF headers or padding (file offset {offset})"


def _seeded(case: Case) -> Case:
    """GCC's bootstrap way: -frandom-seed=<output> on every compile."""
    files = dict(case.files)
    for source in case.sources:
        old = case.file_flags(source)
        files[source] = FileFlags((*old.cflags, f"-frandom-seed={object_name(source)}"), old.lto)
    return dataclasses.replace(case, files=files)


def _keep(result: CaseBuild, names: Sequence[str], into: Path) -> None:
    """Keep the first build's outputs: the second build wipes the folder."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    for name in names:
        shutil.copy2(result.path(name), into / name)


def _outputs(result: CaseBuild) -> list[str]:
    return [*result.objects.values(), *([result.output] if result.output else [])]


def _step_for(result: CaseBuild, name: str) -> Step | None:
    return next((s for s in result.steps if name in s.argv and "-o" in s.argv), None)


def _compare_rebuilds(
    first: CaseBuild, kept: Path, second: CaseBuild, findings: Findings, *, judge: bool, what: str
) -> list[str]:
    """Names of the outputs that differ; with judge, each is a problem naming section and commands."""
    differ = []
    for name in _outputs(second):
        where = first_difference(kept / name, second.path(name))
        if where is None:
            continue
        differ.append(name)
        if judge:
            step = _step_for(second, name)
            command = step.shell() if step else name
            findings.expect(
                False,
                f"{name} bit-identical when {what} is rebuilt from scratch in the same folder",
                f"{where}; both builds ran:\n  {command}",
                first.variant,
            )
    return differ


def _rebuild_twice(ctx: Context, case: Case, variant: str, tag: str) -> tuple[CaseBuild, Path, CaseBuild]:
    first = build(ctx, case, variant, cacheable=False, tag=tag)
    kept = ctx.workspace / f"{first.folder.name}-first"
    if first.ok:
        _keep(first, _outputs(first), kept)
    second = build(ctx, case, variant, cacheable=False, tag=tag)
    return first, kept, second


def _several(jobs: int) -> int:
    if jobs < 2:
        raise ValueError(f"must be at least 2 (the N of 1 vs N LTO jobs), not {jobs}")
    return jobs


def _job_links(ctx: Context, case: Case, result: CaseBuild, findings: Findings) -> str:
    """Link the same objects with 1 and with N LTRANS jobs; the programs must be identical."""
    t = ctx.toolchain
    jobs = case.expect["jobs"]
    if t.family == "gcc":
        flags = [["-flto=1"], [f"-flto={jobs}"]]
    elif t.linker == "lld":
        flags = [["-Wl,--thinlto-jobs=1"], [f"-Wl,--thinlto-jobs={jobs}"]]
    else:
        return f"not compared: {t.linker} has no LTO job option the suite knows"
    extra = case.expect["job_flags"][t.family]
    objects = [result.objects[s] for s in case.sources]
    builder = Builder(result.folder, ctx.cache)
    steps = []
    for count, job in zip((1, jobs), flags, strict=True):
        args = link_arguments(t, case, "lto", objects, f"prog.jobs{count}", [*extra, *job])
        step = builder.step(t.cc, args, inputs=objects, cacheable=False)
        result.steps.append(step)
        steps.append(step)
        if not findings.expect(step.ok, f"the LTO link with {job[0]} to succeed", step.describe_failure()):
            return "link failed"
    where = first_difference(result.path("prog.jobs1"), result.path(f"prog.jobs{jobs}"))
    findings.expect(
        where is None,
        f"the same program from 1 and {jobs} LTO jobs ({flags[0][0]} vs {flags[1][0]})",
        f"{where}; the pair:\n  {steps[0].shell()}\n  {steps[1].shell()}",
    )
    return "identical" if where is None else f"differ: {where}"


@register(
    "reproducible-output",
    "rebuilding gives bit-identical objects and binaries; the LTRANS job count does not change the output",
    {
        "jobs": Field(Converted(Int, _several, "integer >= 2"), default=4, expect_only=True),
        "job_flags": Field(PerFamily(ListOf(Str), default=[]), default={"gcc": [], "clang": []}, expect_only=True),
    },
    requires=("linker-plugin",),
)
def reproducible_output(ctx: Context, case: Case, findings: Findings) -> str:
    gcc = ctx.toolchain.family == "gcc"
    probe = _seeded(case) if gcc else case
    first, kept, second = _rebuild_twice(ctx, probe, "lto", "repro")
    control_first, control_kept, control_second = _rebuild_twice(ctx, probe, "control", "repro")
    seed = " with -frandom-seed" if gcc else ""
    if succeeded(first, findings) and succeeded(second, findings):
        differ = _compare_rebuilds(first, kept, second, findings, judge=True, what=f"the LTO build{seed}")
        findings.info["rebuild"] = "identical" if not differ else f"differ: {', '.join(differ)}"
        findings.info["job_count"] = _job_links(ctx, case, second, findings)
    if succeeded(control_first, findings) and succeeded(control_second, findings):
        what = f"the non-LTO build{seed}"
        _compare_rebuilds(control_first, control_kept, control_second, findings, judge=True, what=what)
    if gcc and first.ok:
        plain = dataclasses.replace(case, sources=case.sources[:1], link="none")  # one object tells
        one, one_kept, two = _rebuild_twice(ctx, plain, "lto", "repro-noseed")
        if one.ok and two.ok:
            differ = _compare_rebuilds(one, one_kept, two, findings, judge=False, what="")
            findings.info["objects_without_random_seed"] = (
                "identical" if not differ else f"{', '.join(differ)} differs (GCC's random LTO section suffixes)"
            )
    return second.reproducer() + "\n$ # ... the same commands again in the same folder, then cmp each output"
