"""Read a kernel tree's Kconfig and a ``.config``, and explain a dropped option.

Kconfig silently turns an option off when its ``depends on`` is false (the
LTO options need ``HAS_LTO_CLANG``: clang, ld.lld, LLVM as/ar/nm). This
module reads just enough of the tree's Kconfig files (symbols and their
``depends on`` lines) and evaluates those expressions against the final
``.config`` to name the dependency that was not met. ``lto_choice`` maps an
LTO mode to the options a tree offers: mainline's Clang LTO, and the
out-of-tree GCC series (``CONFIG_LTO_GCC`` of 2022, the older
``CONFIG_LTO_MENU``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import Unsupported

_TOKEN = re.compile(r"\s*(\$\(|&&|\|\||!=|>=|<=|[!()<>=]|\"[^\"]*\"|[A-Za-z0-9_]+)")


@dataclass(frozen=True)
class KconfigIndex:
    """``depends on`` lines per symbol, from the Kconfig files that define the LTO choice."""

    depends: Mapping[str, tuple[str, ...]]
    defaults: Mapping[str, str]

    @property
    def symbols(self) -> set[str]:
        return set(self.depends)


def _kconfig_files(root: Path, srcarch_name: str) -> list[Path]:
    srcarch = root / "arch" / srcarch_name
    files = [root / "arch" / "Kconfig", root / "init" / "Kconfig", *sorted(srcarch.glob("Kconfig*"))]
    files += sorted((root / "init").glob("Kconfig.*"))
    return [f for f in files if f.is_file()]


def read_kconfig(root: Path, srcarch: str) -> KconfigIndex:
    """Enough of Kconfig to know which LTO options exist and what they depend on.

    ``srcarch`` is the folder under ``arch/`` (``x86`` for ARCH=x86_64).
    """
    depends: dict[str, list[str]] = {}
    defaults: dict[str, str] = {}
    block_end = re.compile(r"^(config|menuconfig|choice|endchoice|menu|endmenu|if|endif|comment|source)\b")
    for path in _kconfig_files(root, srcarch):
        current: str | None = None
        for raw in path.read_text(errors="replace").splitlines():
            line = raw.strip()
            head = re.match(r"^(?:config|menuconfig)\s+(\w+)", line)
            if head:
                current = head.group(1)
                depends.setdefault(current, [])
                continue
            if block_end.match(line):
                current = None
                continue
            if current is None:
                continue
            dep = re.match(r"^depends\s+on\s+(.*?)\s*(?:#.*)?$", line)
            if dep:
                depends[current].append(dep.group(1))
            default = re.match(r"^def_bool\s+(.*)$", line)
            if default:
                defaults[current] = default.group(1).strip()
    return KconfigIndex({k: tuple(v) for k, v in depends.items()}, defaults)


def read_config(path: Path) -> dict[str, str]:
    """``.config`` as symbol -> value (without the CONFIG_ prefix); unset symbols are absent."""
    values: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        match = re.match(r"^CONFIG_(\w+)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2).strip('"')
    return values


def edit_config(path: Path, enable: Sequence[str], disable: Sequence[str]) -> None:
    """What ``scripts/config -e/-d`` does, without a shell script per symbol."""
    touched = set(enable) | set(disable)
    kept = []
    for line in path.read_text(errors="replace").splitlines():
        match = re.match(r"^(?:# )?CONFIG_(\w+)(?:=| is not set)", line)
        if match and match.group(1) in touched:
            continue
        kept.append(line)
    kept += [f"CONFIG_{s}=y" for s in enable]
    kept += [f"# CONFIG_{s} is not set" for s in disable]
    path.write_text("\n".join(kept) + "\n")


def _tokens(expr: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(expr):
        if expr[pos].isspace():
            pos += 1
            continue
        if expr.startswith("$(", pos):
            depth, end = 0, pos
            while end < len(expr):
                depth += {"(": 1, ")": -1}.get(expr[end], 0)
                end += 1
                if depth == 0 and expr[end - 1] == ")":
                    break
            out.append("$?")
            pos = end
            continue
        match = _TOKEN.match(expr, pos)
        if not match:
            raise ValueError(expr)
        out.append(match.group(1))
        pos = match.end()
    return out


def evaluate(expr: str, config: Mapping[str, str]) -> bool | None:
    """True/False from the final .config; None where a ``$(shell ...)`` test decides."""
    try:
        tokens = _tokens(expr)
    except ValueError:
        return None
    pos = 0

    def value(tok: str) -> str | None:
        if tok == "$?":
            return None
        if tok.startswith('"'):
            return tok.strip('"')
        if tok in ("y", "n", "m") or tok.isdigit():
            return tok
        return config.get(tok, "n")

    def truth(v: str | None) -> bool | None:
        return None if v is None else v in ("y", "m")

    def primary() -> bool | None:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "!":
            inner = primary()
            return None if inner is None else not inner
        if tok == "(":
            result = disjunction()
            pos += 1
            return result
        left = value(tok)
        if pos < len(tokens) and tokens[pos] in ("=", "!=", ">=", "<=", ">", "<"):
            op = tokens[pos]
            right = value(tokens[pos + 1])
            pos += 2
            if left is None or right is None:
                return None
            if left.lstrip("-").isdigit() and right.lstrip("-").isdigit():
                a, b = int(left), int(right)
            else:
                a, b = left, right  # type: ignore[assignment]
            return {
                "=": a == b,
                "!=": a != b,
                ">=": a >= b,  # type: ignore[operator]
                "<=": a <= b,  # type: ignore[operator]
                ">": a > b,  # type: ignore[operator]
                "<": a < b,  # type: ignore[operator]
            }[op]
        return truth(left)

    def conjunction() -> bool | None:
        nonlocal pos
        result = primary()
        while pos < len(tokens) and tokens[pos] == "&&":
            pos += 1
            other = primary()
            result = False if (result is False or other is False) else (None if None in (result, other) else True)
        return result

    def disjunction() -> bool | None:
        nonlocal pos
        result = conjunction()
        while pos < len(tokens) and tokens[pos] == "||":
            pos += 1
            other = conjunction()
            result = True if (result or other) else (None if None in (result, other) else False)
        return result

    try:
        return disjunction()
    except (IndexError, KeyError):
        return None


def explain_dropped(symbol: str, config: Mapping[str, str], index: KconfigIndex, depth: int = 0) -> list[str]:
    """Which ``depends on`` of the dropped option failed, following symbols a level or two down."""
    reasons: list[str] = []
    unknown: list[str] = []
    for expr in index.depends.get(symbol, ()):
        result = evaluate(expr, config)
        if result is False:
            reasons.append(f"CONFIG_{symbol}: `depends on {expr}` is false")
            if depth < 2:
                for name in dict.fromkeys(re.findall(r"\b[A-Z][A-Z0-9_]+\b", expr)):
                    if config.get(name, "n") == "n" and name in index.depends:
                        reasons += explain_dropped(name, config, index, depth + 1)
        elif result is None:
            unknown.append(f"CONFIG_{symbol}: `depends on {expr}` (a shell test; could not evaluate here)")
    if depth == 0 and not reasons:
        reasons = unknown
    elif not reasons and symbol in index.defaults and config.get(symbol, "n") == "n":
        reasons.append(f"CONFIG_{symbol} is not set (`def_bool {index.defaults[symbol]}` came out false)")
    return reasons


# --------------------------------------------------------------------------- Kconfig -> LTO options


@dataclass(frozen=True)
class LtoChoice:
    """What to set in ``.config`` for one LTO mode, and what must survive olddefconfig."""

    mode: str
    enable: tuple[str, ...]
    disable: tuple[str, ...]
    required: str

    @property
    def is_lto(self) -> bool:
        return self.mode != "none"


def lto_choice(family: str, mode: str, index: KconfigIndex) -> LtoChoice:
    """Map a mode to the options this tree offers for this compiler family; else Unsupported."""
    offered = index.symbols
    all_lto = ("LTO_CLANG_THIN", "LTO_CLANG_FULL", "LTO_GCC", "LTO_MENU")
    if mode == "none":
        return LtoChoice("none", ("LTO_NONE",), tuple(s for s in all_lto if s in offered), "LTO_NONE")
    if family == "clang":
        option = {"thin": "LTO_CLANG_THIN", "full": "LTO_CLANG_FULL"}[mode]
        if option not in offered:
            raise Unsupported(f"this kernel tree offers no CONFIG_{option} (Kconfig has no such symbol)")
        others = tuple(s for s in all_lto if s in offered and s != option)
        return LtoChoice(mode, (option,), ("LTO_NONE", *others), option)
    gcc_offered = [s for s in ("LTO_GCC", "LTO_MENU") if s in offered]
    if not gcc_offered:
        clang = sorted(s for s in ("LTO_CLANG_THIN", "LTO_CLANG_FULL") if s in offered)
        detail = f" (it has Clang LTO only: {', '.join('CONFIG_' + s for s in clang)})" if clang else ""
        raise Unsupported(f"no GCC LTO in this kernel tree: no CONFIG_LTO_GCC or CONFIG_LTO_MENU{detail}")
    if mode == "thin":
        raise Unsupported("GCC has no ThinLTO mode; the tree's GCC LTO runs as the 'full' parameter")
    if "LTO_GCC" in gcc_offered:
        return LtoChoice(
            mode, ("LTO_GCC",), tuple(s for s in ("LTO_NONE", "LTO_CLANG_THIN") if s in offered), "LTO_GCC"
        )
    return LtoChoice(mode, ("LTO_MENU",), ("LTO_DISABLE",), "LTO_MENU")
