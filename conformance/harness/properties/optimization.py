"""What LTO is for: inlining across files and dropping dead functions.

The kernel's LTO notes: LTO "can inline functions between files" and drops
functions nobody calls. Both are checked on the linked program's DWARF and
symbol table, and the same build without -flto must show neither.
"""

from __future__ import annotations

from ..cases import Case
from ..verdict import Findings
from . import Context, register
from .evidence import build, check_binary_content, check_program_runs, succeeded

CONTENT_SCHEMA = {"inlined": list, "absent": list, "present": list, "absent_strings": list, "present_strings": list}


def _content_property(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = build(ctx, case, "lto"), build(ctx, case, "control")
    if succeeded(lto, findings):
        check_binary_content(lto, case.expect, findings)
        check_program_runs(ctx, case, lto, findings)
    if succeeded(control, findings):
        check_binary_content(control, case.control, findings)
    return lto.reproducer()


register("cross-file-inlining", "a function of one file is inlined into another", CONTENT_SCHEMA, ("linker-plugin",))(
    _content_property
)
register("dead-function-removal", "an unreferenced global function is dropped", CONTENT_SCHEMA, ("linker-plugin",))(
    _content_property
)
