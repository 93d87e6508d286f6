"""What toolchain is under test: resolve, validate and describe it once.

A ``ToolchainSpec`` is what the user asked for (options, environment or a
tuxmake-style preset); ``resolve`` turns it into a frozen ``Toolchain`` with
every binary found, the compiler proven to be a working C compiler, and the
facts the properties depend on (family, version, target, linker flavour,
plugin path) detected by running the tools, never guessed from names.
Problems the user can fix raise ``UsageError`` naming the option.

Every tool is verified by version (clang-16's ``-print-prog-name=llvm-ar``
may answer another LLVM's), the target comes from the driver together with
the user's flags (``-m32`` counts), programs for a foreign target run under
qemu-user when it is installed, and every program that takes part in a step
(cc1, lto1, lto-wrapper, collect2, as, ld, the plugins, lld, libLLVM) is
part of the identity that keys the step cache.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shlex
import shutil
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.version import Version

from .errors import UsageError
from .process import SCRATCH_ENV, Step, run

PROBE_TIMEOUT = 15.0
PROBE_TIMEOUT_ENV = "LTO_CONFORMANCE_PROBE_TIMEOUT"
# A driver that answered its first probe is alive; its first link may still build
# a runtime (zig cc builds libc for tens of seconds), so later probes get longer.
SLOW_PROBE_TIMEOUT = 300.0
LINKERS = ("bfd", "gold", "mold", "lld")
PRESET_RE = re.compile(r"^(?P<family>gcc|clang)(?:-(?P<version>\d+))?(?:\+(?P<linker>[A-Za-z0-9._-]+))?$")


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


@dataclass(frozen=True)
class ToolchainSpec:
    """A toolchain as the user named it, before anything was run."""

    cc: tuple[str, ...]
    ar: tuple[str, ...] | None = None
    nm: tuple[str, ...] | None = None
    ranlib: tuple[str, ...] | None = None
    fuse_ld: str | None = None
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    preset: str | None = None
    origin: str = "--cc"
    strip: tuple[str, ...] | None = None
    objcopy: tuple[str, ...] | None = None
    name: str | None = None
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Toolchain:
    """A validated toolchain; the identity keys every cached build."""

    label: str
    family: str
    version: Version
    target: str
    cc: Tool
    ar: Tool
    nm: Tool
    ranlib: Tool | None
    fuse_ld: str | None
    linker: str
    linker_version: str
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    plugin: Path | None
    identity: str
    # Post-link tools (strip, objcopy) packagers run on objects and archives; None: not found.
    strip: Tool | None = None
    objcopy: Tool | None = None
    arch: str = ""
    host_arch: str = ""
    # How its programs run here: "native", "emulated" (qemu-user) or "none" (run_note says why).
    run_mode: str = "native"
    runner: tuple[str, ...] = ()
    run_note: str = ""
    components: tuple[Component, ...] = ()
    warnings: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()

    @property
    def foreign(self) -> bool:
        return bool(self.arch) and bool(self.host_arch) and self.arch != self.host_arch

    @property
    def full_id(self) -> str:
        """Family, exact version, linker and a foreign target: what a report must name."""
        target = f"/{self.arch}" if self.foreign else ""
        return f"{self.family}-{self.version}+{self.linker}{target}"

    @property
    def linker_flags(self) -> tuple[str, ...]:
        return (f"-fuse-ld={self.fuse_ld}",) if self.fuse_ld else ()

    @property
    def save_temps_flags(self) -> tuple[str, ...]:
        """Link flags that keep the LTO plugin's resolution and LTRANS output."""
        if self.family == "gcc":
            return ("-save-temps",)
        if self.linker == "lld":
            return ("-Wl,--save-temps",)
        return ("-Wl,-plugin-opt=save-temps",)

    @property
    def control_save_temps_flags(self) -> tuple[str, ...]:
        """The same for a link without -flto, where clang loads no plugin to take -plugin-opt."""
        return self.save_temps_flags if self.family == "gcc" or self.linker == "lld" else ()

    @property
    def runs_natively(self) -> bool:
        """Whether programs it links run on this machine without an emulator."""
        return self.run_mode == "native"

    @property
    def runs(self) -> bool:
        """Whether programs it links can be run here at all (natively or under qemu-user)."""
        return self.run_mode != "none"

    def component(self, role: str) -> Component | None:
        return next((c for c in self.components if c.role == role), None)

    def header(self) -> str:
        """One block for pytest's report header: every resolved tool and its version."""
        how = {"native": "runs natively", "emulated": f"runs under {shlex.join(self.runner)}"}
        lines = [
            f"{self.label}: {self.full_id} target {self.target} ({how.get(self.run_mode, self.run_note)})",
            f"  cc      {self.cc.describe()}",
            f"  ar      {self.ar.describe()}",
            f"  nm      {self.nm.describe()}",
        ]
        if self.ranlib:
            lines.append(f"  ranlib  {self.ranlib.describe()}")
        for kind in ("strip", "objcopy"):
            tool = getattr(self, kind)
            if tool:
                lines.append(f"  {kind:<7} {tool.describe()}")
        lines.append(f"  linker  {self.linker}: {self.linker_version}")
        if self.plugin:
            lines.append(f"  plugin  {self.plugin}")
        for component in self.components:
            lines.append(f"  uses    {component.describe()}")
        if self.cflags or self.ldflags:
            lines.append(f"  cflags  {shlex.join(self.cflags)}   ldflags {shlex.join(self.ldflags)}")
        if self.env:
            lines.append(f"  env     {' '.join(f'{k}={shlex.quote(v)}' for k, v in self.env)}")
        lines += [f"  warning {text}" for text in self.warnings]
        return "\n".join(lines)

    def describe(self) -> dict:
        """The resolved tools with their versions, for results.json."""
        tools = {"cc": self.cc, "ar": self.ar, "nm": self.nm, "ranlib": self.ranlib}
        return {
            "arch": self.arch,
            "runs": self.run_mode,
            "tools": {
                k: {"argv": list(t.argv), "path": str(t.path), "version": t.version} for k, t in tools.items() if t
            },
            "components": [{"role": c.role, "path": str(c.path), "version": c.version} for c in self.components],
            "warnings": list(self.warnings),
            "env": dict(self.env),
        }


def split_command(value: str | None) -> tuple[str, ...] | None:
    """``--cc "gcc -B/x/"`` carries arguments: split like a shell would."""
    if value is None or not value.strip():
        return None
    return tuple(shlex.split(value))


def spec_from_preset(name: str, *, cflags: Sequence[str] = (), ldflags: Sequence[str] = ()) -> ToolchainSpec:
    """tuxmake-style names: gcc, gcc-12, clang, clang-19, optional +LINKER.

    clang presets use their own LLVM's ar/nm and lld, as kbuild's LLVM=1 does.
    """
    match = PRESET_RE.match(name)
    if not match:
        raise UsageError(
            f"--toolchain {name!r}: unknown preset; use gcc, gcc-N, clang or clang-N, "
            f"optionally with +{'/+'.join(LINKERS)} (e.g. gcc-12+mold, clang-19)"
        )
    family, version, linker = match["family"], match["version"], match["linker"]
    if linker and linker not in LINKERS:
        raise UsageError(f"--toolchain {name!r}: unknown linker {linker!r}; known: {', '.join(LINKERS)}")
    cc = f"{family}-{version}" if version else family
    if family == "clang" and not linker:
        linker = "lld"
    return ToolchainSpec(
        cc=(cc,),
        fuse_ld=linker,
        cflags=tuple(cflags),
        ldflags=tuple(ldflags),
        preset=name,
        origin=f"--toolchain {name}",
    )


def _which(program: str, env: Mapping[str, str]) -> Path | None:
    found = shutil.which(program, path=env.get("PATH", os.environ.get("PATH")))
    return Path(found) if found else None


def _stat_identity(path: Path) -> str:
    """Path, size and mtime of the real file: changes when it is rebuilt."""
    real = path.resolve()
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
    return _digest(_stat_identity(path), *facts)


def _tool(argv: Sequence[str], option: str, env: Mapping[str, str]) -> Tool:
    program = argv[0]
    path = Path(program) if "/" in program else _which(program, env)
    if path is None or not path.exists():
        raise UsageError(f"{option}: {program!r} not found" + ("" if "/" in program else " on PATH"))
    if not os.access(path, os.X_OK) or path.is_dir():
        raise UsageError(f"{option}: {path} is not an executable file")
    return Tool(tuple(argv), path, tool_identity(path, " ".join(argv[1:])))


def _digest(*parts: str) -> str:
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


def _macros(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] == "#define":
            out[parts[1]] = parts[2] if len(parts) == 3 else ""
    return out


def _family_and_version(macros: Mapping[str, str]) -> tuple[str, Version] | None:
    if "__clang__" in macros:
        keys = ("__clang_major__", "__clang_minor__", "__clang_patchlevel__")
        family = "clang"
    elif "__GNUC__" in macros:
        keys = ("__GNUC__", "__GNUC_MINOR__", "__GNUC_PATCHLEVEL__")
        family = "gcc"
    else:
        return None
    return family, Version(".".join(macros.get(k, "0") for k in keys))


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


def _archive_candidates(kind: str, family: str, cc: Tool, version: Version, prober: _Prober) -> list[str]:
    """The compiler's own wrapper first (gcc-ar-N beside gcc-N, llvm-ar of the same LLVM)."""
    if family == "gcc":
        base = Path(cc.argv[0]).name
        wrapper = f"gcc-{kind}"
        candidates = []
        if "gcc" in base:
            head, _, tail = base.rpartition("gcc")
            candidates.append(f"{head}{wrapper}{tail}")
        candidates.append(wrapper)
        folder = Path(cc.argv[0]).parent if "/" in cc.argv[0] else cc.path.parent
        return [str(folder / c) for c in candidates] + candidates
    llvm = f"llvm-{kind}"
    candidates = []
    printed = prober.answer([*cc.argv, f"-print-prog-name={llvm}"])
    if printed.startswith("/"):
        candidates.append(printed)
    candidates.append(f"{llvm}-{version.major}")
    clang = _clang_binary(prober, cc)
    if clang is not None:
        candidates.append(str(clang.resolve().parent / llvm))
    candidates += [f"/usr/lib/llvm-{version.major}/bin/{llvm}", llvm]
    return list(dict.fromkeys(candidates))


def _clang_binary(prober: _Prober, cc: Tool) -> Path | None:
    """The real clang program behind the driver command (``clang-19``, ``zig cc``)."""
    printed = prober.answer([*cc.argv, "-print-prog-name=clang"])
    if printed.startswith("/") and Path(printed).is_file():
        return Path(printed)
    output = prober.answer([*cc.argv, "--version"])
    installed = next((ln.split(":", 1)[1].strip() for ln in output.splitlines() if ln.startswith("InstalledDir:")), "")
    for name in ("clang", "zig"):
        if installed and (Path(installed) / name).is_file():
            return Path(installed) / name
    return cc.path if cc.path.is_file() else None


def _archive_tool(
    kind: str,
    given: tuple[str, ...] | None,
    family: str,
    cc: Tool,
    version: Version,
    env: Mapping[str, str],
    prober: _Prober,
    warnings: list[str],
) -> Tool | None:
    """ar/nm/ranlib under test, with its version; clang's own are checked to be of its LLVM.

    A mismatch the user asked for is kept and warned about in the header; a
    default that matches nothing falls back to the first one found, warned too.
    """
    option = f"--{kind}"
    if given:
        tool = _tool(given, option, env)
        text = _version_text(prober, given)
        major = _llvm_major(text)
        if family == "clang" and major is not None and major != version.major:
            warnings.append(f"{option} {tool.path} is LLVM {major}, the compiler is clang {version.major}")
        return replace(tool, version=text, identity=_digest(tool.identity, text))
    first: tuple[Path, str, str] | None = None
    for candidate in _archive_candidates(kind, family, cc, version, prober):
        path = _executable(candidate, env)
        if path is None:
            continue
        text = _version_text(prober, [candidate])
        if family == "gcc" or _llvm_major(text) == version.major:
            tool = _tool([candidate], option, env)
            return replace(tool, version=text, identity=_digest(tool.identity, text))
        first = first or (path, candidate, text)
    if first is not None:
        path, candidate, text = first
        warnings.append(f"no {kind} of LLVM {version.major} found; using {path} ({text})")
        tool = _tool([candidate], option, env)
        return replace(tool, version=text, identity=_digest(tool.identity, text))
    env_name = {"ar": "AR", "nm": "NM", "ranlib": "RANLIB"}[kind]
    argv = split_command(env.get(env_name)) or (kind,)
    try:
        tool = _tool(argv, option, env)
    except UsageError:
        if kind == "ranlib":
            return None
        raise
    text = _version_text(prober, argv)
    return replace(tool, version=text, identity=_digest(tool.identity, text))


def _needed_libraries(binary: Path) -> list[Path]:
    """The LLVM shared libraries a clang/lld/LLVMgold binary loads (DT_NEEDED, found like ld.so would)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    try:
        with binary.open("rb") as handle:
            image = ELFFile(handle)
            needed, paths = [], []
            for section in image.iter_sections():
                if isinstance(section, DynamicSection):
                    for tag in section.iter_tags():
                        if tag.entry.d_tag == "DT_NEEDED":
                            needed.append(tag.needed)
                        elif tag.entry.d_tag in ("DT_RUNPATH", "DT_RPATH"):
                            value = tag.runpath if tag.entry.d_tag == "DT_RUNPATH" else tag.rpath
                            paths += value.replace("$ORIGIN", str(binary.resolve().parent)).split(":")
    except (OSError, ELFError):
        return []
    multiarch = f"{platform.machine()}-linux-gnu"
    paths += [f"/lib/{multiarch}", f"/usr/lib/{multiarch}", "/lib", "/usr/lib", "/lib64", "/usr/lib64"]
    found = []
    for name in needed:
        if not LIBLLVM_NAME.match(name):
            continue
        hit = next((Path(d) / name for d in paths if d and (Path(d) / name).exists()), None)
        if hit is not None:
            found.append(hit)
    return found


def _gcc_components(prober: _Prober, argv: Sequence[str], linker: str, plugin: Path | None) -> list[Component]:
    """The programs a GCC LTO compile and link run, as the driver finds them (-print-prog-name)."""
    out = []
    env = prober.env
    for role in ("cc1", "lto1", "lto-wrapper", "collect2", "as", "ld" if linker == "bfd" else f"ld.{linker}"):
        printed = prober.answer([*argv, f"-print-prog-name={role}"]) or role
        path = _executable(printed, env) if "/" in printed else _executable(role, env)
        if path is None:
            continue
        version = ""
        if role in ("cc1", "lto1", "collect2"):
            flag = "--version" if role == "collect2" else "-version"
            version = prober.version_line([str(path), flag])
        out.append(Component(role, path, version))
    if plugin is not None:
        out.append(Component("liblto_plugin", plugin))
    return out


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def _clang_components(prober: _Prober, cc: Tool, linker: str) -> list[Component]:
    """clang itself, the lld it runs, the LLVM libraries they load, and LLVMgold for GNU linkers."""
    out = []
    clang = _clang_binary(prober, cc)
    if clang is not None:
        out.append(Component("clang", clang, _version_text(prober, cc.argv)))
    lld_printed = prober.answer([*cc.argv, "-print-prog-name=ld.lld"])
    lld = _executable(lld_printed, prober.env) if lld_printed else None
    if linker == "lld" and lld is not None:
        out.append(Component("ld.lld", lld, _version_text(prober, [str(lld)])))
    gold = prober.answer([*cc.argv, "-print-file-name=LLVMgold.so"])
    if linker in ("bfd", "gold") and gold.startswith("/") and Path(gold).is_file():
        libs = _needed_libraries(Path(gold))
        out.append(Component("LLVMgold", Path(gold).resolve(), ", ".join(p.name for p in libs)))
    seen: set[Path] = set()
    for component in list(out):
        for lib in _needed_libraries(component.path):
            if lib.resolve() not in seen:
                seen.add(lib.resolve())
                out.append(Component("libLLVM", lib.resolve()))
    return out


def resolve(spec: ToolchainSpec, *, label: str | None = None) -> Toolchain:
    """Find and validate every tool of spec; raise UsageError on any problem."""
    env = {**os.environ, **dict(spec.env)}
    if spec.fuse_ld is not None and spec.fuse_ld not in LINKERS:
        raise UsageError(f"--fuse-ld {spec.fuse_ld!r}: unknown linker; known: {', '.join(LINKERS)}")
    option = spec.origin
    cc = replace(_tool(spec.cc, option, env), env=spec.env)
    scratch = os.environ.get(SCRATCH_ENV)
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lto-conformance-probe-", dir=scratch) as tmp:
        work = Path(tmp)
        probe = _Prober(option, work, dict(spec.env))
        step = probe([*spec.cc, *spec.cflags, "-dM", "-E", "-x", "c", "/dev/null"])
        macros = _macros(step.output) if step.ok else {}
        found = _family_and_version(macros)
        if found is None:
            detail = f"exit {step.returncode}" if not step.ok else "it printed no GCC or clang macros"
            raise UsageError(f"{option}: {shlex.join(spec.cc)} is not a working C compiler ({detail})")
        family, version = found
        (work / "probe.c").write_text(
            "#include <stdio.h>\nint lto_conformance_probe(void) { return 42; }\n"
            'int main(void) { puts("probe ok"); return 0; }\n'
        )
        step = probe([*spec.cc, *spec.cflags, "-c", "probe.c", "-o", "probe.o"])
        obj = work / "probe.o"
        if not step.ok or not obj.exists() or obj.read_bytes()[:4] not in (b"\x7fELF", b"BC\xc0\xde"):
            raise UsageError(
                f"{option}: {shlex.join(spec.cc)} did not compile a trivial C file to an object\n"
                + step.describe_failure()
            )
        with_flags = [*spec.cc, *spec.cflags]
        target, arch = _target(probe, family, with_flags, _arch_from_macros(macros))
        fuse = (f"-fuse-ld={spec.fuse_ld}",) if spec.fuse_ld else ()
        link_option = f"--fuse-ld {spec.fuse_ld}" if spec.fuse_ld else option
        link = [*with_flags, *fuse, *spec.ldflags]
        step = probe([*link, "probe.o", "-o", "probe"], link_option)
        if not step.ok or not (work / "probe").exists():
            raise UsageError(
                f"{link_option}: {shlex.join(spec.cc)} could not link a trivial program\n" + step.describe_failure()
            )
        step = probe([*link, "-Wl,--version", "probe.o", "-o", "probe2"], link_option)
        flavour = _linker_flavour(step.output)
        if flavour is None:
            verbose = probe([*link, "-v", "probe.o", "-o", "probe2"], link_option)
            real = _linker_from_verbose(verbose.output)
            said = _first_line(step.output)
            if real is None or not verbose.ok:
                raise UsageError(f"{link_option}: cannot tell which linker {shlex.join(spec.cc)} runs\n" + step.output)
            flavour = (real, f"{said} (runs {real} per -v)")
        linker, linker_version = flavour
        if spec.fuse_ld and spec.fuse_ld != linker:
            raise UsageError(f"--fuse-ld {spec.fuse_ld}: the driver ran {linker} instead ({linker_version})")
        if family == "clang" and linker == "lld":
            major = _llvm_major(linker_version)
            if major is not None and major != version.major:
                warnings.append(f"the linker is LLD {major}, the compiler is clang {version.major}")
        run_mode, runner, run_note = _runner(probe, with_flags, target, arch)
        plugin = None
        if family == "gcc":
            printed = probe([*spec.cc, "-print-file-name=liblto_plugin.so"]).output.strip()
            plugin = Path(printed) if printed.startswith("/") and Path(printed).exists() else None
        version_text = probe([*spec.cc, "--version"]).output.strip()
        cc = replace(cc, version=_first_line(version_text))
        tools = {}
        for kind in ("ar", "nm", "ranlib"):
            tool = _archive_tool(kind, getattr(spec, kind), family, cc, version, env, probe, warnings)
            tools[kind] = replace(tool, env=spec.env) if tool else None
        if family == "gcc":
            components = _gcc_components(probe, [*spec.cc, *spec.cflags, *fuse], linker, plugin)
        else:
            components = _clang_components(probe, cc, linker)
        post_link = {
            kind: replace(tool, env=spec.env, version=_version_text(probe, tool.argv)) if tool else None
            for kind, tool in resolve_post_link_tools(spec, family, cc, version, env, work).items()
        }
    identity = _digest(
        cc.identity,
        version_text,
        linker_version,
        _stat_identity(plugin) if plugin else "",
        *(f"{c.role}={_stat_identity(c.path)}" for c in components),
        " ".join(spec.cflags),
        " ".join(spec.ldflags),
        spec.fuse_ld or "",
        " ".join(f"{k}={v}" for k, v in spec.env),
    )
    host = host_arch()
    default_label = f"{family}-{version}+{linker}" + (f"/{arch}" if arch != host else "")
    preset_label = f"{spec.preset}/{arch}" if spec.preset and arch != host else spec.preset
    return Toolchain(
        label=label or spec.name or preset_label or default_label,
        family=family,
        version=version,
        target=target,
        cc=replace(cc, identity=identity),
        ar=tools["ar"],
        nm=tools["nm"],
        ranlib=tools["ranlib"],
        fuse_ld=spec.fuse_ld,
        linker=linker,
        linker_version=linker_version,
        cflags=spec.cflags,
        ldflags=spec.ldflags,
        plugin=plugin,
        identity=identity,
        **post_link,
        arch=arch,
        host_arch=host,
        run_mode=run_mode,
        runner=runner,
        run_note=run_note,
        components=tuple(components),
        warnings=tuple(warnings),
        env=spec.env,
    )


TOOLCHAIN_KEYS = {
    "name": str,
    "cc": (str, list),
    "ar": (str, list),
    "nm": (str, list),
    "ranlib": (str, list),
    "strip": (str, list),
    "objcopy": (str, list),
    "fuse_ld": str,
    "cflags": (str, list),
    "ldflags": (str, list),
    "env": dict,
}


def _command(value: str | list, where: str) -> tuple[str, ...]:
    """A command or flags as a shell string ("gcc -m32") or a list (["gcc", "-m32"])."""
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise UsageError(f"{where}: every item must be a string")
        return tuple(value)
    return tuple(shlex.split(value))


def load_toolchains_file(path: Path, *, cflags: Sequence[str] = (), ldflags: Sequence[str] = ()) -> list[ToolchainSpec]:
    """``--toolchains FILE``: ``[[toolchain]]`` entries, each with its own tools, validated as a whole.

    An unknown key or table, a missing ``cc``, a wrong type or a repeated name
    is one usage error naming the file and the entry, before anything runs.
    ``--cflags``/``--ldflags`` given on the command line come after each entry's own.
    """
    option = f"--toolchains {path}"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{option}: {exc}") from None
    extra = sorted(set(data) - {"toolchain"})
    if extra:
        raise UsageError(f"{option}: unknown table or key {extra[0]!r}; entries are [[toolchain]] tables")
    entries = data.get("toolchain", [])
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{option}: no [[toolchain]] entry")
    specs, names = [], set()
    for number, raw in enumerate(entries, start=1):
        where = f"{option}: toolchain {number}" + (f" ({raw['name']})" if isinstance(raw.get("name"), str) else "")
        unknown = sorted(set(raw) - set(TOOLCHAIN_KEYS))
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(TOOLCHAIN_KEYS)}")
        if "cc" not in raw:
            raise UsageError(f"{where}: missing key 'cc'")
        for key, value in raw.items():
            if not isinstance(value, TOOLCHAIN_KEYS[key]):
                raise UsageError(f"{where}: key {key!r} has the wrong type ({type(value).__name__})")
        env = raw.get("env", {})
        if not all(isinstance(v, str) for v in env.values()):
            raise UsageError(f"{where}: every value of 'env' must be a string")
        if raw.get("fuse_ld") is not None and raw["fuse_ld"] not in LINKERS:
            raise UsageError(f"{where}: fuse_ld {raw['fuse_ld']!r}: unknown linker; known: {', '.join(LINKERS)}")
        name = raw.get("name")
        if name is not None:
            if name in names:
                raise UsageError(f"{where}: name {name!r} used twice")
            names.add(name)
        cc = _command(raw["cc"], f"{where}: cc")
        if not cc:
            raise UsageError(f"{where}: empty cc")
        tools = {
            k: _command(raw[k], f"{where}: {k}") or None for k in ("ar", "nm", "ranlib", "strip", "objcopy") if k in raw
        }

        specs.append(
            ToolchainSpec(
                cc=cc,
                ar=tools.get("ar"),
                nm=tools.get("nm"),
                ranlib=tools.get("ranlib"),
                strip=tools.get("strip"),
                objcopy=tools.get("objcopy"),
                fuse_ld=raw.get("fuse_ld"),
                cflags=(*_command(raw.get("cflags", ""), f"{where}: cflags"), *cflags),
                ldflags=(*_command(raw.get("ldflags", ""), f"{where}: ldflags"), *ldflags),
                origin=f"{option} (toolchain {name or number})",
                name=name,
                env=tuple(sorted(env.items())),
            )
        )
    return specs


POST_LINK_TOOLS = ("strip", "objcopy")
LLVM_VERSION = re.compile(r"LLVM version (\d+)\.")


def _tool_version(argv: Sequence[str], workdir: Path) -> str:
    step = run([*argv, "--version"], cwd=workdir, timeout=PROBE_TIMEOUT, measure_rss=False)
    return step.output.strip() if step.ok else ""


def _post_link_candidates(kind: str, family: str, cc: Tool, version: Version, workdir: Path) -> list[str]:
    """Where the toolchain's own strip/objcopy live: the driver's answer first, then the usual names.

    GCC: binutils, which the driver names with its cross prefix (``-print-prog-name``).
    clang: llvm-<kind> of the same LLVM; ``-print-prog-name`` may answer another LLVM's
    /usr/bin tool (clang-16 on Debian 12 answers LLVM 14's), so versions are checked later.
    """
    name = kind if family == "gcc" else f"llvm-{kind}"
    step = run([*cc.argv, f"-print-prog-name={name}"], cwd=workdir, timeout=PROBE_TIMEOUT, measure_rss=False)
    printed = step.output.strip() if step.ok else ""
    candidates = [os.path.normpath(printed)] if printed.startswith("/") else []
    if family == "gcc":
        base = Path(cc.argv[0]).name
        head = base.rpartition("gcc")[0] if "gcc" in base else ""
        if head:
            candidates.append(f"{head}{kind}")
        return [*candidates, kind]
    major = version.major
    return [*candidates, f"{name}-{major}", f"/usr/lib/llvm-{major}/bin/{name}", name]


def _is_own_tool(kind: str, family: str, version: Version, text: str) -> bool:
    if family == "gcc":
        return text.startswith(f"GNU {kind}")
    match = LLVM_VERSION.search(text)
    return match is not None and int(match[1]) == version.major


def resolve_post_link_tools(
    spec: ToolchainSpec, family: str, cc: Tool, version: Version, env: Mapping[str, str], workdir: Path
) -> dict[str, Tool | None]:
    """strip/objcopy under test: --strip/--objcopy as given, else the toolchain's own, version-checked.

    A given tool must exist (a usage error otherwise); a default that cannot be
    found is None, and post-link-tools skips with that reason.
    """
    out: dict[str, Tool | None] = {}
    for kind in POST_LINK_TOOLS:
        given = getattr(spec, kind)
        if given:
            tool = _tool(given, f"--{kind}", env)
            out[kind] = replace(tool, identity=_digest(tool.identity, _tool_version(given, workdir)))
            continue
        out[kind] = None
        for candidate in _post_link_candidates(kind, family, cc, version, workdir):
            path = Path(candidate) if "/" in candidate else _which(candidate, env)
            if path is None or not path.is_file() or not os.access(path, os.X_OK):
                continue
            text = _tool_version([candidate], workdir)
            if _is_own_tool(kind, family, version, text):
                tool = _tool([candidate], f"--{kind}", env)
                out[kind] = replace(tool, identity=_digest(tool.identity, text))
                break
    return out
