"""archive-index: the archiver under test indexes LTO members.

The kernel links built-in.a archives; bfd and gold pull members through
the archive's symbol index, so an archive of slim LTO objects needs an
archiver that reads IR (gcc-ar, llvm-ar). The index is read back and the
archive must link through the plugin. Cases need an ``[archive]``.

Case keys (``[expect]``):

``indexed``
    list of symbols the archive's index must hold.
``resolved``
    list of symbols the plugin must resolve from the archive's IR.
"""

from __future__ import annotations

from ..archive import read_index
from ..cases import Case
from ..schema import Field, ListOf, Str
from ..verdict import Findings
from . import Context, register
from .evidence import check_linked_through_plugin, plugin_builds

SCHEMA = {
    "indexed": Field(ListOf(Str), required=True, expect_only=True),
    "resolved": Field(ListOf(Str), required=True, expect_only=True),
}


@register(
    "archive-index",
    "the archiver indexes LTO members",
    SCHEMA,
    requires=("linker-plugin",),
    needs={"archive": True},
)
def archive_index(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = plugin_builds(ctx, case)
    if lto.archive and lto.path(lto.archive).is_file():
        index = read_index(lto.path(lto.archive))
        findings.info["index"] = list(index.symbols)
        missing = [s for s in case.expect["indexed"] if s not in index.symbols]
        findings.expect(
            not missing,
            f"the index of {lto.archive} ({ctx.toolchain.ar.name}) to hold {', '.join(case.expect['indexed'])}",
            f"index holds {', '.join(index.symbols) or 'nothing'}",
        )
    check_linked_through_plugin(ctx, case, lto, control, findings)
    return lto.reproducer()
