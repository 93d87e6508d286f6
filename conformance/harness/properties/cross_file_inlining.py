"""cross-file-inlining: a function of one file is inlined into another file's function.

The seed of LTO: it "can inline functions between files". The proof is in
the linked program's DWARF: a concrete ``DW_TAG_subprogram`` of the caller
holding a ``DW_TAG_inlined_subroutine`` whose abstract origin, in another
compile unit, names the callee. ThinLTO keeps the callee's symbol, so symbol
absence alone is no proof. The same build without ``-flto`` must show none.

Case keys (``[expect]`` / ``[control]``):

``inlined``
    list of tables ``{callee, from_file, into}``: ``callee`` (defined in
    ``from_file``) must be inlined into ``into``; ``[]`` means no
    cross-file inlining at all.
``absent`` / ``present``
    lists of symbols that must not / must be defined in the program.
``absent_strings`` / ``present_strings``
    lists of strings that must not / must be in an allocated section.
"""

from __future__ import annotations

from ..cases import Case
from ..verdict import Findings
from . import Context, register
from .evidence import CONTENT_SCHEMA, check_linked_content


@register("cross-file-inlining", "a function of one file is inlined into another", CONTENT_SCHEMA, ("linker-plugin",))
def cross_file_inlining(ctx: Context, case: Case, findings: Findings) -> str:
    return check_linked_content(ctx, case, findings)
