"""kernel-boot: the kernel of a kernel-build case boots in QEMU to a userspace marker.

The case names the mode (``[expect] mode``) whose kernel-build case it
boots; it stands on that case (``requires``), so a build that failed or was
not proven is one failure, not two. The boot itself is ``qemu.boot``:
time-boxed, offline, a pass is the marker plus QEMU exiting by itself.
"""

from __future__ import annotations

from pathlib import Path

from .. import qemu
from ..cases import Case
from ..errors import Unsupported
from ..kbuild_variables import source_arch
from ..verdict import Findings
from . import Context, Skip, register
from .kernel_build import FOUND_INDENT, SCHEMA, case_mode, kernel_build_for


@register(
    "kernel-boot",
    "that kernel boots in QEMU to a userspace marker",
    SCHEMA,
    requires=("kernel-build",),
    cache_verdicts=False,
)
def kernel_boot(ctx: Context, case: Case, findings: Findings) -> str:
    mode = case_mode(case)
    request, build = kernel_build_for(ctx, mode)
    if not build.ok:
        raise Skip(f"kernel-build failed ({build.option}, {ctx.toolchain.full_id})")
    if not build.image:
        raise Skip(f"the build made no boot image for ARCH={request.variables['ARCH']}")
    workdir = ctx.workspace / f"kernel-boot-{mode}"
    try:
        result = qemu.boot(
            source_arch(request.variables["ARCH"]), Path(build.image), Path(build.out_dir), request.source.root, workdir
        )
    except Unsupported as exc:
        raise Skip(str(exc)) from None
    findings.info.update(boot_seconds=round(result.seconds, 2), console_log=str(result.console_log), accel=result.accel)
    findings.expect(
        result.ok,
        f"'{qemu.MARKER} <uname>' on {result.accel} and QEMU exits by itself",
        f"{result.detail}\nconsole tail:\n{result.console_tail()}".replace("\n", FOUND_INDENT),
    )
    return result.command
