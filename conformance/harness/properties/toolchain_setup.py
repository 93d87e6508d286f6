"""toolchain-setup: the LTO components the driver runs belong to the toolchain under test.

A packager's staged GCC (unpacked, not installed) finds collect2,
lto-wrapper, lto1 and the linker plugin through ``COMPILER_PATH`` or
``GCC_EXEC_PREFIX`` as readily as in its own tree: with those pointing at
the system's GCC every link passes while testing the wrong compiler. The
property reads, from ``-v`` of an LTO link, which programs really ran, and
checks that each comes from the driver's own installation (its ``install:``
directory, or a ``-B`` directory) with the driver's version; gcc-ar and
gcc-nm must pass that installation's plugin too. For clang, the lld or
LLVMgold that did the LTO link must be of clang's LLVM. The same link
without ``-flto`` must run no LTO component.

Case keys (``[expect]``):

``components``
    table ``{gcc = [...], clang = [...]}``: the roles that must show up in
    the LTO link's ``-v`` (gcc: ``collect2``, ``lto-wrapper``, ``lto1``,
    ``liblto_plugin``; clang: ``linker``).
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..cases import Case
from ..probe import _llvm_major
from ..process import run
from ..tool_discovery import _needed_libraries
from ..toolchain import Toolchain
from ..verdict import Findings
from . import Context, register
from .evidence import build, succeeded

LEAK_VARIABLES = ("COMPILER_PATH", "GCC_EXEC_PREFIX")
VERSION = re.compile(r"version (\d+\.\d+\.\d+)")
LINKER_NAMES = {"ld.lld": "lld", "ld.bfd": "bfd", "ld": "bfd", "ld.gold": "gold", "ld.mold": "mold", "mold": "mold"}


@dataclass(frozen=True)
class Seen:
    """One component as the driver ran it."""

    role: str
    path: Path


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def gcc_components(verbose: str) -> list[Seen]:
    """collect2, the plugin, lto-wrapper and lto1 from ``gcc -v`` of an LTO link."""
    seen: dict[str, Path] = {}
    for line in verbose.splitlines():
        if line.startswith("COLLECT_LTO_WRAPPER="):
            seen.setdefault("lto-wrapper", Path(line.split("=", 1)[1].strip()))
            continue
        if not line.startswith(" "):
            continue
        words = _words(line)
        if not words:
            continue
        program = Path(words[0])
        if program.name == "collect2" or program.name.endswith("-collect2"):
            seen.setdefault("collect2", program)
            for flag, value in itertools.pairwise(words):
                if flag == "-plugin":
                    seen.setdefault("liblto_plugin", Path(value))
        elif program.name == "lto1":
            seen.setdefault("lto1", program)
    return [Seen(role, path) for role, path in seen.items()]


def clang_components(verbose: str) -> list[Seen]:
    """The linker a clang driver ran for the LTO link and the LLVMgold it gave a GNU linker."""
    out = []
    for line in verbose.splitlines():
        words = _words(line.strip())
        if not words:
            continue
        name = Path(words[0]).name
        if name in LINKER_NAMES:
            out.append(Seen("linker", Path(words[0])))
            for flag, value in itertools.pairwise(words):
                if flag == "-plugin" and "LLVMgold" in value:
                    out.append(Seen("LLVMgold", Path(value)))
            break
    return out


def b_directories(argv: Sequence[str]) -> list[Path]:
    """The ``-B`` directories of a command line (``-Bdir`` or ``-B dir``)."""
    out = []
    for index, word in enumerate(argv):
        if word == "-B" and index + 1 < len(argv):
            out.append(Path(argv[index + 1]))
        elif word.startswith("-B") and len(word) > 2:
            out.append(Path(word[2:]))
    return out


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _inside(path: Path, folder: Path) -> bool:
    return _real(path).parent == _real(folder) or _real(folder) in _real(path).parents


def _environment(t: Toolchain) -> dict[str, str]:
    return {**os.environ, **dict(t.env)}


def leak_source(path: Path, env: Mapping[str, str]) -> str | None:
    """Which of COMPILER_PATH / GCC_EXEC_PREFIX points at the directory a component came from."""
    for name in LEAK_VARIABLES:
        for entry in filter(None, env.get(name, "").split(":")):
            if _inside(path, Path(entry)) or str(path).startswith(entry):
                return f"{name}={env[name]}"
    return None


def _ask(t: Toolchain, ctx: Context, args: Sequence[str]) -> str:
    step = run([*t.cc.argv, *t.cflags, *args], cwd=ctx.workspace, env=dict(t.env), timeout=60, measure_rss=False)
    return step.output.strip() if step.ok else ""


def _gcc_home(ctx: Context) -> tuple[list[Path], str]:
    """The driver's own program directories (install dir, its libexec twin, -B dirs) and its version."""
    t = ctx.toolchain
    install = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in _ask(t, ctx, ["-print-search-dirs"]).splitlines()
            if ln.startswith("install:")
        ),
        "",
    )
    homes = [Path(install)] if install else []
    if "/lib/gcc" in install:
        homes.append(Path(install.replace("/lib/gcc", "/libexec/gcc", 1)))
    homes += b_directories([*t.cc.argv, *t.cflags, *t.ldflags])
    return homes, _ask(t, ctx, ["-dumpfullversion"]) or _ask(t, ctx, ["-dumpversion"])


def _component_version(ctx: Context, seen: Seen) -> str:
    """lto1 and collect2 say their version; the plugin and lto-wrapper do not."""
    if seen.role not in ("lto1", "collect2"):
        return ""
    flag = "-version" if seen.role == "lto1" else "--version"
    step = run([str(seen.path), flag], cwd=ctx.workspace, env=dict(ctx.toolchain.env), timeout=60, measure_rss=False)
    match = VERSION.search(step.output)
    return match[1] if match else ""


def _check_gcc(ctx: Context, case: Case, verbose: str, findings: Findings) -> list[Seen]:
    t = ctx.toolchain
    seen = gcc_components(verbose)
    homes, version = _gcc_home(ctx)
    env = _environment(t)
    roles = {s.role for s in seen}
    wanted = case.expect["components"].get("gcc", [])
    missing = [r for r in wanted if r not in roles]
    findings.expect(not missing, f"the LTO link's -v to show {', '.join(wanted)}", f"no {', '.join(missing)} in it")
    shown_homes = ", ".join(str(h) for h in homes) or "unknown"
    for component in seen:
        own = any(_inside(component.path, home) for home in homes)
        culprit = leak_source(component.path, env)
        findings.expect(
            own,
            f"{component.role} from gcc {version}'s own installation ({shown_homes})",
            f"{component.role} is {component.path}" + (f", leaked in through {culprit}" if culprit else ""),
        )
        found = _component_version(ctx, component)
        if found and version:
            findings.expect(
                found == version,
                f"{component.role} of version {version} (the driver's -dumpfullversion)",
                f"{component.role} {component.path} is version {found}"
                + (f", leaked in through {culprit}" if culprit else ""),
            )
    return seen


def _check_gcc_wrappers(ctx: Context, case: Case, homes: list[Path], findings: Findings) -> None:
    """gcc-ar / gcc-nm run binutils with ``--plugin``: that plugin must be the installation's own.

    A stand-in ar/nm early on PATH records the arguments the wrapper passes;
    a cross wrapper that finds its own target binutils first is not intercepted.
    """
    t = ctx.toolchain
    spy_dir = ctx.workspace / "toolchain-setup-spy"
    spy_dir.mkdir(parents=True, exist_ok=True)
    log = spy_dir / "calls.log"
    for name in ("ar", "nm"):
        spy = spy_dir / name
        spy.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{log}.{name}"\n')
        spy.chmod(0o755)
    env = {"PATH": f"{spy_dir}:{os.environ.get('PATH', '')}"}
    for kind, tool in (("ar", t.ar), ("nm", t.nm)):
        if "gcc-" not in tool.name:
            continue
        record = Path(f"{log}.{kind}")
        record.unlink(missing_ok=True)
        run([*tool.argv, "--version"], cwd=ctx.workspace, env={**dict(t.env), **env}, timeout=60, measure_rss=False)
        if not record.is_file():
            findings.notes.append(f"{tool.name} found its own {kind} before PATH; its plugin was not checked")
            continue
        args = record.read_text().splitlines()
        plugin = next((Path(v) for f, v in itertools.pairwise(args) if f == "--plugin"), None)
        findings.expect(
            plugin is not None,
            f"{tool.name} to pass a plugin to {kind}",
            f"it ran {kind} {' '.join(args)}",
        )
        if plugin is not None:
            culprit = leak_source(plugin, _environment(t))
            findings.expect(
                any(_inside(plugin, home) for home in homes),
                f"{tool.name}'s plugin from the compiler's installation ({', '.join(map(str, homes))})",
                f"{tool.name} passes {plugin}" + (f", leaked in through {culprit}" if culprit else ""),
            )


def _check_clang(ctx: Context, case: Case, verbose: str, findings: Findings) -> list[Seen]:
    t = ctx.toolchain
    seen = clang_components(verbose)
    roles = {s.role for s in seen}
    missing = [r for r in case.expect["components"].get("clang", []) if r not in roles]
    findings.expect(not missing, f"the LTO link's -v to show the {', '.join(missing)} clang ran", "not in it")
    for component in seen:
        if component.role == "linker" and LINKER_NAMES.get(component.path.name) == "lld":
            if "/" not in str(component.path):
                findings.notes.append(f"{component.path} is built into the driver ({t.linker_version})")
                continue
            step = run([str(component.path), "--version"], cwd=ctx.workspace, timeout=60, measure_rss=False)
            major = _llvm_major(step.output)
            findings.expect(
                major == t.version.major,
                f"ld.lld of LLVM {t.version.major} (clang {t.version})",
                f"{component.path} is {step.output.strip().splitlines()[0] if step.output.strip() else 'silent'}",
            )
        elif component.role == "LLVMgold":
            libs = [p.name for p in _needed_libraries(component.path)]
            majors = {int(m[1]) for name in libs if (m := re.search(r"(\d+)", name))}
            findings.expect(
                majors == {t.version.major},
                f"LLVMgold of LLVM {t.version.major} (clang {t.version})",
                f"{component.path} loads {', '.join(libs) or 'no libLLVM'}",
            )
    return seen


@register(
    "toolchain-setup",
    "the LTO components the driver runs belong to the toolchain under test",
    {"components": dict},
    requires=("lto-ir",),
)
def toolchain_setup(ctx: Context, case: Case, findings: Findings) -> str:
    t = ctx.toolchain
    lto = build(ctx, case, "lto", link_flags=["-v"], tag="verbose")
    control = build(ctx, case, "control", link_flags=["-v"], tag="verbose")
    if succeeded(lto, findings):
        verbose = lto.steps[-1].output
        if t.family == "gcc":
            seen = _check_gcc(ctx, case, verbose, findings)
            homes, _ = _gcc_home(ctx)
            _check_gcc_wrappers(ctx, case, homes, findings)
        else:
            seen = _check_clang(ctx, case, verbose, findings)
        findings.info["components"] = {s.role: str(s.path) for s in seen}
    if succeeded(control, findings):
        verbose = control.steps[-1].output
        ran = [s.role for s in gcc_components(verbose) if s.role == "lto1"] if t.family == "gcc" else []
        ran += [s.role for s in clang_components(verbose) if s.role == "LLVMgold"] if t.family == "clang" else []
        findings.expect(not ran, "no LTO component in the link without -flto", f"it ran {', '.join(ran)}", "control")
    return lto.reproducer()
