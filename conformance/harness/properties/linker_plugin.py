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
from .evidence import check_linked_through_plugin, plugin_builds

SCHEMA = {"resolved": Field(ListOf(Str), required=True, expect_only=True)}


@register("linker-plugin", "the link went through the LTO plugin", SCHEMA, requires=("lto-ir",))
def linker_plugin(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = plugin_builds(ctx, case)
    check_linked_through_plugin(ctx, case, lto, control, findings, record=True)
    return lto.reproducer()
