"""What toolchain is under test: resolve, validate and describe it once.

A ``ToolchainSpec`` is what the user asked for (options, environment or a
tuxmake-style preset); ``resolve`` turns it into a frozen ``Toolchain`` with
every binary found, the compiler proven to be a working C compiler, and the
facts the properties depend on (family, version, target, linker flavour,
plugin path) detected by running the tools, never guessed from names.
Problems the user can fix raise ``UsageError`` naming the option.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shlex
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.version import Version

from .errors import UsageError
from .process import SCRATCH_ENV, Step, run

PROBE_TIMEOUT = 15.0
LINKERS = ("bfd", "gold", "mold", "lld")
PRESET_RE = re.compile(r"^(?P<family>gcc|clang)(?:-(?P<version>\d+))?(?:\+(?P<linker>[A-Za-z0-9._-]+))?$")


@dataclass(frozen=True)
class Tool:
    """One resolved program: how to call it and what makes it unique."""

    argv: tuple[str, ...]
    path: Path
    identity: str

    @property
    def name(self) -> str:
        return Path(self.argv[0]).name


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

    @property
    def full_id(self) -> str:
        """Family, exact version and linker: what a report must name."""
        return f"{self.family}-{self.version}+{self.linker}"

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
    def arch(self) -> str:
        """The target CPU (``x86_64``, ``aarch64``), first field of the target triple."""
        return self.target.split("-")[0]

    @property
    def runs_natively(self) -> bool:
        """Whether programs it links can run on this machine."""
        return self.arch == platform.machine()

    def header(self) -> str:
        """One block for pytest's report header: every resolved tool."""
        lines = [
            f"{self.label}: {self.full_id} target {self.target}",
            f"  cc      {shlex.join(self.cc.argv)}  ({self.cc.path})",
            f"  ar      {shlex.join(self.ar.argv)}  ({self.ar.path})",
            f"  nm      {shlex.join(self.nm.argv)}  ({self.nm.path})",
        ]
        if self.ranlib:
            lines.append(f"  ranlib  {shlex.join(self.ranlib.argv)}  ({self.ranlib.path})")
        for kind in ("strip", "objcopy"):
            tool = getattr(self, kind)
            if tool:
                lines.append(f"  {kind:<7} {shlex.join(tool.argv)}  ({tool.path})")
        lines.append(f"  linker  {self.linker}: {self.linker_version}")
        if self.plugin:
            lines.append(f"  plugin  {self.plugin}")
        if self.cflags or self.ldflags:
            lines.append(f"  cflags  {shlex.join(self.cflags)}   ldflags {shlex.join(self.ldflags)}")
        return "\n".join(lines)


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


def _probe(argv: Sequence[str], option: str, cwd: Path) -> Step:
    """Run one validation command with a short timeout: a hanging compiler is a usage error."""
    timeout = float(os.environ.get("LTO_CONFORMANCE_PROBE_TIMEOUT", PROBE_TIMEOUT))
    step = run(argv, cwd=cwd, timeout=timeout, measure_rss=False)
    if step.timed_out:
        raise UsageError(
            f"{option}: {shlex.join(argv)} did not finish within {timeout:g} s; "
            "is the compiler hanging or waiting for input?"
        )
    return step


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


def _default_archive_tool(
    kind: str, family: str, cc: Tool, version: Version, env: Mapping[str, str], workdir: Path
) -> tuple[str, ...]:
    """The compiler's own wrapper first (gcc-ar beside gcc, llvm-ar of the same LLVM)."""
    env_name = {"ar": "AR", "nm": "NM", "ranlib": "RANLIB"}[kind]
    candidates: list[str] = []
    if family == "gcc":
        base = Path(cc.argv[0]).name
        wrapper = f"gcc-{kind}"
        if "gcc" in base:
            head, _, tail = base.rpartition("gcc")
            candidates.append(f"{head}{wrapper}{tail}")
        candidates.append(wrapper)
        folder = Path(cc.argv[0]).parent if "/" in cc.argv[0] else cc.path.parent
        candidates = [str(folder / c) for c in candidates] + candidates
    else:
        llvm = f"llvm-{kind}"
        step = run([*cc.argv, f"-print-prog-name={llvm}"], cwd=workdir, timeout=PROBE_TIMEOUT, measure_rss=False)
        printed = step.output.strip()
        if step.ok and printed.startswith("/"):
            candidates.append(printed)
        candidates += [f"{llvm}-{version.major}", llvm]
    for candidate in candidates:
        path = Path(candidate) if "/" in candidate else _which(candidate, env)
        if path is not None and path.is_file() and os.access(path, os.X_OK):
            return (str(candidate),)
    from_env = split_command(env.get(env_name))
    if from_env:
        return from_env
    return (kind,)


def resolve(spec: ToolchainSpec, *, label: str | None = None) -> Toolchain:
    """Find and validate every tool of spec; raise UsageError on any problem."""
    env = dict(os.environ)
    if spec.fuse_ld is not None and spec.fuse_ld not in LINKERS:
        raise UsageError(f"--fuse-ld {spec.fuse_ld!r}: unknown linker; known: {', '.join(LINKERS)}")
    option = spec.origin
    cc = _tool(spec.cc, option, env)
    scratch = os.environ.get(SCRATCH_ENV)
    with tempfile.TemporaryDirectory(prefix="lto-conformance-probe-", dir=scratch) as tmp:
        work = Path(tmp)
        step = _probe([*spec.cc, *spec.cflags, "-dM", "-E", "-x", "c", "/dev/null"], option, work)
        found = _family_and_version(_macros(step.output)) if step.ok else None
        if found is None:
            detail = f"exit {step.returncode}" if not step.ok else "it printed no GCC or clang macros"
            raise UsageError(f"{option}: {shlex.join(spec.cc)} is not a working C compiler ({detail})")
        family, version = found
        (work / "probe.c").write_text("int lto_conformance_probe(void) { return 42; }\nint main(void) { return 0; }\n")
        step = _probe([*spec.cc, *spec.cflags, "-c", "probe.c", "-o", "probe.o"], option, work)
        obj = work / "probe.o"
        if not step.ok or not obj.exists() or obj.read_bytes()[:4] not in (b"\x7fELF", b"BC\xc0\xde"):
            raise UsageError(
                f"{option}: {shlex.join(spec.cc)} did not compile a trivial C file to an object\n"
                + step.describe_failure()
            )
        target = _probe([*spec.cc, "-dumpmachine"], option, work).output.strip() or "unknown"
        fuse = (f"-fuse-ld={spec.fuse_ld}",) if spec.fuse_ld else ()
        link_option = f"--fuse-ld {spec.fuse_ld}" if spec.fuse_ld else option
        step = _probe([*spec.cc, *fuse, *spec.ldflags, "probe.o", "-o", "probe"], link_option, work)
        if not step.ok or not (work / "probe").exists():
            raise UsageError(
                f"{link_option}: {shlex.join(spec.cc)} could not link a trivial program\n" + step.describe_failure()
            )
        step = _probe([*spec.cc, *fuse, "-Wl,--version", "probe.o", "-o", "probe2"], link_option, work)
        flavour = _linker_flavour(step.output)
        if flavour is None:
            raise UsageError(f"{link_option}: cannot tell which linker {shlex.join(spec.cc)} runs\n" + step.output)
        linker, linker_version = flavour
        if spec.fuse_ld and spec.fuse_ld != linker:
            raise UsageError(f"--fuse-ld {spec.fuse_ld}: the driver ran {linker} instead ({linker_version})")
        plugin = None
        if family == "gcc":
            printed = _probe([*spec.cc, "-print-file-name=liblto_plugin.so"], option, work).output.strip()
            plugin = Path(printed) if printed.startswith("/") and Path(printed).exists() else None
        version_text = _probe([*spec.cc, "--version"], option, work).output.strip()
        tools = {}
        for kind, given in (("ar", spec.ar), ("nm", spec.nm), ("ranlib", spec.ranlib)):
            argv = given or _default_archive_tool(kind, family, cc, version, env, work)
            try:
                tools[kind] = _tool(argv, f"--{kind}", env)
            except UsageError:
                if given or kind == "ranlib":
                    if given:
                        raise
                    tools[kind] = None
                    continue
                raise
        post_link = resolve_post_link_tools(spec, family, cc, version, env, work)
    identity = _digest(
        cc.identity,
        version_text,
        linker_version,
        _stat_identity(plugin) if plugin else "",
        " ".join(spec.cflags),
        " ".join(spec.ldflags),
        spec.fuse_ld or "",
    )
    default_label = f"{family}-{version}+{linker}"
    return Toolchain(
        label=label or spec.preset or default_label,
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
    )


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
