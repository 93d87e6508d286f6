"""Boot a kernel in QEMU to a userspace marker, time-boxed.

One pipeline for every architecture; only the data in ``MACHINES`` differs
(as in ClangBuiltLinux boot-utils). The guest's whole userspace is a tiny
freestanding ``/init`` built with the host compiler: it prints a marker
with ``uname`` output and restarts, which ``-no-reboot`` turns into QEMU's
exit (a power-off would only halt a kernel without ACPI), so a pass is binary: the marker
appeared and QEMU exited by itself before the hard timeout.

KVM is used only when it is really usable: ``/dev/kvm`` can exist on a CPU
without vmx/svm, where ``-enable-kvm`` hangs; so the CPU flags decide first,
a short QMP probe second, and TCG is the default.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import InfrastructureError, Unsupported
from .process import Step, child_env, run

MARKER = "LTO-CONFORMANCE-BOOT-OK"
INIT_SOURCE = Path(__file__).with_name("initramfs") / "init.c"
BOOT_TIMEOUT = 180.0
PROBE_TIMEOUT = 10.0
HOST_CC_TIMEOUT = 60.0
CONSOLE_TAIL = 25


@dataclass(frozen=True)
class Machine:
    """Per-architecture data: the only thing that varies between boots."""

    qemu: str
    machine: tuple[str, ...]
    console: str
    host_cpu: str
    kvm_flags: tuple[str, ...]


MACHINES = {
    "x86": Machine("qemu-system-x86_64", ("-m", "256M"), "ttyS0", "x86_64", ("vmx", "svm")),
}


@dataclass(frozen=True)
class BootResult:
    """How a boot went, with everything a failure message needs."""

    ok: bool
    command: str
    seconds: float
    marker_line: str
    console_log: Path
    timed_out: bool
    returncode: int
    accel: str
    detail: str

    def console_tail(self, lines: int = CONSOLE_TAIL) -> str:
        try:
            text = self.console_log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


def machine_for(srcarch: str) -> Machine:
    if srcarch not in MACHINES:
        raise Unsupported(f"no QEMU recipe for kernel arch {srcarch!r} (known: {', '.join(MACHINES)})")
    return MACHINES[srcarch]


def host_cc() -> str:
    """The host's own C compiler, never the toolchain under test: /init is infrastructure."""
    for name in ("cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return found
    raise Unsupported("no host C compiler (cc, gcc or clang) on PATH to build the initramfs /init")


def cpu_has_virtualisation(flags: tuple[str, ...], cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return any(f in present for f in flags)
    return False


@functools.cache
def kvm_usable(qemu: str, kvm_flags: tuple[str, ...]) -> bool:
    """CPU flags, device permissions, then QEMU's own answer via QMP ``query-kvm``."""
    if not cpu_has_virtualisation(kvm_flags):
        return False
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    qmp = b'{"execute":"qmp_capabilities"}\n{"execute":"query-kvm"}\n{"execute":"quit"}\n'
    step = run(
        [qemu, "-accel", "kvm", "-machine", "none", "-nodefaults", "-display", "none", "-qmp", "stdio"],
        cwd=Path("/"),
        timeout=PROBE_TIMEOUT,
        stdin_data=qmp,
    )
    return step.ok and re.search(r'"enabled":\s*true', step.output) is not None


def build_init(workdir: Path) -> Path:
    """The static freestanding /init, compiled by the host compiler into the test's tmp dir."""
    if os.uname().machine != "x86_64":
        raise Unsupported(f"the initramfs /init uses x86_64 syscalls; this host is {os.uname().machine}")
    out = workdir / "init"
    step = run(
        [
            host_cc(),
            "-static",
            "-nostdlib",
            "-ffreestanding",
            "-fno-stack-protector",
            "-fno-pie",
            "-no-pie",
            "-Os",
            f'-DMARKER="{MARKER}"',
            "-o",
            str(out),
            str(INIT_SOURCE),
        ],
        cwd=workdir,
        timeout=HOST_CC_TIMEOUT,
    )
    if not step.ok:
        raise InfrastructureError("cannot build the initramfs /init with the host compiler\n" + step.describe_failure())
    return out


def gen_init_cpio(build_dir: Path, source_root: Path, workdir: Path) -> Path:
    """kbuild's own ``usr/gen_init_cpio`` if the build made it, else built from the tree's source."""
    tool = build_dir / "usr" / "gen_init_cpio"
    if tool.is_file() and os.access(tool, os.X_OK):
        return tool
    tool = workdir / "gen_init_cpio"
    if not tool.is_file():
        step = run(
            [host_cc(), "-O2", "-o", str(tool), str(source_root / "usr" / "gen_init_cpio.c")],
            cwd=workdir,
            timeout=HOST_CC_TIMEOUT,
        )
        if not step.ok:
            raise InfrastructureError(
                "cannot build usr/gen_init_cpio with the host compiler\n" + step.describe_failure()
            )
    return tool


def make_initramfs(build_dir: Path, source_root: Path, workdir: Path) -> Path:
    """An uncompressed newc cpio with /dev/console and /init; no root needed.

    gen_init_cpio writes the archive to stdout, which ``process.run`` would
    decode as text, so this one call keeps the binary stdout itself (argv
    list, timeout and C locale all the same).
    """
    init = build_init(workdir)
    tool = gen_init_cpio(build_dir, source_root, workdir)
    spec = workdir / "initramfs.list"
    spec.write_text(f"dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\nfile /init {init} 0755 0 0\n")
    cpio = workdir / "initramfs.cpio"
    with open(cpio, "wb") as sink:
        proc = subprocess.run(
            [str(tool), str(spec)],
            cwd=workdir,
            stdout=sink,
            stderr=subprocess.PIPE,
            env=child_env(),
            timeout=HOST_CC_TIMEOUT,
            check=False,
        )
    if proc.returncode != 0:
        raise InfrastructureError(f"$ {shlex.join([str(tool), str(spec)])} > {cpio}\n{proc.stderr.decode()}")
    return cpio


def boot_command(machine: Machine, image: Path, initrd: Path, accel: str) -> list[str]:
    accel_args = ["-enable-kvm", "-cpu", "host"] if accel == "kvm" else ["-accel", "tcg"]
    return [
        machine.qemu,
        *machine.machine,
        *accel_args,
        "-nographic",
        "-no-reboot",
        "-nic",
        "none",
        "-kernel",
        str(image),
        "-initrd",
        str(initrd),
        "-append",
        f"console={machine.console} panic=-1 rdinit=/init",
    ]


def boot(
    srcarch: str,
    image: Path,
    build_dir: Path,
    source_root: Path,
    workdir: Path,
    *,
    timeout: float = BOOT_TIMEOUT,
) -> BootResult:
    """Boot image with the suite's initramfs; pass = marker seen and QEMU exited by itself in time."""
    machine = machine_for(srcarch)
    if shutil.which(machine.qemu) is None:
        raise Unsupported(f"{machine.qemu} not found on PATH (Debian: apt-get install qemu-system-x86)")
    workdir.mkdir(parents=True, exist_ok=True)
    initrd = make_initramfs(build_dir, source_root, workdir)
    same_cpu = os.uname().machine == machine.host_cpu
    accel = "kvm" if same_cpu and kvm_usable(machine.qemu, machine.kvm_flags) else "tcg"
    argv = boot_command(machine, image, initrd, accel)
    step: Step = run(argv, cwd=workdir, timeout=timeout)
    log = workdir / "console.log"
    log.write_text(step.output)
    marker = next((line.strip() for line in step.output.splitlines() if MARKER in line), "")
    panic = next((line.strip() for line in step.output.splitlines() if "Kernel panic" in line), "")
    if step.timed_out:
        detail = f"timed out after {timeout:.0f} s" + (
            " (marker seen, but the guest did not end the VM)" if marker else ""
        )
    elif not marker:
        detail = f"QEMU exited ({step.returncode}) without the marker" + (f"; {panic}" if panic else "")
    elif panic:
        detail = f"marker seen, but the kernel panicked: {panic}"
    elif step.returncode != 0:
        detail = f"marker seen but QEMU exited with {step.returncode}"
    else:
        detail = "marker seen, QEMU exited by itself"
    return BootResult(
        ok=bool(marker) and step.ok and not panic,
        command=step.shell(),
        seconds=step.seconds,
        marker_line=marker,
        console_log=log,
        timed_out=step.timed_out,
        returncode=step.returncode,
        accel=accel,
        detail=detail,
    )
