"""cost: time / peak memory / size of an LTO vs a non-LTO link, measured and bounded.

LTO moves optimisation into the link: it costs build time and memory, with
the peak in the single-threaded WPA stage. The probe generates a medium
program from a seed (``harness.generate``), builds it with and without LTO
and reports link time, peak RSS (``os.wait4``: the largest process of the
link) and ``.text`` size, and the peak RSS of each LTO phase from the
processes that run it (``harness.phases``: GCC's WPA lto1 apart from each
LTRANS lto1, lld's in-process LTO as the ld.lld process; ``cost.phases`` in
results.json, so the baseline diff compares them). Bounds are generous on purpose: they catch a
blow-up, not a slow machine. Figures of a cached step are those of the run
that measured it.

Case keys (``[expect]``):

``generate``
    table ``{files, functions_per_file, seed}`` (ints): the generated program.
``max_peak_rss_mib``
    int, default 4096: bound on the LTO link's peak RSS.
``max_lto_link_seconds``
    float, default 60: bound on the LTO link's time.
``max_build_time_ratio``
    float, default 10: bound on the whole LTO build's time over the non-LTO one.
``timeout_seconds``
    int, default 120: per-step timeout of both builds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from collections.abc import Mapping
from typing import Any

from .. import elf, phases
from ..build import Builder, CaseBuild, link_arguments, stage_case
from ..cases import Case
from ..generate import generate_sources
from ..process import run
from ..schema import Field, Float, Int, Record
from ..verdict import Findings
from . import Context, register
from .evidence import build, run_program

MIB = 1024
GENERATE = Record(
    {
        "files": Field(Int, required=True),
        "functions_per_file": Field(Int, required=True),
        "seed": Field(Int, required=True),
    }
)


def _generated_case(ctx: Context, case: Case) -> Case:
    """The case's own files plus generated ones, in a folder keyed by the generator parameters."""
    params: Mapping[str, Any] = case.expect["generate"]
    files, functions, seed = params["files"], params["functions_per_file"], params["seed"]
    digest = hashlib.sha256(repr((files, functions, seed)).encode()).hexdigest()[:12]
    folder = ctx.workspace / f"generated-{case.property}-{case.name}-{digest}"
    if not folder.is_dir():
        scratch = folder.with_name(folder.name + f".{os.getpid()}")
        stage_case(case, scratch)
        generated = generate_sources(scratch, files, functions, seed)
        (scratch / "sources.txt").write_text("\n".join(generated))
        try:
            scratch.rename(folder)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
    generated = (folder / "sources.txt").read_text().split()
    return dataclasses.replace(case, directory=folder, sources=(*case.sources, *generated))


@register(
    "cost",
    "time / peak memory / size of LTO vs non-LTO link are measured and bounded",
    {
        "generate": Field(GENERATE, required=True, expect_only=True),
        "max_peak_rss_mib": Field(Int, default=4096, expect_only=True),
        "max_lto_link_seconds": Field(Float, default=60.0, expect_only=True),
        "max_build_time_ratio": Field(Float, default=10.0, expect_only=True),
        "timeout_seconds": Field(Int, default=120, expect_only=True),
    },
    requires=("linker-plugin",),
)
def cost(ctx: Context, case: Case, findings: Findings) -> str:
    generated = _generated_case(ctx, case)
    timeout = float(case.expect["timeout_seconds"])
    lto = build(ctx, generated, "lto", timeout=timeout, measure_rss=True)
    control = build(ctx, generated, "control", timeout=timeout, measure_rss=True)
    reproducer = lto.reproducer(str(generated.directory))
    for name, result in (("lto", lto), ("control", control)):
        if result.failed is not None:
            findings.expect(
                False,
                f"the {name} build of the generated probe to finish within {timeout:.0f} s per step",
                "a step failed:\n" + result.failed.describe_failure(),
                where=name,
            )
    if lto.link is None or control.link is None or lto.failed or control.failed:
        return reproducer
    figures = _cost_figures(generated, lto, control)
    figures["phases"] = _phase_figures(ctx, generated, lto, findings)
    findings.info["cost"] = figures
    if not figures["measured_now"]:
        findings.notes.append("cost figures come from the cached run that first measured these steps")
    max_rss = case.expect["max_peak_rss_mib"]
    findings.expect(
        figures["lto_link_peak_rss_mib"] <= max_rss,
        f"LTO link peak RSS at most {max_rss} MiB (largest process of the link's tree, os.wait4)",
        f"{figures['lto_link_peak_rss_mib']:.0f} MiB (non-LTO link: {figures['nolto_link_peak_rss_mib']:.0f} MiB; "
        f"runner floor {figures['rss_floor_mib']:.0f} MiB)",
    )
    max_seconds = case.expect["max_lto_link_seconds"]
    for key, value in figures["phases"].items():
        if key.endswith("_peak_rss_mib"):
            phase = key.removesuffix("_peak_rss_mib")
            findings.expect(
                value <= max_rss,
                f"every {phase} process of the LTO link at most {max_rss} MiB peak RSS (per-process, os.wait4)",
                f"{value:.0f} MiB",
            )
    findings.expect(
        lto.link.seconds <= max_seconds,
        f"LTO link within {max_seconds:g} s",
        f"{lto.link.seconds:.2f} s (non-LTO link {control.link.seconds:.2f} s)",
    )
    max_ratio = case.expect["max_build_time_ratio"]
    findings.expect(
        figures["build_time_ratio"] <= max_ratio,
        f"the whole LTO build (compile + link) at most {max_ratio:g}x the non-LTO build's time",
        f"{figures['lto_build_seconds']:.2f} s vs {figures['nolto_build_seconds']:.2f} s "
        f"({figures['build_time_ratio']:.1f}x)",
    )
    findings.expect(
        bool(figures["lto_text_bytes"]) and bool(figures["nolto_text_bytes"]),
        "a .text section in both programs",
        f"LTO .text {figures['lto_text_bytes']}, non-LTO .text {figures['nolto_text_bytes']}",
    )
    ran_lto, ran_nolto = run_program(ctx, lto), run_program(ctx, control)
    if ran_lto is not None and ran_nolto is not None:
        findings.expect(
            ran_lto.ok and ran_nolto.ok and ran_lto.output == ran_nolto.output,
            "the LTO and non-LTO programs to run and print the same number (the generated code has no UB)",
            f"LTO: exit {ran_lto.returncode} {ran_lto.output.strip()!r}; "
            f"non-LTO: exit {ran_nolto.returncode} {ran_nolto.output.strip()!r}",
        )
    return reproducer


def _phase_figures(ctx: Context, case: Case, lto: CaseBuild, findings: Findings) -> dict[str, Any]:
    """Peak RSS per LTO phase, from one more LTO link of the same objects whose LTO processes are shimmed.

    A separate link keeps the reproducer and the timings those of the plain
    link; it is cached like any step, with the log it wrote, so the figures
    are those of the run that measured them.
    """
    if os.environ.get("LTO_CONFORMANCE_MEASURE_RSS", "1") == "0":
        return {"measured": "no: LTO_CONFORMANCE_MEASURE_RSS=0"}
    t = ctx.toolchain
    shims = phases.plan(t, lto.folder)
    if shims is None:
        return {"measured": f"no: no per-process LTO phases known for {t.family} with {t.linker}"}
    objects = [lto.objects[s] for s in case.sources]
    log = lto.folder / phases.LOG_NAME
    log.unlink(missing_ok=True)
    args = link_arguments(t, case, "lto", objects, "prog.phases", shims.flags)
    env = {phases.LOG_ENV: str(log)}
    timeout = float(case.expect["timeout_seconds"])
    step = Builder(lto.folder, ctx.cache, timeout=timeout).step(t.cc, args, inputs=[*objects, *shims.files], env=env)
    records = phases.read_log(log) if step.ok else []
    out = {"measured": shims.measures, **phases.figures(records, phases.floor_kib(lto.folder))}
    if not records:
        findings.notes.append(f"no per-phase figures: the measuring link logged no process ({step.shell()})")
    return out


def _cost_figures(generated: Case, lto: CaseBuild, control: CaseBuild) -> dict[str, Any]:
    """The figures for the report; seconds and RSS are those Step recorded when the step really ran."""
    assert lto.link is not None and control.link is not None
    # A child's ru_maxrss starts at the RSS of the process that forked it (Linux keeps maxrss
    # across exec), so the runner's own size is a floor under every RSS figure: report it.
    floor = run(["true"], cwd=lto.folder, timeout=10).peak_rss_kib / MIB
    lto_build = sum(s.seconds for s in lto.steps)
    nolto_build = sum(s.seconds for s in control.steps)
    return {
        "sources": len(generated.sources),
        "lto_link_seconds": round(lto.link.seconds, 3),
        "nolto_link_seconds": round(control.link.seconds, 3),
        "link_time_ratio": round(lto.link.seconds / max(control.link.seconds, 1e-3), 1),
        "lto_build_seconds": round(lto_build, 3),
        "nolto_build_seconds": round(nolto_build, 3),
        "build_time_ratio": round(lto_build / max(nolto_build, 1e-3), 2),
        "lto_link_peak_rss_mib": round(lto.link.peak_rss_kib / MIB, 1),
        "nolto_link_peak_rss_mib": round(control.link.peak_rss_kib / MIB, 1),
        "rss_floor_mib": round(floor, 1),
        "lto_text_bytes": elf.section_size(lto.path("prog"), ".text"),
        "nolto_text_bytes": elf.section_size(control.path("prog"), ".text"),
        "measured_now": not any(s.cached for s in (*lto.steps, *control.steps)),
    }
