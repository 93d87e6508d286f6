"""Resolved toolchains remembered across runs, checked against the files they were made of.

Resolving a toolchain runs a few dozen compiler probes (macros, target,
linker, plugin, each tool's version, the LTO components of ``-v``), about
0.1 to 0.3 s per toolchain before any test runs. Its result is a function
of the spec, the environment and the programs it found, so it is kept
(``toolchains/`` in the cache) with the identity (path, size, mtime) of
every one of those programs, the directories of ``PATH`` and the
harness's own code in its key. A later run uses it only when each program
is still the one it was: a rebuilt lto1, a new llvm-ar, qemu-user
installed or removed, and the toolchain is resolved again. A spec that
does not resolve (a usage error) is never kept.
``LTO_CONFORMANCE_RESOLUTION_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

from .cache_files import write_atomically
from .toolchain import Toolchain, ToolchainSpec
from .verdict_cache import environment_identity, program_identity, suite_identity

RESOLUTION_CACHE_ENV = "LTO_CONFORMANCE_RESOLUTION_CACHE"
FORMAT = "1"


def enabled() -> bool:
    return os.environ.get(RESOLUTION_CACHE_ENV, "1") != "0"


def files_of(toolchain: Toolchain, spec: ToolchainSpec) -> dict[str, str]:
    """Every file the resolution found or ran, by identity: tools, plugin, components, emulator, sysroot."""
    paths: list[str] = [str(c.path) for c in toolchain.components]
    for tool in (toolchain.cc, toolchain.ar, toolchain.nm, toolchain.ranlib, toolchain.strip, toolchain.objcopy):
        if tool is not None:
            paths.append(str(tool.path))
    if toolchain.plugin is not None:
        paths.append(str(toolchain.plugin))
    given = spec.cc[0]
    found = given if "/" in given else shutil.which(given, path=dict(spec.env).get("PATH", os.environ.get("PATH")))
    if found:
        paths.append(found)
    for i, arg in enumerate(toolchain.runner):
        if i == 0:
            paths.append(shutil.which(arg) or arg)
        elif toolchain.runner[i - 1] == "-L":
            paths.append(arg)
    return {os.path.realpath(p): program_identity(os.path.realpath(p)) for p in paths}


def resolve_cached(
    spec: ToolchainSpec, root: Path | None, resolve: Callable[[ToolchainSpec], Toolchain], cases_root: Path
) -> Toolchain:
    """``resolve(spec)``, or the toolchain a previous run resolved from the same spec and files."""
    if root is None or not enabled():
        return resolve(spec)
    key = hashlib.sha256(
        "\0".join([FORMAT, suite_identity(cases_root), environment_identity(), repr(spec)]).encode()
    ).hexdigest()
    entry = root / "toolchains" / f"{key}.pickle"
    try:
        toolchain, files = pickle.loads(entry.read_bytes())
        if all(program_identity(path) == identity for path, identity in files.items()):
            return toolchain
    except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError, TypeError):
        pass  # no entry, or one this code cannot read: resolve
    toolchain = resolve(spec)
    write_atomically(root, entry, pickle.dumps((toolchain, files_of(toolchain, spec))))
    return toolchain
