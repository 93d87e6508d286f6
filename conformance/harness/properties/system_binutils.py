"""system-binutils: plain binutils ar/nm auto-load a plugin that reads this compiler's IR.

Makefiles call plain ``ar`` and ``nm``. binutils auto-loads every plugin in
``<bindir>/../lib/bfd-plugins`` in directory order, and the first that claims
a file wins; if none reads this compiler's IR (or a stale one claims it
first) ar writes an empty index and nm lists nothing, both with exit 0. On
failure the property says which plugin reads the file and which breaks it.

Case keys (``[expect]``):

``listed``
    table ``{symbol = "T"}``: plain nm must list each name (``"U"``:
    undefined, any other letter: defined); plain ar's index must hold
    the defined ones.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import verdict_cache
from ..archive import read_index
from ..build import CaseBuild
from ..cases import Case
from ..process import run
from ..schema import Field, Str, TableOf
from ..toolchain import Tool, tool_identity
from ..verdict import Findings
from . import Context, Skip, register
from .evidence import build, check_listing, extra_step, nm_listing, succeeded


def _plugin_dir(program: Path) -> Path:
    """binutils auto-loads every plugin in <bindir>/../lib/bfd-plugins."""
    return program.resolve().parent.parent / "lib" / "bfd-plugins"


def plugins_in_directory_order(folder: Path) -> list[Path]:
    """The plugins as binutils meets them: readdir order, not sorted (os.listdir keeps it)."""
    verdict_cache.saw_file(folder)  # a plugin installed or removed there changes what binutils does
    if not folder.is_dir():
        return []
    return [folder / name for name in os.listdir(folder) if name.endswith(".so")]


def _binutils_tool(name: str) -> Tool:
    found = shutil.which(name)
    if not found:
        raise Skip(f"no {name} on PATH")
    path = Path(found)
    version = run([found, "--version"], cwd=Path.cwd(), timeout=10, measure_rss=False)
    if not version.output.startswith(f"GNU {name}"):
        raise Skip(f"{found} is not GNU binutils {name} ({version.output.splitlines()[:1]})")
    plugins = plugins_in_directory_order(_plugin_dir(path))
    stamp = [f"{p.name}:{tool_identity(p)}" for p in plugins if p.exists()]
    return Tool((found,), path, tool_identity(path, version.output, *stamp))


SCHEMA = {"listed": Field(TableOf(Str, key_name="symbol"), required=True, expect_only=True)}


@register("system-binutils", "plain binutils ar/nm auto-load a plugin for this IR", SCHEMA, ("lto-ir",))
def system_binutils(ctx: Context, case: Case, findings: Findings) -> str:
    nm, ar = _binutils_tool("nm"), _binutils_tool("ar")
    lto = build(ctx, case, "lto")
    if not succeeded(lto, findings):
        return lto.reproducer()
    plugin_dir = _plugin_dir(nm.path)
    plugins = plugins_in_directory_order(plugin_dir)
    findings.info["bfd_plugins"] = [p.name for p in plugins]
    wanted: dict[str, str] = case.expect["listed"]
    for obj in lto.objects.values():
        step = extra_step(ctx, lto, nm, [obj], inputs=[obj])
        listing = nm_listing(step.output) if step.ok else {}
        before = len(findings.problems)
        check_listing(wanted, listing, step.output, findings, obj)
        if len(findings.problems) > before:
            findings.notes.append(_diagnose_plugins(ctx, lto, nm, obj, plugins, wanted))
        archive = "libsystem.a"
        step = extra_step(ctx, lto, ar, ["rcs", archive, obj], inputs=[obj])
        if step.ok:
            index = read_index(lto.path(archive))
            defined = [n for n, k in wanted.items() if k != "U"]
            findings.expect(
                all(n in index.symbols for n in defined),
                f"ar's index of {archive} to hold {', '.join(defined)}",
                f"index holds {', '.join(index.symbols) or 'nothing'}",
            )
        else:
            findings.expect(False, f"{ar.path} rcs {archive} {obj} to succeed", step.describe_failure())
    return lto.reproducer()


def _diagnose_plugins(
    ctx: Context, result: CaseBuild, nm: Tool, obj: str, plugins: list[Path], wanted: dict[str, str]
) -> str:
    """Which plugin in bfd-plugins reads this IR, and which one breaks it."""
    if not plugins:
        return f"{_plugin_dir(nm.path)} holds no plugin, so binutils cannot read LTO objects"
    verdicts = []
    first: str | None = None
    for plugin in plugins:
        step = extra_step(ctx, result, nm, ["--plugin", str(plugin), obj], inputs=[obj])
        listing = nm_listing(step.output)
        works = all(n in listing for n in wanted)
        complaint = next((ln for ln in step.output.splitlines() if "plugin" in ln.lower()), "")
        if first is None and (works or complaint):
            first = f"{plugin.name}, which {'reads it' if works else 'does not read it'}"
        verdicts.append(
            f"{plugin.name}: {'reads it' if works else 'does not'}" + (f" ({complaint})" if complaint else "")
        )
    order = ", ".join(p.name for p in plugins)
    return (
        f"binutils tries the plugins in {_plugin_dir(nm.path)} in directory order ({order}) and the first "
        f"to claim the file wins. First to claim the file: {first or 'none'}. " + "; ".join(verdicts)
    )
