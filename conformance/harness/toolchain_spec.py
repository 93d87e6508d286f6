"""A toolchain as the user names it, before anything is run: options, presets, ``--toolchains FILE``.

``spec_from_preset`` reads tuxmake-style names (gcc-12, clang-19+lld);
``load_toolchains_file`` a TOML matrix in which each ``[[toolchain]]`` has
its own tools and env. ``toolchain.resolve`` turns a spec into a Toolchain.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .toml_tables import check_keys, read_entries

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

LINKERS = ("bfd", "gold", "mold", "lld")
PRESET_RE = re.compile(r"^(?P<family>gcc|clang)(?:-(?P<version>\d+))?(?:\+(?P<linker>[A-Za-z0-9._-]+))?$")


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
    specs, names = [], set()
    for number, raw in enumerate(read_entries(path, option, "toolchain", allow_empty=False), start=1):
        where = f"{option}: toolchain {number}" + (f" ({raw['name']})" if isinstance(raw.get("name"), str) else "")
        check_keys(raw, where, list(TOOLCHAIN_KEYS), ("cc",))
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
