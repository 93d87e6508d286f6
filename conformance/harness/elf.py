"""Plain answers about object files, read with pyelftools.

The properties ask simple questions: does this object carry LTO IR and of
which kind, which symbols does it define, which sections exist and what is
in them. Answers are plain Python values so checks and reports stay simple.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from . import pyelf

LLVM_BITCODE_MAGIC = b"BC\xc0\xde"
LLVM_WRAPPER_MAGIC = b"\xde\xc0\x17\x0b"
GCC_LTO_PREFIX = ".gnu.lto_"
GCC_SLIM_MARKER = "__gnu_lto_slim"
SHF_EXECINSTR = 0x4


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
    section_index: int | None = None

    @property
    def defined(self) -> bool:
        return self.section not in ("SHN_UNDEF",)

    @property
    def base(self) -> str:
        """The name without the suffixes LTO and IPA clones add."""
        return base_name(self.name)


def base_name(symbol: str) -> str:
    """``f.lto_priv.0``, ``f.llvm.123``, ``f.constprop.0`` are still f."""
    return symbol.split(".", 1)[0] if not symbol.startswith(".") else symbol


def is_bitcode(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in (LLVM_BITCODE_MAGIC, LLVM_WRAPPER_MAGIC)


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"\x7fELF"


def _identity(path: Path) -> tuple[str, int, int, int]:
    """A file as the memo knows it: rewritten or replaced, it is another file."""
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def section_names(path: Path) -> list[str]:
    return list(_section_names(_identity(path)))


def _section_names(identity: tuple[str, int, int, int]) -> tuple[str, ...]:
    return _tables(identity)[0]


def _names_of_sections(elf: pyelf.ELFFile, handle: BinaryIO) -> tuple[str, ...]:
    """Every section's name, in index order, as pyelftools names them.

    pyelftools finds the section count and the section-name string table;
    each header's name offset (its first four bytes, ELF32 and ELF64 alike)
    is read in one pass instead of building a Section object per header.
    """
    count, shstrndx = elf.num_sections(), elf.get_shstrndx()
    if count == 0:
        return ()
    strings = elf.get_section(shstrndx).data() if shstrndx else b""
    size, offset = elf["e_shentsize"], elf["e_shoff"]
    handle.seek(offset)
    table = handle.read(size * count)
    order = "<I" if elf.little_endian else ">I"
    return tuple(_string_at(strings, struct.unpack_from(order, table, index * size)[0]) for index in range(count))


def _string_at(strings: bytes, offset: int) -> str:
    """The NUL-terminated name at ``offset`` of a string table, decoded as pyelftools does."""
    end = strings.find(b"\0", offset)
    return strings[offset : end if end >= 0 else None].decode("utf-8", errors="replace")


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
        if ".llvm.lto" in names:
            return IRKind.LLVM_FAT
        if not any(n.startswith(GCC_LTO_PREFIX) for n in names):
            return IRKind.NONE
        slim = any(s.name == GCC_SLIM_MARKER for s in symbols_of(path))
    except pyelf.ELFError:
        return IRKind.NOT_AN_OBJECT
    return IRKind.GCC_SLIM if slim else IRKind.GCC_FAT


def symbols_of(path: Path) -> list[Symbol]:
    """The ELF symbol table (``.symtab``, else ``.dynsym``); empty for bitcode.

    Read once per file: several properties ask about the same objects (the
    build folders hard-link them from the step cache).
    """
    if is_bitcode(path):
        return []
    return list(_symbols(_identity(path)))


# Symbol table entries decoded as pyelftools names them (its enums), in bulk: pyelftools
# locates the table and its string table, struct reads the fixed-size entries, which
# is an order of magnitude faster than parsing each entry through construct.
_BIND = {v: k for k, v in pyelf.ENUM_ST_INFO_BIND.items() if isinstance(v, int)}
_TYPE = {v: k for k, v in pyelf.ENUM_ST_INFO_TYPE.items() if isinstance(v, int)}
_SHNDX = {v: k for k, v in pyelf.ENUM_ST_SHNDX.items() if isinstance(v, int)}


def _symbols(identity: tuple[str, int, int, int]) -> tuple[Symbol, ...]:
    symbols = _tables(identity)[1]
    if isinstance(symbols, Exception):
        raise symbols
    return symbols


@lru_cache(maxsize=2048)
def _tables(identity: tuple[str, int, int, int]) -> tuple[tuple[str, ...], tuple[Symbol, ...] | Exception]:
    """Section names and symbols of one file, from one parse: ir_kind asks for both of a GCC
    object, and building pyelftools' ELFFile (its structures) is most of what a read costs.

    A symbol table that cannot be read (a tool under test wrote a broken one)
    is kept as its exception, raised only to a caller that asks for symbols.
    """
    with open(identity[0], "rb") as handle:
        elf = pyelf.ELFFile(handle)
        names = _names_of_sections(elf, handle)
        try:
            return names, _symbols_of_table(elf, names)
        except Exception as exc:  # whatever the reader raised, for the caller of symbols_of
            return names, exc


def _symbols_of_table(elf: pyelf.ELFFile, names: tuple[str, ...]) -> tuple[Symbol, ...]:
    # The table by index: get_section_by_name would build every section to map their names.
    wanted = next((names.index(n) for n in (".symtab", ".dynsym") if n in names), None)
    table = elf.get_section(wanted) if wanted is not None else None
    if not isinstance(table, pyelf.SymbolTableSection):
        return ()
    strings = elf.get_section(table["sh_link"]).data()
    data = table.data()
    entry = table["sh_entsize"] or (24 if elf.elfclass == 64 else 16)
    order = "<" if elf.little_endian else ">"
    out = []
    for offset in range(0, len(data) - entry + 1, entry):
        if elf.elfclass == 64:
            name_at, info, _, shndx, value, size = struct.unpack_from(order + "IBBHQQ", data, offset)
        else:
            name_at, value, size, info, _, shndx = struct.unpack_from(order + "IIIBBH", data, offset)
        name = _string_at(strings, name_at)
        if not name:
            continue
        index = None if shndx in _SHNDX else shndx
        section = _SHNDX.get(shndx) or (names[shndx] if shndx < len(names) else f"SHN_{shndx:#x}")
        out.append(
            Symbol(
                name,
                _BIND.get(info >> 4, info >> 4),
                _TYPE.get(info & 0xF, info & 0xF),
                section,
                value,
                size,
                index,
            )
        )
    return tuple(out)


def symbols_by_base(path: Path) -> dict[str, list[Symbol]]:
    """Defined symbols by base name: LTO may rename a local ``f`` to ``f.lto_priv.0``."""
    out: dict[str, list[Symbol]] = {}
    for symbol in symbols_of(path):
        if symbol.defined:
            out.setdefault(symbol.base, []).append(symbol)
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
        section = pyelf.ELFFile(handle).get_section_by_name(name)
        return None if section is None else section.data()


def contains_bytes(path: Path, needle: bytes) -> bool:
    """Whether any allocated section holds needle (e.g. a unique string)."""
    with path.open("rb") as handle:
        for section in pyelf.ELFFile(handle).iter_sections():
            if section["sh_flags"] & 0x2 and section["sh_type"] != "SHT_NOBITS" and needle in section.data():
                return True
    return False


def section_size(path: Path, name: str) -> int | None:
    """The size of one section (e.g. .text for the cost figures), or None if absent."""
    with path.open("rb") as handle:
        section = pyelf.ELFFile(handle).get_section_by_name(name)
        return None if section is None else int(section["sh_size"])


def pointer_words(path: Path, name: str) -> list[int] | None:
    """A section read as pointer-sized words in the file's byte order (a table of addresses)."""
    with path.open("rb") as handle:
        image = pyelf.ELFFile(handle)
        section = image.get_section_by_name(name)
        if section is None:
            return None
        width = 8 if image.elfclass == 64 else 4
        order = "little" if image.little_endian else "big"
        data = section.data()
        return [int.from_bytes(data[i : i + width], order) for i in range(0, len(data) - width + 1, width)]


def code_relocations(path: Path, targets: set[str]) -> list[int]:
    """Offsets of relocations against ``targets`` in executable sections (kept with --emit-relocs)."""
    offsets: list[int] = []
    with path.open("rb") as handle:
        image = pyelf.ELFFile(handle)
        for section in image.iter_sections():
            if not isinstance(section, pyelf.RelocationSection) or section["sh_link"] == 0:
                continue
            if not image.get_section(section["sh_info"])["sh_flags"] & SHF_EXECINSTR:
                continue
            symbols = image.get_section(section["sh_link"])
            offsets += [
                r["r_offset"] for r in section.iter_relocations() if symbols.get_symbol(r["r_info_sym"]).name in targets
            ]
    return offsets


def code_at(path: Path, symbol: Symbol, length: int) -> bytes:
    """The first ``length`` bytes of a defined symbol's contents (a function's prologue)."""
    if symbol.section_index is None:
        return b""
    with path.open("rb") as handle:
        section = pyelf.ELFFile(handle).get_section(symbol.section_index)
        start = symbol.value - section["sh_addr"]
        return section.data()[start : start + length]


# --------------------------------------------------------------------------- kernel build outputs
# Cheap reads over hundreds of kbuild objects and one large vmlinux: magic and
# section headers only for the objects, one pass over .symtab for the image.

IR_SECTION_NAMES = (".llvmbc", ".llvm.lto", ".llvm.embedded.object")


def is_ir_section(name: str) -> bool:
    """A section that holds compiler IR (GCC ``.gnu.lto_*``, LLVM's embedded bitcode)."""
    return name.startswith(GCC_LTO_PREFIX) or name in IR_SECTION_NAMES


def object_ir(path: Path) -> str:
    """``llvm`` (bitcode file), ``gcc`` (ELF with ``.gnu.lto_*``), ``none`` (plain ELF) or ``""`` (neither)."""
    with path.open("rb") as handle:
        magic = handle.read(4)
        if magic in (LLVM_BITCODE_MAGIC, LLVM_WRAPPER_MAGIC):
            return "llvm"
        if magic != b"\x7fELF":
            return ""
        handle.seek(0)
        try:
            names = _names_of_sections(pyelf.ELFFile(handle), handle)
        except pyelf.ELFError:
            return ""
    return "gcc" if any(n.startswith(GCC_LTO_PREFIX) for n in names) else "none"


@dataclass(frozen=True)
class ImageSymbols:
    """What a linked image's sections and function symbols show, without a Symbol per entry."""

    ir_sections: tuple[str, ...]
    text_bytes: int
    functions: tuple[tuple[str, str], ...]  # (name, bind) of every STT_FUNC
    names: tuple[str, ...]  # every named symbol, for name patterns of any type


def image_symbols(path: Path) -> ImageSymbols | None:
    """None if path is not ELF (an LTO link that left bitcode behind, say)."""
    if not is_elf(path):
        return None
    with path.open("rb") as handle:
        elf = pyelf.ELFFile(handle)
        ir, text = [], 0
        for section in elf.iter_sections():
            if is_ir_section(section.name):
                ir.append(section.name)
            if section.name == ".text":
                text = int(section["sh_size"])
        functions, names = [], []
        table = elf.get_section_by_name(".symtab")
        if isinstance(table, pyelf.SymbolTableSection):
            for sym in table.iter_symbols():
                if not sym.name:
                    continue
                names.append(sym.name)
                if sym["st_info"]["type"] == "STT_FUNC":
                    functions.append((sym.name, sym["st_info"]["bind"]))
    return ImageSymbols(tuple(ir), text, tuple(functions), tuple(names))


@dataclass(frozen=True)
class VersionedSymbol:
    """A dynamic symbol with its GNU symbol version (.gnu.version + .gnu.version_d / _r)."""

    name: str
    version: str | None
    hidden: bool
    defined: bool
    from_file: str | None = None

    def spelled(self) -> str:
        """``foo@@V2`` (default), ``foo@V1`` (hidden or required), ``foo`` (no version)."""
        if self.version is None:
            return self.name
        return f"{self.name}{'@@' if self.defined and not self.hidden else '@'}{self.version}"


def versioned_dynamic_symbols(path: Path) -> list[VersionedSymbol]:
    """Every named .dynsym entry with the version its .gnu.version entry points at."""
    with path.open("rb") as handle:
        elf = pyelf.ELFFile(handle)
        dynsym = elf.get_section_by_name(".dynsym")
        if not isinstance(dynsym, pyelf.SymbolTableSection):
            return []
        versym = elf.get_section_by_name(".gnu.version")
        verdef = elf.get_section_by_name(".gnu.version_d")
        verneed = elf.get_section_by_name(".gnu.version_r")
        defined_names: dict[int, str] = {}
        if verdef is not None:
            for version, auxiliaries in verdef.iter_versions():
                names = [aux.name for aux in auxiliaries]
                if names and not version["vd_flags"] & 0x1:  # VER_FLG_BASE names the file, not a version
                    defined_names[version["vd_ndx"]] = names[0]
        needed: dict[int, tuple[str, str]] = {}
        if verneed is not None:
            for need, auxiliaries in verneed.iter_versions():
                for aux in auxiliaries:
                    needed[aux["vna_other"]] = (aux.name, need.name)
        out = []
        for number, sym in enumerate(dynsym.iter_symbols()):
            if not sym.name:
                continue
            raw = versym.get_symbol(number)["ndx"] if versym is not None else "VER_NDX_GLOBAL"
            index = raw if isinstance(raw, int) else 0
            hidden, index = bool(index & 0x8000), index & 0x7FFF
            version, from_file = defined_names.get(index), None
            if index in needed:
                version, from_file = needed[index]
            defined = sym["st_shndx"] != "SHN_UNDEF"
            out.append(VersionedSymbol(sym.name, version, hidden, defined, from_file))
        return out
