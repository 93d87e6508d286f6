"""pyelftools, imported on first use.

Importing ``elftools.elf.elffile`` costs each process about 60 ms (it pulls in
the DWARF readers), and a warm run whose verdicts are all read back never
opens an ELF file. The modules that read ELF and DWARF name what they use
through this module (``pyelf.ELFFile``), which imports it when first asked.

``pyelf.ELFFile`` is pyelftools' own class but for one thing: the parsers
of the ELF structures (``ELFStructs``) are built once per kind of file
(byte order, class, type, machine, OS ABI) and shared. pyelftools builds
them for every file it opens, about 0.8 ms, which was most of what reading
the section names or symbols of a small object cost; a cold run opens a few
hundred. The parsers hold no state of their own: the stream and the parse
context are arguments of each parse.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
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
    if name == "ELFFile":
        value = _elffile_with_shared_structs()
    elif name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def _elffile_with_shared_structs() -> type:
    from elftools.elf.elffile import ELFFile as PyelftoolsELFFile
    from elftools.elf.structs import ELFStructs

    built: dict[tuple, dict[str, Any]] = {}  # a kind of file -> the attributes its ELFStructs has once built

    class SharedStructs(ELFStructs):
        def create_basic_structs(self) -> None:
            self._reuse(("basic", self.little_endian, self.elfclass), super().create_basic_structs)

        def create_advanced_structs(self, e_type=None, e_machine=None, e_ident_osabi=None) -> None:
            key = ("advanced", self.little_endian, self.elfclass, e_type, e_machine, e_ident_osabi)
            self._reuse(key, lambda: ELFStructs.create_advanced_structs(self, e_type, e_machine, e_ident_osabi))

        def _reuse(self, key: tuple, build) -> None:
            made = built.get(key)
            if made is None:
                build()
                built[key] = dict(vars(self))  # two threads may both build it once: the same parsers
            else:
                vars(self).update(made)

    class ELFFile(PyelftoolsELFFile):
        """pyelftools' ELFFile, with the structure parsers of its kind of file shared (see the module)."""

        @property
        def structs(self) -> ELFStructs:
            return self._shared_structs

        @structs.setter
        def structs(self, made: ELFStructs) -> None:
            # pyelftools' __init__ assigns a fresh ELFStructs, then asks it to build its parsers.
            self._shared_structs = SharedStructs(little_endian=made.little_endian, elfclass=made.elfclass)

    return ELFFile
