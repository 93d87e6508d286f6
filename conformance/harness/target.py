"""What a toolchain targets and how its programs run here: natively, under qemu-user, or not.

The target comes from the driver together with the user's flags
(``-dumpmachine`` ignores ``-m32``; the predefined macros and
``-print-multiarch`` do not), and a foreign program runs as
``qemu-<arch> -L <sysroot> prog`` when that works for a probe program.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from .probe import _Prober
from .process import run

ARCH_ALIASES = {
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "amd64": "x86_64",
    "arm64": "aarch64",
    "armv7l": "arm",
    "armhf": "arm",
    "powerpc64le": "ppc64le",
    "powerpc64": "ppc64",
}


# Predefined macro -> CPU, most specific first (the driver's answer with the user's flags).
ARCH_MACROS = (
    ("__x86_64__", "x86_64"),
    ("__i386__", "i386"),
    ("__aarch64__", "aarch64"),
    ("__arm__", "arm"),
    ("__powerpc64__", "ppc64"),
    ("__powerpc__", "ppc"),
    ("__s390x__", "s390x"),
    ("__riscv", "riscv"),
    ("__loongarch64", "loongarch64"),
    ("__mips__", "mips"),
)


# qemu-user program per CPU where the names differ from ours.
QEMU_NAMES = {"ppc": "ppc", "riscv64": "riscv64", "riscv32": "riscv32"}


def normalize_arch(name: str) -> str:
    """``i686`` and ``i386`` are one target CPU for the suite, so are ``arm64`` and ``aarch64``."""
    return ARCH_ALIASES.get(name, name)


def _arch_from_macros(macros: Mapping[str, str]) -> str | None:
    for macro, arch in ARCH_MACROS:
        if macro not in macros:
            continue
        if arch == "x86_64" and "__ILP32__" in macros:
            return "x32"
        if arch == "riscv":
            return f"riscv{macros.get('__riscv_xlen', '64')}"
        if arch == "ppc64" and "__LITTLE_ENDIAN__" in macros:
            return "ppc64le"
        return arch
    return None


def host_arch() -> str:
    return normalize_arch(platform.machine())


def _target(prober: _Prober, family: str, argv: Sequence[str], arch: str | None) -> tuple[str, str]:
    """The target triple and CPU as the driver sees them with the user's flags.

    ``-dumpmachine`` ignores ``-m32``; GCC's ``-print-multiarch`` and clang's
    ``Target:`` line of ``--version`` honour it, and the predefined macros say
    which CPU the code is really for.
    """
    triple = ""
    if family == "gcc":
        triple = prober.answer([*argv, "-print-multiarch"])
    else:
        version = prober.answer([*argv, "--version"])
        triple = next((ln.split(":", 1)[1].strip() for ln in version.splitlines() if ln.startswith("Target:")), "")
    if not triple or " " in triple:
        triple = prober.answer([*argv, "-dumpmachine"]) or "unknown"
    first, _, rest = triple.partition("-")
    found = arch or normalize_arch(first)
    if normalize_arch(first) != found:
        triple = f"{found}-{rest}" if rest else found
    return triple, found


def _sysroots(prober: _Prober, argv: Sequence[str], triple: str) -> list[Path]:
    """Where a foreign target's libraries live: -print-sysroot, else Debian's cross layout /usr/<triple>."""
    out = []
    printed = prober.answer([*argv, "-print-sysroot"])
    if printed and printed != "/":
        out.append(Path(printed))
    machine = prober.answer([*argv, "-dumpmachine"])
    for name in dict.fromkeys([machine, triple, triple.replace("-unknown-", "-").replace("-pc-", "-")]):
        if name:
            out.append(Path("/usr") / name)
    return [p for p in out if (p / "lib").is_dir()]


def _runner(prober: _Prober, argv: Sequence[str], triple: str, arch: str) -> tuple[str, tuple[str, ...], str]:
    """How programs of this target run here: natively, under qemu-user, or not at all (and why).

    Decided by running the probe program, never from names: i686 programs run
    natively on x86_64 when the 32-bit loader is installed, aarch64 ones need
    ``qemu-aarch64 -L <sysroot>`` (binfmt_misc may not be mounted).
    """
    step = run(["./probe"], cwd=prober.cwd, env=prober.env, timeout=prober.timeout(), measure_rss=False)
    if step.ok and step.output.strip() == "probe ok":
        return "native", (), ""
    native_failure = f"exit {step.returncode}: {step.output.strip()[:120]}"
    qemu_name = f"qemu-{QEMU_NAMES.get(arch, arch)}"
    qemu = shutil.which(qemu_name, path=prober.env.get("PATH", os.environ.get("PATH")))
    if qemu is None:
        return "none", (), f"{arch} programs are not run: no {qemu_name} on PATH (install qemu-user)"
    tried = []
    for sysroot in [*_sysroots(prober, argv, triple), Path("/")]:
        runner = (qemu, "-L", str(sysroot))
        step = run([*runner, "./probe"], cwd=prober.cwd, env=prober.env, timeout=prober.timeout(), measure_rss=False)
        if step.ok and step.output.strip() == "probe ok":
            return "emulated", runner, ""
        tried.append(f"{shlex.join(runner)}: exit {step.returncode}")
    return "none", (), f"{arch} programs are not run: natively {native_failure}; " + "; ".join(tried)
