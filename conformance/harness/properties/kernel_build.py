"""kernel-build: a real Linux kernel built with LTO, the option kept, LTO proven.

A case names the LTO mode (``[expect] mode = "thin"``/``"full"``) and its
control, the non-LTO build of the same config (``[control] mode = "none"``).
The build must keep the LTO option through olddefconfig and finish; then its
output must prove LTO against the control (``kernel_proofs``): IR in the
compiled objects, none in vmlinux, promoted or privatised locals, a collapsed
share of global functions. Builds are cached on disk (``kbuild``) and, per
process, here, so kernel-boot reuses the build of its case and the control
is built once per toolchain and config, also under ``pytest -n``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from .. import kernel_source
from ..cases import Case
from ..errors import CaseError, Unsupported
from ..kbuild import LTO_MODES, BuildRequest, KernelBuild, build_kernel
from ..kbuild_variables import split_ldflags
from ..kernel_proofs import prove_lto
from ..verdict import Findings
from . import Context, Skip, register

SCHEMA = {"mode": str}
FOUND_INDENT = "\n" + " " * len("  found:    ")

_BUILDS: dict[tuple[str, str], KernelBuild] = {}


def case_mode(case: Case) -> str:
    mode = case.expect.get("mode")
    if mode not in LTO_MODES:
        raise CaseError(f"{case.path_for_humans}/case.toml: key 'expect.mode': must be one of {', '.join(LTO_MODES)}")
    control = case.control.get("mode", "none")
    if control != "none":
        raise CaseError(f"{case.path_for_humans}/case.toml: key 'control.mode': the control is the non-LTO build, none")
    return mode


def kernel_build_for(ctx: Context, mode: str) -> tuple[BuildRequest, KernelBuild]:
    """This toolchain's build in ``mode``; what the tree or toolchain cannot do is a Skip."""
    root = ctx.cache.root if ctx.cache.root is not None else ctx.workspace
    progress = ctx.progress

    def say(message: str) -> None:
        if progress is not None:
            progress(f"[kernel {mode} [{ctx.toolchain.label}]] {message}")

    try:
        source = kernel_source.resolve_source(ctx.kernel_src, Path(root), on_progress=say)
        request = BuildRequest(source, kernel_source.resolve_config(ctx.kernel_config), ctx.toolchain, mode)
        key = (str(root), request.key)
        if key not in _BUILDS:
            _BUILDS[key] = build_kernel(request, Path(root), on_progress=say)
    except Unsupported as exc:
        raise Skip(str(exc)) from None
    return request, _BUILDS[key]


def figures(build: KernelBuild) -> dict[str, object]:
    """What results.json keeps of a build: time, memory, what the output showed."""
    out: dict[str, object] = {
        "build_seconds": round(build.build_seconds, 1),
        "make_seconds": round(build.make_seconds, 1),
        "peak_rss_mib": round(build.peak_rss_mib, 1),
        "bitcode_objects": build.bitcode_objects,
        "gcc_ir_objects": build.gcc_ir_objects,
        "cached": build.cached,
        "harness_overhead_pct": round(build.overhead_pct, 2),
    }
    if build.resumed:
        # Only the rest of an interrupted (or an incremental) build ran: no cost figure to compare.
        for key in ("build_seconds", "make_seconds", "peak_rss_mib", "harness_overhead_pct"):
            del out[key]
        out["resumed"] = True
    if build.symbols:
        out["text_bytes"] = build.symbols.text_bytes
        out["global_functions"] = build.symbols.global_functions
        out["local_functions"] = build.symbols.local_functions
        out["promoted_locals"] = build.symbols.promoted_locals
        out["lto_priv_symbols"] = build.symbols.lto_priv_symbols
    return out


def resumed_note(build: KernelBuild) -> str:
    return (
        f"make resumed the build left in {build.out_dir}: no build time or peak RSS is reported "
        "(remove that directory, or use a fresh --lto-cache, to measure them)"
    )


@register(
    "kernel-build", "a real kernel LTO build: LTO option kept, LTO proven in output", SCHEMA, cache_verdicts=False
)
def kernel_build(ctx: Context, case: Case, findings: Findings) -> str:
    mode = case_mode(case)
    request, build = kernel_build_for(ctx, mode)
    findings.info.update(
        kernel_source=request.source.origin, kernel_config=request.config.name, build_dir=build.out_dir
    )
    _, driver_only = split_ldflags(ctx.toolchain.ldflags)
    if driver_only:
        findings.notes.append(
            f"--ldflags {shlex.join(driver_only)}: compiler-driver flags, not passed to kbuild (it links vmlinux "
            "with $(LD)); -Wl,/-Xlinker flags are"
        )
    expected = f"{build.option}=y kept by olddefconfig, vmlinux built, LTO proven against a non-LTO build"
    if not findings.expect(build.ok, expected, build.message.replace("\n", FOUND_INDENT)):
        return build.reproducer
    findings.info.update(figures(build))
    if build.resumed:
        findings.notes.append(resumed_note(build))
    _, baseline = kernel_build_for(ctx, "none")
    both = f"{build.reproducer}\n# the non-LTO control:\n{baseline.reproducer}"
    if not findings.expect(
        baseline.ok,
        "the non-LTO build of the same config builds",
        baseline.message.replace("\n", FOUND_INDENT),
        where="control",
    ):
        return both
    findings.info.update({f"baseline_{key}": value for key, value in figures(baseline).items()})
    if baseline.resumed:
        findings.notes.append("non-LTO control: " + resumed_note(baseline))
    proofs = prove_lto(ctx.toolchain.family, build, baseline)
    findings.info["lto_proofs"] = [str(p) for p in proofs if p.ok]
    for proof in proofs:
        findings.expect(proof.ok, proof.expected, proof.found)
    return both
