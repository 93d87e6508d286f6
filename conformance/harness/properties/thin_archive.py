"""thin-archive: thin archives of LTO objects link through the plugin.

Kbuild builds thin archives (``ar T``) of LTO objects for built-in.a and
vmlinux.a; the linker must follow them to the members and hand their IR to
the plugin. Cases need a thin ``[archive]``.

Case keys (``[expect]``):

``resolved``
    list of symbols the plugin must resolve from the thin archive's members.
"""

from __future__ import annotations

from ..archive import read_index
from ..cases import Case
from ..schema import Field, ListOf, Str
from ..verdict import Findings
from . import Context, register
from .evidence import check_linked_through_plugin, plugin_builds

SCHEMA = {"resolved": Field(ListOf(Str), required=True, expect_only=True)}


@register(
    "thin-archive",
    "thin archives of LTO objects link",
    SCHEMA,
    requires=("archive-index",),
    needs={"archive.thin": True},
)
def thin_archive(ctx: Context, case: Case, findings: Findings) -> str:
    lto, control = plugin_builds(ctx, case)
    if lto.archive and lto.path(lto.archive).is_file():
        index = read_index(lto.path(lto.archive))
        findings.expect(index.thin, f"{lto.archive} to be a thin archive (!<thin>)", "a normal archive")
    check_linked_through_plugin(ctx, case, lto, control, findings)
    return lto.reproducer()
