"""linker-plugin: the link went through the LTO plugin.

Only the linker knows which symbols are used from outside the IR; it tells
the compiler through the plugin (GCC liblto_plugin, LLVMgold, lld's
built-in LTO). A link that merely succeeds proves nothing, so the LTO link
runs with save-temps and the plugin's resolution file and LTRANS output
must be there; the same link without ``-flto`` must resolve nothing.

Case keys (``[expect]``):

``resolved``
    list of symbols the plugin's resolution file must list (from IR).
"""

from __future__ import annotations

from ..cases import Case
from ..schema import Field, ListOf, Str
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_plugin_idle, check_plugin_ran, check_program_runs, succeeded

SCHEMA = {"resolved": Field(ListOf(Str), required=True, expect_only=True)}


@register("linker-plugin", "the link went through the LTO plugin", SCHEMA, requires=("lto-ir",))
def linker_plugin(ctx: Context, case: Case, findings: Findings) -> str:
    flags = ctx.toolchain.save_temps_flags
    lto = build(ctx, case, "lto", link_flags=flags, tag="savetemps")
    control = build(ctx, case, "control", link_flags=ctx.toolchain.control_save_temps_flags, tag="savetemps")
    if succeeded(lto, findings):
        trace = check_plugin_ran(lto, case.expect["resolved"], findings)
        findings.info["resolution"] = trace.resolution_file
        findings.info["lto_outputs"] = list(trace.lto_outputs)
        check_program_runs(ctx, case, lto, findings)
    if succeeded(control, findings):
        check_plugin_idle(control, case.expect["resolved"], findings)
    return lto.reproducer()
