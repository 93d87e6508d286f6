"""dead-function-removal: an unreferenced global function is dropped.

LTO sees the whole program, so a global function nothing references goes,
with everything only it uses (a unique string, say), without
``-ffunction-sections`` and ``--gc-sections``; the same build without
``-flto`` keeps it.

Case keys (``[expect]`` / ``[control]``), shared with cross-file-inlining:

``absent`` / ``present``
    lists of symbols that must not / must be defined in the program.
``absent_strings`` / ``present_strings``
    lists of strings that must not / must be in an allocated section.
``inlined``
    list of tables ``{callee, from_file, into}`` (DWARF inlining edges).
"""

from __future__ import annotations

from ..cases import Case
from ..verdict import Findings
from . import Context, register
from .evidence import CONTENT_SCHEMA, check_linked_content


@register("dead-function-removal", "an unreferenced global function is dropped", CONTENT_SCHEMA, ("linker-plugin",))
def dead_function_removal(ctx: Context, case: Case, findings: Findings) -> str:
    return check_linked_content(ctx, case, findings)
