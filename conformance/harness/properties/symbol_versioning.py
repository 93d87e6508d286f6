"""symbol-versioning: versioned definitions in an LTO shared library export exactly what was declared.

The probe defines two implementations of one symbol and binds them to
versions (the ``symver`` attribute on GCC >= 10, ``.symver`` in toplevel asm
for clang and older GCC: the source picks), links them into a shared
library with a version script, and links a program against it. The check
reads ``.dynsym``, ``.gnu.version`` and ``.gnu.version_d``/``_r`` through
pyelftools: the library must export exactly the declared versions, the
program must require the default one, and it must run and print what the
default version returns. The control is the same build without -flto: it
must show the same versions (else the probe, not LTO, is wrong).

Case keys (``[expect]``): ``library_sources`` (built into the library; the
other sources make the program), ``version_script``, ``library`` (file
name), ``exports`` (``foo@@V2``, ``foo@V1``: every defined dynamic symbol,
exactly), ``binds`` (``foo@V2``: versions the program must require).
"""

from __future__ import annotations

from .. import elf
from ..build import CaseBuild, link_arguments
from ..cases import Case
from ..process import Step
from ..schema import Field, ListOf, Source, Str
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_program_runs, extra_step, succeeded


def _mechanism(ctx: Context) -> str:
    t = ctx.toolchain
    if t.family == "gcc" and t.version.major >= 10:
        return "symver attribute"
    return ".symver in toplevel asm"


def _link(
    ctx: Context, case: Case, result: CaseBuild, extra: list[str], inputs: list[str], output: str, reads: list[str]
) -> Step:
    """One link in the build's folder; ``reads`` are files named inside flags (the version script)."""
    args = link_arguments(ctx.toolchain, case, result.variant, inputs, output, extra)
    return extra_step(ctx, result, ctx.toolchain.cc, args, inputs=[*inputs, *reads])


def _exports(path) -> list[str]:
    """Defined dynamic symbols as name@@V / name@V / name; version-node symbols (V1 ABS) left out."""
    return sorted(s.spelled() for s in elf.versioned_dynamic_symbols(path) if s.defined and s.name != s.version)


def _check(ctx: Context, case: Case, result: CaseBuild, findings: Findings) -> None:
    where = result.variant
    expect = case.expect
    library, script = expect["library"], expect["version_script"]
    lib_objects = [result.objects[s] for s in expect["library_sources"]]
    step = _link(ctx, case, result, ["-shared", f"-Wl,--version-script={script}"], lib_objects, library, [script])
    if not findings.expect(step.ok, f"the shared library {library} to link", step.describe_failure(), where):
        return
    exports = _exports(result.path(library))
    if where == "lto":
        findings.info["exports"] = exports
    wanted = sorted(expect["exports"])
    findings.expect(
        exports == wanted,
        f"{library} to export exactly {', '.join(wanted)} (.dynsym + .gnu.version + .gnu.version_d)",
        ", ".join(exports) or "no defined dynamic symbols",
        where,
    )
    program_objects = [o for s, o in result.objects.items() if s not in expect["library_sources"]]
    step = _link(ctx, case, result, ["-Wl,-rpath,$ORIGIN"], [*program_objects, library], "prog", [])
    if not findings.expect(step.ok, f"a program to link against {library}", step.describe_failure(), where):
        return
    required = {s.spelled() for s in elf.versioned_dynamic_symbols(result.path("prog")) if s.from_file == library}
    missing = [b for b in expect["binds"] if b not in required]
    findings.expect(
        not missing,
        f"the program to bind the default version{'s' if len(missing) > 1 else ''} "
        f"{', '.join(expect['binds'])} of {library} (.gnu.version_r)",
        f"it requires {', '.join(sorted(required)) or 'no version'} from {library}",
        where,
    )
    check_program_runs(ctx, case, result, findings, program="prog")


@register(
    "symbol-versioning",
    "versioned definitions in an LTO shared library export exactly the declared versions",
    {
        "library_sources": Field(ListOf(Source(), min_items=1), required=True, expect_only=True),
        "version_script": Field(Source(exists=True), required=True, expect_only=True),
        "library": Field(Str, required=True, expect_only=True),
        "exports": Field(ListOf(Str, min_items=1), required=True, expect_only=True),
        "binds": Field(ListOf(Str), required=True, expect_only=True),
    },
    requires=("linker-plugin",),
)
def symbol_versioning(ctx: Context, case: Case, findings: Findings) -> str:
    findings.info["mechanism"] = _mechanism(ctx)
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    for result in (lto, control):
        if succeeded(result, findings):
            _check(ctx, case, result, findings)
    return lto.reproducer()
