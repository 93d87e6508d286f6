"""Running a toolchain's programs to learn what they are: tools, identities, the probes.

A ``Tool`` is one resolved program and its identity (what a cache key knows
of it); the ``_Prober`` runs the short validation commands of one toolchain
with the hang detector's timeout; the readers here turn what the programs
print (predefined macros, ``--version``, ``-v``) into facts.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from . import verdict_cache
from .errors import UsageError
from .process import Step, run

PROBE_TIMEOUT = 15.0


PROBE_TIMEOUT_ENV = "LTO_CONFORMANCE_PROBE_TIMEOUT"


# A driver that answered its first probe is alive; its first link may still build
# a runtime (zig cc builds libc for tens of seconds), so later probes get longer.
SLOW_PROBE_TIMEOUT = 300.0


@dataclass(frozen=True)
class Tool:
    """One resolved program: how to call it and what makes it unique."""

    argv: tuple[str, ...]
    path: Path
    identity: str
    version: str = ""
    # Environment every run of the tool gets (a --toolchains entry's env, e.g. COMPILER_PATH).
    env: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return Path(self.argv[0]).name

    def describe(self) -> str:
        shown = f"{shlex.join(self.argv)}  ({self.path})"
        return f"{shown}  {self.version}" if self.version else shown


@dataclass(frozen=True)
class Component:
    """A program or library the driver runs in a step (lto1, the plugin, lld, libLLVM)."""

    role: str
    path: Path
    version: str = ""

    def describe(self) -> str:
        return f"{self.role} {self.path}" + (f" ({self.version})" if self.version else "")


def _which(program: str, env: Mapping[str, str]) -> Path | None:
    found = shutil.which(program, path=env.get("PATH", os.environ.get("PATH")))
    return Path(found) if found else None


def _stat_identity(path: Path) -> str:
    """Path, size and mtime of the real file: changes when it is rebuilt."""
    real = path.resolve()
    verdict_cache.saw_file(real)  # a check that identifies a tool depends on that file
    try:
        st = real.stat()
    except OSError:
        return f"{real}:missing"
    return f"{real}:{st.st_size}:{st.st_mtime_ns}"


def tool_identity(path: Path, *facts: str) -> str:
    """What a cache key knows of a tool: its real file (path, size, mtime) and the facts that
    change what it does (version text, extra arguments, the plugins it loads).

    The one way every tool is identified, the ones under test and the helpers
    a property finds on PATH (plain binutils, make).
    """
    return digest(_stat_identity(path), *facts)


def find_tool(argv: Sequence[str], option: str, env: Mapping[str, str]) -> Tool:
    """The program ``argv[0]`` (a path, or a name looked up on PATH) as a Tool; a UsageError naming ``option``."""
    program = argv[0]
    path = Path(program) if "/" in program else _which(program, env)
    if path is None or not path.exists():
        raise UsageError(f"{option}: {program!r} not found" + ("" if "/" in program else " on PATH"))
    if not os.access(path, os.X_OK) or path.is_dir():
        raise UsageError(f"{option}: {path} is not an executable file")
    return Tool(tuple(argv), path, tool_identity(path, " ".join(argv[1:])))


def digest(*parts: str) -> str:
    """A short identity of the strings ``parts`` (cache keys, toolchain identities)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def probe_timeout() -> float:
    """The hang detector's limit: --probe-timeout, else $LTO_CONFORMANCE_PROBE_TIMEOUT, else 15 s."""
    value = os.environ.get(PROBE_TIMEOUT_ENV, "")
    try:
        return float(value) if value else PROBE_TIMEOUT
    except ValueError:
        raise UsageError(f"--probe-timeout / ${PROBE_TIMEOUT_ENV}: {value!r} is not a number of seconds") from None


class _Prober:
    """Runs the validation commands of one toolchain in a scratch folder, with its environment.

    The first answer proves the driver alive: a hang before it is a usage error
    after the probe timeout; later probes (a first link may build a runtime)
    get at least SLOW_PROBE_TIMEOUT.
    """

    def __init__(self, option: str, cwd: Path, env: Mapping[str, str]) -> None:
        self.option, self.cwd, self.env = option, cwd, dict(env)
        self.alive = False
        self.answers: dict[tuple[str, ...], str] = {}

    def timeout(self) -> float:
        limit = probe_timeout()
        return max(limit, SLOW_PROBE_TIMEOUT) if self.alive else limit

    def __call__(self, argv: Sequence[str], option: str | None = None) -> Step:
        timeout = self.timeout()
        step = run(argv, cwd=self.cwd, env=self.env, timeout=timeout, measure_rss=False)
        if step.timed_out:
            raise UsageError(
                f"{option or self.option}: {shlex.join(argv)} did not finish within {timeout:g} s; "
                "is the compiler hanging or waiting for input? (a slow driver: raise --probe-timeout)"
            )
        self.alive = True
        return step

    def version_line(self, argv: Sequence[str]) -> str:
        """The first line that names a version, whatever the exit code (lto1 -version has no input)."""
        step = run(argv, cwd=self.cwd, env=self.env, timeout=self.timeout(), measure_rss=False)
        return next((ln.strip() for ln in step.output.splitlines() if " version " in ln), "")

    def answer(self, argv: Sequence[str]) -> str:
        """Stripped output of an optional question; empty when the tool does not know it (asked once)."""
        key = tuple(argv)
        if key not in self.answers:
            step = run(argv, cwd=self.cwd, env=self.env, timeout=self.timeout(), measure_rss=False)
            self.answers[key] = step.output.strip() if step.ok else ""
        return self.answers[key]


def parse_macros(text: str) -> dict[str, str]:
    """The ``#define NAME VALUE`` lines of ``cc -dM -E`` output as a mapping."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] == "#define":
            out[parts[1]] = parts[2] if len(parts) == 3 else ""
    return out


def family_and_version(macros: Mapping[str, str]) -> tuple[str, Version] | None:
    """("gcc" | "clang", version) from predefined macros; None for another compiler."""
    if "__clang__" in macros:
        keys = ("__clang_major__", "__clang_minor__", "__clang_patchlevel__")
        family = "clang"
    elif "__GNUC__" in macros:
        keys = ("__GNUC__", "__GNUC_MINOR__", "__GNUC_PATCHLEVEL__")
        family = "gcc"
    else:
        return None
    return family, Version(".".join(macros.get(k, "0") for k in keys))


def _linker_flavour(text: str) -> tuple[str, str] | None:
    """Name the linker from its own --version line."""
    for line in text.splitlines():
        if line.startswith("GNU ld"):
            return "bfd", line.strip()
        if line.startswith("GNU gold"):
            return "gold", line.strip()
        if line.startswith("mold "):
            return "mold", line.strip()
        if "LLD " in line and "compatible with GNU" in line:
            return "lld", line.strip()
    return None


LINKER_PROGRAMS = {
    "ld.lld": "lld",
    "lld": "lld",
    "ld.bfd": "bfd",
    "ld.gold": "gold",
    "gold": "gold",
    "ld.mold": "mold",
    "mold": "mold",
}


def _linker_from_verbose(text: str) -> str | None:
    """The linker a driver really ran, from the command lines it prints with -v.

    ``zig cc`` answers ``-Wl,--version`` as ``zig ld``; its ``-v`` shows that
    ld.lld does the work.
    """
    for line in text.splitlines():
        words = line.strip().split()
        if words:
            program = Path(words[0].strip('"')).name
            if program in LINKER_PROGRAMS:
                return LINKER_PROGRAMS[program]
    return None


LLVM_MAJOR = re.compile(r"(?:LLVM version|LLD|clang version) (\d+)\.")


LIBLLVM_NAME = re.compile(r"^lib(?:LLVM|clang-cpp)[.-]?(?:so\.)?(\d+)?")


def _llvm_major(text: str) -> int | None:
    match = LLVM_MAJOR.search(text)
    return int(match[1]) if match else None


def _version_text(prober: _Prober, argv: Sequence[str]) -> str:
    """The line of ``--version`` that names the version (LLVM prints it on the second)."""
    output = prober.answer([*argv, "--version"])
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    named = next((ln for ln in lines if LLVM_MAJOR.search(ln)), None)
    return named or (lines[0] if lines else "")


def _executable(candidate: str, env: Mapping[str, str]) -> Path | None:
    path = Path(candidate) if "/" in candidate else _which(candidate, env)
    return path if path is not None and path.is_file() and os.access(path, os.X_OK) else None


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def split_command(value: str | None) -> tuple[str, ...] | None:
    """``--cc "gcc -B/x/"`` carries arguments: split like a shell would."""
    if value is None or not value.strip():
        return None
    return tuple(shlex.split(value))
