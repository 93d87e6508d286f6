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

import os
import shlex
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.version import Version

from .errors import UsageError
from .probe import (
    PROBE_TIMEOUT,
    PROBE_TIMEOUT_ENV,
    Component,
    Tool,
    _first_line,
    _linker_flavour,
    _linker_from_verbose,
    _llvm_major,
    _Prober,
    _stat_identity,
    _version_text,
    digest,
    family_and_version,
    find_tool,
    parse_macros,
    probe_timeout,
    split_command,
    tool_identity,
)
from .process import SCRATCH_ENV
from .target import _arch_from_macros, _runner, _target, host_arch, normalize_arch
from .tool_discovery import _archive_tool, _clang_components, _gcc_components, resolve_post_link_tools
from .toolchain_spec import LINKERS, PRESET_RE, ToolchainSpec, load_toolchains_file, spec_from_preset

# The toolchain API in one place: what its parts (probe, target, tool_discovery,
# toolchain_spec) define, callers import from here.
__all__ = [
    "LINKERS",
    "PRESET_RE",
    "PROBE_TIMEOUT",
    "PROBE_TIMEOUT_ENV",
    "Component",
    "Tool",
    "Toolchain",
    "ToolchainSpec",
    "_linker_from_verbose",
    "digest",
    "family_and_version",
    "find_tool",
    "host_arch",
    "load_toolchains_file",
    "normalize_arch",
    "parse_macros",
    "probe_timeout",
    "resolve",
    "spec_from_preset",
    "split_command",
    "tool_identity",
]


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
    # False where the driver refuses linker save-temps flags (zig cc: "unsupported linker arg").
    save_temps: bool = True

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
        """Link flags that keep the LTO plugin's resolution and LTRANS output (none where the driver refuses them)."""
        if not self.save_temps:
            return ()
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
        if not self.save_temps:
            lines.append("  note    the driver refuses linker save-temps: LTO is proven by IR inputs becoming code")
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


def resolve(spec: ToolchainSpec, *, label: str | None = None) -> Toolchain:
    """Find and validate every tool of spec; raise UsageError on any problem."""
    env = {**os.environ, **dict(spec.env)}
    if spec.fuse_ld is not None and spec.fuse_ld not in LINKERS:
        raise UsageError(f"--fuse-ld {spec.fuse_ld!r}: unknown linker; known: {', '.join(LINKERS)}")
    option = spec.origin
    cc = replace(find_tool(spec.cc, option, env), env=spec.env)
    scratch = os.environ.get(SCRATCH_ENV)
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lto-conformance-probe-", dir=scratch) as tmp:
        work = Path(tmp)
        probe = _Prober(option, work, dict(spec.env))
        step = probe([*spec.cc, *spec.cflags, "-dM", "-E", "-x", "c", "/dev/null"])
        macros = parse_macros(step.output) if step.ok else {}
        found = family_and_version(macros)
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
        # The remaining questions do not depend on each other: asked side by side, they cost
        # about the slowest of them instead of their sum (clang-19 cold, measured: 0.65 -> 0.5 s).
        with ThreadPoolExecutor(max_workers=6) as pool:
            running = pool.submit(_runner, probe, with_flags, target, arch)
            kept = (
                pool.submit(probe, [*link, "-Wl,--save-temps", "probe.o", "-o", "probe-temps"], link_option)
                if family == "clang" and linker == "lld"
                else None
            )
            printed = pool.submit(probe, [*spec.cc, "-print-file-name=liblto_plugin.so"]) if family == "gcc" else None
            versioned = pool.submit(probe, [*spec.cc, "--version"])
            version_text = versioned.result().output.strip()
            cc = replace(cc, version=_first_line(version_text))
            plugin = None
            if printed is not None:
                where = printed.result().output.strip()
                plugin = Path(where) if where.startswith("/") and Path(where).exists() else None

            def archive_tool(kind: str) -> tuple[Tool | None, list[str]]:
                said: list[str] = []  # each kind's own warnings, joined in a fixed order below
                tool = _archive_tool(kind, getattr(spec, kind), family, cc, version, env, probe, said)
                return (replace(tool, env=spec.env) if tool else None), said

            def post_link_tools() -> dict[str, Tool | None]:
                return {
                    kind: replace(tool, env=spec.env, version=_version_text(probe, tool.argv)) if tool else None
                    for kind, tool in resolve_post_link_tools(spec, family, cc, version, env, work).items()
                }

            found_tools = {kind: pool.submit(archive_tool, kind) for kind in ("ar", "nm", "ranlib")}
            if family == "gcc":
                found_components = pool.submit(_gcc_components, probe, [*spec.cc, *spec.cflags, *fuse], linker, plugin)
            else:
                found_components = pool.submit(_clang_components, probe, cc, linker)
            found_post_link = pool.submit(post_link_tools)
            run_mode, runner, run_note = running.result()
            save_temps = kept.result().ok if kept is not None else True
            tools = {}
            for kind, future in found_tools.items():
                tools[kind], said = future.result()
                warnings.extend(said)
            components, post_link = found_components.result(), found_post_link.result()
    identity = digest(
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
        save_temps=save_temps,
    )
