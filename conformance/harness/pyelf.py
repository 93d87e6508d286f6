"""pyelftools, imported on first use.

Importing ``elftools.elf.elffile`` costs each process about 60 ms (it pulls in
the DWARF readers), and a warm run whose verdicts are all read back never
opens an ELF file. The modules that read ELF and DWARF name what they use
through this module (``pyelf.ELFFile``), which imports it when first asked.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ELFFile": "elftools.elf.elffile",
    "ELFError": "elftools.common.exceptions",
    "SymbolTableSection": "elftools.elf.sections",
    "RelocationSection": "elftools.elf.relocation",
    "DynamicSection": "elftools.elf.dynamic",
    "DIE": "elftools.dwarf.die",
    "ENUM_ST_INFO_BIND": "elftools.elf.enums",
    "ENUM_ST_INFO_TYPE": "elftools.elf.enums",
    "ENUM_ST_SHNDX": "elftools.elf.enums",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value
