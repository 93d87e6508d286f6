"""The tools beside the compiler: its own ar/nm/ranlib and strip/objcopy, and the components it runs.

Each candidate is verified by its version (``clang-16 -print-prog-name=llvm-ar``
may answer another LLVM's), and every program a step runs (cc1, lto1,
lto-wrapper, collect2, as, ld, the plugins, lld, libLLVM) becomes a
``Component`` of the toolchain's identity.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from .errors import UsageError
from .probe import (
    LIBLLVM_NAME,
    PROBE_TIMEOUT,
    Component,
    Tool,
    _executable,
    _llvm_major,
    _Prober,
    _version_text,
    _which,
    digest,
    find_tool,
    split_command,
)
from .process import run

if TYPE_CHECKING:
    from .toolchain import ToolchainSpec


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
        tool = find_tool(given, option, env)
        text = _version_text(prober, given)
        major = _llvm_major(text)
        if family == "clang" and major is not None and major != version.major:
            warnings.append(f"{option} {tool.path} is LLVM {major}, the compiler is clang {version.major}")
        return replace(tool, version=text, identity=digest(tool.identity, text))
    first: tuple[Path, str, str] | None = None
    for candidate in _archive_candidates(kind, family, cc, version, prober):
        path = _executable(candidate, env)
        if path is None:
            continue
        text = _version_text(prober, [candidate])
        if family == "gcc" or _llvm_major(text) == version.major:
            tool = find_tool([candidate], option, env)
            return replace(tool, version=text, identity=digest(tool.identity, text))
        first = first or (path, candidate, text)
    if first is not None:
        path, candidate, text = first
        warnings.append(f"no {kind} of LLVM {version.major} found; using {path} ({text})")
        tool = find_tool([candidate], option, env)
        return replace(tool, version=text, identity=digest(tool.identity, text))
    env_name = {"ar": "AR", "nm": "NM", "ranlib": "RANLIB"}[kind]
    argv = split_command(env.get(env_name)) or (kind,)
    try:
        tool = find_tool(argv, option, env)
    except UsageError:
        if kind == "ranlib":
            return None
        raise
    text = _version_text(prober, argv)
    return replace(tool, version=text, identity=digest(tool.identity, text))


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
            tool = find_tool(given, f"--{kind}", env)
            out[kind] = replace(tool, identity=digest(tool.identity, _tool_version(given, workdir)))
            continue
        out[kind] = None
        for candidate in _post_link_candidates(kind, family, cc, version, workdir):
            path = Path(candidate) if "/" in candidate else _which(candidate, env)
            if path is None or not path.is_file() or not os.access(path, os.X_OK):
                continue
            text = _tool_version([candidate], workdir)
            if _is_own_tool(kind, family, version, text):
                tool = find_tool([candidate], f"--{kind}", env)
                out[kind] = replace(tool, identity=digest(tool.identity, text))
                break
    return out
