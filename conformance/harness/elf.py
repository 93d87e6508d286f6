"""Plain answers about object files, read with pyelftools.

The properties ask simple questions: does this object carry LTO IR and of
which kind, which symbols does it define, which sections exist and what is
in them. Answers are plain Python values so checks and reports stay simple.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

LLVM_BITCODE_MAGIC = b"BC\xc0\xde"
LLVM_WRAPPER_MAGIC = b"\xde\xc0\x17\x0b"
GCC_LTO_PREFIX = ".gnu.lto_"
GCC_SLIM_MARKER = "__gnu_lto_slim"


class IRKind(StrEnum):
    NONE = "none"
    GCC_SLIM = "gcc-slim"
    GCC_FAT = "gcc-fat"
    LLVM_BITCODE = "llvm-bitcode"
    LLVM_FAT = "llvm-fat"
    NOT_AN_OBJECT = "not-an-object"


@dataclass(frozen=True)
class Symbol:
    name: str
    bind: str
    type: str
    section: str
    value: int
    size: int

    @property
    def defined(self) -> bool:
        return self.section not in ("SHN_UNDEF",)


def is_bitcode(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in (LLVM_BITCODE_MAGIC, LLVM_WRAPPER_MAGIC)


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def section_names(path: Path) -> list[str]:
    with path.open("rb") as handle:
        return [s.name for s in ELFFile(handle).iter_sections()]


def ir_kind(path: Path) -> IRKind:
    """Tell slim from fat GCC IR and plain from fat LLVM bitcode.

    GCC slim objects carry ``.gnu.lto_*`` sections and the marker symbol
    ``__gnu_lto_slim`` and no code; fat ones add real code. clang ``-flto``
    writes raw bitcode; ``-ffat-lto-objects`` an ELF with ``.llvm.lto``.
    """
    if not path.is_file():
        return IRKind.NOT_AN_OBJECT
    if is_bitcode(path):
        return IRKind.LLVM_BITCODE
    if not is_elf(path):
        return IRKind.NOT_AN_OBJECT
    try:
        names = section_names(path)
        symbols = {s.name for s in symbols_of(path)}
    except ELFError:
        return IRKind.NOT_AN_OBJECT
    if ".llvm.lto" in names:
        return IRKind.LLVM_FAT
    if any(n.startswith(GCC_LTO_PREFIX) for n in names):
        return IRKind.GCC_SLIM if GCC_SLIM_MARKER in symbols else IRKind.GCC_FAT
    return IRKind.NONE


def symbols_of(path: Path) -> list[Symbol]:
    """The ELF symbol table (``.symtab``, else ``.dynsym``); empty for bitcode."""
    if is_bitcode(path):
        return []
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        table = elf.get_section_by_name(".symtab") or elf.get_section_by_name(".dynsym")
        if not isinstance(table, SymbolTableSection):
            return []
        out = []
        for sym in table.iter_symbols():
            if not sym.name:
                continue
            shndx = sym["st_shndx"]
            section = elf.get_section(shndx).name if isinstance(shndx, int) else str(shndx)
            out.append(
                Symbol(
                    sym.name,
                    sym["st_info"]["bind"],
                    sym["st_info"]["type"],
                    section,
                    sym["st_value"],
                    sym["st_size"],
                )
            )
        return out


def defined_symbols(path: Path) -> dict[str, Symbol]:
    return {s.name: s for s in symbols_of(path) if s.defined and s.type in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE")}


def global_definitions(path: Path) -> set[str]:
    """Names a linker could resolve against: global/weak, defined, not sections."""
    return {
        s.name
        for s in symbols_of(path)
        if s.defined and s.bind in ("STB_GLOBAL", "STB_WEAK") and s.type in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE")
    }


def section_data(path: Path, name: str) -> bytes | None:
    with path.open("rb") as handle:
        section = ELFFile(handle).get_section_by_name(name)
        return None if section is None else section.data()


def contains_bytes(path: Path, needle: bytes) -> bool:
    """Whether any allocated section holds needle (e.g. a unique string)."""
    with path.open("rb") as handle:
        for section in ELFFile(handle).iter_sections():
            if section["sh_flags"] & 0x2 and section["sh_type"] != "SHT_NOBITS" and needle in section.data():
                return True
    return False


def section_size(path: Path, name: str) -> int | None:
    """The size of one section (e.g. .text for the cost figures), or None if absent."""
    with path.open("rb") as handle:
        section = ELFFile(handle).get_section_by_name(name)
        return None if section is None else int(section["sh_size"])
