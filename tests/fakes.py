"""Small broken toolchains for fault injection, made in a tmp folder.

Each fake is a wrapper script around a real tool that breaks one thing
(drops a flag, adds one, filters output). A self-test resolves a toolchain
from the fakes, evaluates properties through the same entry point the
suite uses, and checks that exactly the property the fault breaks fails.
"""

from __future__ import annotations

import shutil
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from conformance.harness import known_failures
from conformance.harness.build import StepCache
from conformance.harness.properties import REGISTRY, Context, evaluate, load_all
from conformance.harness.toolchain import Toolchain, ToolchainSpec, resolve
from conformance.harness.verdict import FAIL, Verdict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CASES_ROOT = PROJECT_ROOT / "cases"

WRAPPER = """#!{python} -SE
# Fake tool for lto-conformance self-tests: {purpose}
import os, sys
real = {real!r}
args = sys.argv[1:]
linking = "-c" not in args and "-E" not in args and "-S" not in args and not any(
    a.startswith(("-print-", "-dump")) or a in ("--version", "-v") for a in args)
compiling = "-c" in args
drop = {drop!r}
args = [a for a in args if not any(a == d or (d.endswith("*") and a.startswith(d[:-1])) for d in drop)]
args = {prepend!r} + args + {add!r}
if linking:
    args += {add_link!r}
if compiling:
    args += {add_compile!r}
{extra}
os.execvp(real, [real] + args)
"""


def wrapper(
    folder: Path,
    name: str,
    real: str,
    *,
    purpose: str,
    drop: Sequence[str] = (),
    prepend: Sequence[str] = (),
    add: Sequence[str] = (),
    add_when_linking: Sequence[str] = (),
    add_when_compiling: Sequence[str] = (),
    extra: str = "",
) -> Path:
    """Write an executable wrapper around ``real``; ``drop`` entries ending in * match prefixes.

    ``extra`` is Python run just before exec (it may rewrite ``args`` or exit).
    """
    folder.mkdir(parents=True, exist_ok=True)
    found = shutil.which(real) or real
    path = folder / name
    path.write_text(
        WRAPPER.format(
            python=sys.executable,
            purpose=purpose,
            real=found,
            drop=list(drop),
            prepend=list(prepend),
            add=list(add),
            add_link=list(add_when_linking),
            add_compile=list(add_when_compiling),
            extra=extra,
        )
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def script(folder: Path, name: str, body: str) -> Path:
    """An arbitrary executable Python script (for tools that must lie about output)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable} -SE\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def toolchain(
    *,
    cc: str | Path = "gcc",
    ar: str | Path | None = None,
    nm: str | Path | None = None,
    fuse_ld: str | None = None,
    label: str | None = None,
) -> Toolchain:
    return resolve(
        ToolchainSpec(
            cc=(str(cc),),
            ar=(str(ar),) if ar else None,
            nm=(str(nm),) if nm else None,
            fuse_ld=fuse_ld,
        ),
        label=label,
    )


def evaluate_properties(
    tc: Toolchain, cache_root: Path, workspace: Path, properties: Iterable[str] | None = None
) -> dict[str, list[Verdict]]:
    """Every case of every named property (default: all registered), as the suite runs them."""
    load_all()
    ctx = Context(tc, workspace, StepCache(cache_root), CASES_ROOT)
    names = list(properties) if properties is not None else sorted(REGISTRY)
    return {name: [evaluate(ctx, name, case) for case in ctx.cases(name)] for name in names}


KNOWN_DEFECTS = known_failures.load(PROJECT_ROOT / "known-failures" / "debian-12.toml")


def _real(verdict: Verdict) -> bool:
    """A failure that is not a known defect of this machine's real toolchains (CI's list)."""
    case = verdict.case.rsplit("/", 1)[-1]
    known = known_failures.match(KNOWN_DEFECTS, verdict.property, verdict.toolchain, verdict.toolchain, case)
    return verdict.outcome == FAIL and (known is None or not known.explains(verdict.message()))


def failing(results: dict[str, list[Verdict]]) -> set[str]:
    """Properties with a failure beyond the known defects every fake inherits from the real tools."""
    return {name for name, verdicts in results.items() if any(_real(v) for v in verdicts)}


def messages(results: dict[str, list[Verdict]]) -> str:
    return "\n\n".join(v.message() for vs in results.values() for v in vs if _real(v))
