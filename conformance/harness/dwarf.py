"""DWARF facts that prove what LTO did: inlined calls, compile units.

The proof of cross-file inlining is a concrete ``DW_TAG_subprogram`` of the
caller that contains a ``DW_TAG_inlined_subroutine`` whose
``DW_AT_abstract_origin`` (often a ``DW_FORM_ref_addr`` into another CU)
names the callee. A missing symbol alone proves nothing (ThinLTO keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import pyelf

REFERENCE_ATTRIBUTES = ("DW_AT_abstract_origin", "DW_AT_specification")


@dataclass(frozen=True)
class InlineEdge:
    """``callee`` (declared in ``callee_file``) was inlined into ``caller``."""

    caller: str
    caller_file: str
    callee: str
    callee_file: str

    @property
    def cross_file(self) -> bool:
        return Path(self.caller_file).name != Path(self.callee_file).name


@dataclass(frozen=True)
class CompileUnit:
    name: str
    producer: str
    language: int | None


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _origin(die: pyelf.DIE) -> pyelf.DIE:
    """Follow abstract_origin/specification links to the declaring DIE."""
    seen = 0
    while seen < 8:
        for attr in REFERENCE_ATTRIBUTES:
            if attr in die.attributes:
                die = die.get_DIE_from_attribute(attr)
                break
        else:
            return die
        seen += 1
    return die


def _name(die: pyelf.DIE) -> str:
    for candidate in (die, _origin(die)):
        attr = candidate.attributes.get("DW_AT_name")
        if attr is not None:
            return _text(attr.value)
    return "?"


def _cu_name(die: pyelf.DIE) -> str:
    top = die.cu.get_top_DIE()
    attr = top.attributes.get("DW_AT_name")
    return _text(attr.value) if attr else "?"


def _is_concrete(die: pyelf.DIE) -> bool:
    return "DW_AT_low_pc" in die.attributes or "DW_AT_ranges" in die.attributes


def _inlined_below(die: pyelf.DIE):
    for child in die.iter_children():
        if child.tag == "DW_TAG_inlined_subroutine":
            yield child
        if child.has_children:
            yield from _inlined_below(child)


def inlined_edges(path: Path) -> list[InlineEdge]:
    """Every (caller, inlined callee) pair found in the file's DWARF."""
    edges: list[InlineEdge] = []
    with path.open("rb") as handle:
        elf = pyelf.ELFFile(handle)
        if not elf.has_dwarf_info():
            return edges
        dwarf = elf.get_dwarf_info()
        for cu in dwarf.iter_CUs():
            for die in cu.iter_DIEs():
                if die.tag != "DW_TAG_subprogram" or not _is_concrete(die):
                    continue
                caller_origin = _origin(die)
                caller = _name(die)
                caller_file = _cu_name(caller_origin)
                for inlined in _inlined_below(die):
                    origin = _origin(inlined)
                    edges.append(InlineEdge(caller, caller_file, _name(origin), _cu_name(origin)))
    return edges


def compile_units(path: Path) -> list[CompileUnit]:
    out: list[CompileUnit] = []
    with path.open("rb") as handle:
        elf = pyelf.ELFFile(handle)
        if not elf.has_dwarf_info():
            return out
        for cu in elf.get_dwarf_info().iter_CUs():
            top = cu.get_top_DIE()
            attrs = top.attributes
            name = _text(attrs["DW_AT_name"].value) if "DW_AT_name" in attrs else "?"
            producer = _text(attrs["DW_AT_producer"].value) if "DW_AT_producer" in attrs else ""
            language = attrs["DW_AT_language"].value if "DW_AT_language" in attrs else None
            out.append(CompileUnit(name, producer, language))
    return out


@dataclass(frozen=True)
class LineRow:
    """One row of a DWARF line program: an address and where in the source it came from."""

    address: int
    file: str
    line: int


def _line_file_name(program, index: int) -> str:
    """File names are 1-based before DWARF 5 and 0-based from DWARF 5 on."""
    entries = program["file_entry"]
    position = index if program.header["version"] >= 5 else index - 1
    if 0 <= position < len(entries):
        return _text(entries[position].name)
    return "?"


def line_rows(path: Path) -> list[LineRow]:
    """Every address-to-line row of every CU, so a check can resolve any address.

    End-of-sequence rows are left out: they mark the first address after a
    sequence, not code from that line.
    """
    rows: list[LineRow] = []
    with path.open("rb") as handle:
        elf = pyelf.ELFFile(handle)
        if not elf.has_dwarf_info():
            return rows
        dwarf = elf.get_dwarf_info()
        if dwarf.debug_line_sec is None:
            return rows
        for cu in dwarf.iter_CUs():
            program = dwarf.line_program_for_CU(cu)
            if program is None:
                continue
            for entry in program.get_entries():
                state = entry.state
                if state is None or state.end_sequence or state.line == 0:
                    continue
                rows.append(LineRow(state.address, _line_file_name(program, state.file), state.line))
    return rows


def lines_between(rows: list[LineRow], low: int, high: int) -> set[tuple[str, int]]:
    """(file basename, line) of the rows in [low, high): what a debugger shows for that code."""
    return {(Path(r.file).name, r.line) for r in rows if low <= r.address < high}
