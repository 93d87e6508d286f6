"""The make command line for a toolchain: ARCH, LLVM/CROSS_COMPILE, CC, LD, KCFLAGS, -j.

kbuild gets exactly the toolchain under test: the whole ``--cc`` command
(``CC="gcc -no-pie"``, ``CC="clang-19 --target=..."``), clang through
``LLVM=`` so that ld.lld, llvm-ar and llvm-nm of the same LLVM are used (as
``HAS_LTO_CLANG`` requires), the user's ``--cflags`` as ``KCFLAGS`` (the
variable kbuild provides for them) and the linker part of ``--ldflags`` on
``LD``. ``ARCH`` is always passed: tinyconfig defaults to 32-bit otherwise.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import Unsupported
from .toolchain import Toolchain

# Kernel ARCH from the first field of the target triple; SRCARCH is the arch/ folder.
_ARCH_BY_CPU = {
    "x86_64": "x86_64",
    "i386": "i386",
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "aarch64": "arm64",
    "arm": "arm",
    "riscv64": "riscv",
    "riscv32": "riscv",
    "powerpc64le": "powerpc",
    "powerpc64": "powerpc",
    "powerpc": "powerpc",
    "s390x": "s390",
    "loongarch64": "loongarch",
    "mips": "mips",
    "mipsel": "mips",
    "mips64": "mips",
    "mips64el": "mips",
}
SRCARCH = {"x86_64": "x86", "i386": "x86"}
BOOT_IMAGE = {"x86": "arch/x86/boot/bzImage", "arm64": "arch/arm64/boot/Image", "riscv": "arch/riscv/boot/Image"}


# --------------------------------------------------------------------------- toolchain -> kbuild variables


def kernel_arch(target: str) -> str:
    """kbuild ARCH from the toolchain's triple; always passed, since tinyconfig defaults to 32-bit."""
    cpu = target.split("-")[0]
    if cpu in _ARCH_BY_CPU:
        return _ARCH_BY_CPU[cpu]
    if cpu.startswith("arm"):
        return "arm"
    raise Unsupported(f"no kernel ARCH known for target {target!r}")


def source_arch(arch: str) -> str:
    return SRCARCH.get(arch, arch)


def make_variables(tc: Toolchain) -> dict[str, str]:
    """The command-line variables that make kbuild use exactly this toolchain.

    clang goes through ``LLVM=`` (``-19`` suffix, ``/x/bin/`` prefix or
    ``1``), gcc through ``CROSS_COMPILE``; ``CC`` carries the whole ``--cc``
    command whenever ``LLVM=`` alone would not name it. A linker other than
    the family's kbuild default goes into ``LD=``, and so does the linker
    part of ``--ldflags`` (kbuild links vmlinux with ``$(LD)``, not the
    driver, and has no variable of its own for vmlinux's linker flags).
    """
    arch = kernel_arch(tc.target)
    given, extra = tc.cc.argv[0], tc.cc.argv[1:]
    name = Path(given).name
    out = {"ARCH": arch}
    if tc.family == "clang":
        match = re.fullmatch(r"clang(-\d+(?:\.\d+)*)?", name)
        if "/" in given and (match is None or match.group(1) is None):
            out["LLVM"] = str(Path(given).parent) + "/"
            named = name == "clang"
        elif match and match.group(1):
            out["LLVM"] = match.group(1)
            named = "/" not in given
        else:
            out["LLVM"] = "1"
            named = name == "clang"
        if not named or extra:
            out["CC"] = shlex.join(tc.cc.argv)
        llvm = out["LLVM"]
        default_ld = f"{llvm}ld.lld" if llvm.endswith("/") else f"ld.lld{llvm}" if llvm != "1" else "ld.lld"
        if tc.linker != "lld":
            out["LD"] = f"ld.{tc.linker}"
    else:
        head, _, _ = name.rpartition("gcc")
        head = head if head.endswith("-") else ""  # a triplet prefix (x86_64-linux-gnu-), not xgcc's x
        if head:
            folder = str(Path(given).parent) + "/" if "/" in given else ""
            out["CROSS_COMPILE"] = folder + head
        out["CC"] = shlex.join(tc.cc.argv)
        default_ld = f"{out.get('CROSS_COMPILE', '')}ld"
        if tc.linker != "bfd":
            out["LD"] = f"{head}ld.{tc.linker}"
    if tc.cflags:
        out["KCFLAGS"] = shlex.join(tc.cflags)
    linker_flags, _ = split_ldflags(tc.ldflags)
    if linker_flags:
        out["LD"] = f"{out.get('LD', default_ld)} {shlex.join(linker_flags)}"
    return out


def split_ldflags(ldflags: Sequence[str]) -> tuple[list[str], list[str]]:
    """``--ldflags`` are driver flags: ``-Wl,a,b`` and ``-Xlinker a`` reach ld; the rest cannot."""
    linker: list[str] = []
    driver_only: list[str] = []
    flags = list(ldflags)
    while flags:
        flag = flags.pop(0)
        if flag.startswith("-Wl,"):
            linker.extend(part for part in flag[4:].split(",") if part)
        elif flag == "-Xlinker" and flags:
            linker.append(flags.pop(0))
        else:
            driver_only.append(flag)
    return linker, driver_only


def jobs_argument(environ: Mapping[str, str] | None = None) -> list[str]:
    """``-jN`` from our CPU affinity, unless an outer make's jobserver can reach the child.

    A named-pipe jobserver (``fifo:``) survives our close_fds spawning; the
    old fd-pair style does not, so then we fall back to ``-jN``.
    """
    environ = os.environ if environ is None else environ
    flags = environ.get("MAKEFLAGS", "")
    if "--jobserver-auth=fifo:" in flags:
        return []
    return [f"-j{len(os.sched_getaffinity(0))}"]
