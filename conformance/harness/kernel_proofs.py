"""Prove from a kernel build's output that LTO happened, against a non-LTO build.

A build that "succeeds" may not have used LTO at all, so every claim is read
from the output, never from the request: the compiled objects carried IR
(LLVM bitcode files for clang; ELF objects with GCC's ``.gnu.lto_*`` sections
for gcc), vmlinux carries none, and the optimiser crossed files. The last
needs the non-LTO build of the same config: ThinLTO leaves promoted locals
(``*.llvm.<N>``), GCC's whole-program LTO privatised ones (``*.lto_priv.<N>``),
that the baseline lacks, and both shrink the share of global functions.
``size`` of ``.text`` is no proof (the kernel pads it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import elf

if TYPE_CHECKING:
    from .kbuild import KernelBuild

PROMOTED_LOCAL = re.compile(r"\.llvm\.\d+$")
LTO_PRIV = re.compile(r"\.lto_priv\.\d+")
SKIPPED_OBJECTS = ("vmlinux.o",)


@dataclass
class ObjectCounts:
    """The compiled ``.o`` files under a build dir, by the IR they carry."""

    bitcode: int = 0
    gcc_ir: int = 0
    elf: int = 0

    @property
    def total(self) -> int:
        return self.bitcode + self.gcc_ir + self.elf


@dataclass
class SymbolStats:
    """What the symbol table of vmlinux says about cross-file optimisation."""

    global_functions: int = 0
    local_functions: int = 0
    promoted_locals: int = 0
    lto_priv_symbols: int = 0
    text_bytes: int = 0
    ir_sections: list[str] | None = None
    is_elf: bool = False

    @property
    def global_share(self) -> float:
        total = self.global_functions + self.local_functions
        return self.global_functions / total if total else 0.0

    @property
    def share_text(self) -> str:
        total = self.global_functions + self.local_functions
        return f"{self.global_functions}/{total} = {self.global_share:.1%}"


def count_objects(out: Path) -> ObjectCounts:
    """Every ``.o`` kbuild compiled (the inputs of vmlinux.a); vmlinux.o is a link output."""
    counts = ObjectCounts()
    for root, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.endswith(".o") or name in SKIPPED_OBJECTS:
                continue
            kind = elf.object_ir(Path(root, name))
            if kind == "llvm":
                counts.bitcode += 1
            elif kind == "gcc":
                counts.gcc_ir += 1
            elif kind == "none":
                counts.elf += 1
    return counts


def symbol_stats(vmlinux: Path) -> SymbolStats:
    """Global vs local functions, promoted/privatised locals, .text size, IR left behind."""
    image = elf.image_symbols(vmlinux)
    if image is None:
        return SymbolStats()
    stats = SymbolStats(text_bytes=image.text_bytes, ir_sections=list(image.ir_sections), is_elf=True)
    for name, bind in image.functions:
        if bind == "STB_LOCAL":
            stats.local_functions += 1
        else:
            stats.global_functions += 1
        if PROMOTED_LOCAL.search(name):
            stats.promoted_locals += 1
    stats.lto_priv_symbols = sum(1 for name in image.names if LTO_PRIV.search(name))
    return stats


@dataclass(frozen=True)
class Proof:
    """One claim about the build, as an expected/found pair a person can check."""

    ok: bool
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.expected}: {self.found}"


def prove_lto(family: str, lto: KernelBuild, baseline: KernelBuild | None) -> list[Proof]:
    """Inputs carried IR, the output carries none, and the optimiser crossed files."""
    proofs: list[Proof] = []
    total = lto.bitcode_objects + lto.gcc_ir_objects + lto.elf_objects
    if family == "gcc":
        proofs.append(
            Proof(
                lto.gcc_ir_objects > 0,
                "GCC IR (.gnu.lto_* sections) in the compiled objects",
                f"{lto.gcc_ir_objects} of {total} objects carry it",
            )
        )
    else:
        proofs.append(
            Proof(
                lto.bitcode_objects > 0,
                "LLVM bitcode among the compiled objects (the inputs of vmlinux)",
                f"{lto.bitcode_objects} of {total} objects are bitcode",
            )
        )
        proofs.append(
            Proof(
                lto.initcalls_lds,
                ".tmp_initcalls.lds (written only by Clang LTO builds)",
                "present" if lto.initcalls_lds else "absent",
            )
        )
    sym = lto.symbols or SymbolStats()
    proofs.append(
        Proof(
            sym.is_elf and not sym.ir_sections,
            "vmlinux an ELF image with no IR sections left",
            ("IR sections " + ", ".join(sym.ir_sections or []) if sym.ir_sections else "ELF, no IR")
            if sym.is_elf
            else "not an ELF file",
        )
    )
    if baseline is None or baseline.symbols is None:
        return proofs
    base = baseline.symbols
    base_ir = baseline.bitcode_objects + baseline.gcc_ir_objects
    proofs.append(
        Proof(
            base_ir == 0 and not baseline.initcalls_lds,
            "the non-LTO baseline without IR objects or .tmp_initcalls.lds",
            f"{base_ir} IR objects, {'a' if baseline.initcalls_lds else 'no'} .tmp_initcalls.lds",
        )
    )
    if family == "gcc":
        proofs.append(
            Proof(
                sym.lto_priv_symbols > base.lto_priv_symbols,
                "GCC-privatised *.lto_priv.<N> symbols in vmlinux, more than in the baseline",
                f"{sym.lto_priv_symbols} (baseline {base.lto_priv_symbols})",
            )
        )
    elif lto.mode == "thin":
        proofs.append(
            Proof(
                sym.promoted_locals > base.promoted_locals,
                "ThinLTO-promoted *.llvm.<N> functions in vmlinux, more than in the baseline",
                f"{sym.promoted_locals} (baseline {base.promoted_locals})",
            )
        )
    proofs.append(
        Proof(
            sym.global_share < base.global_share,
            "a smaller share of global functions than the baseline",
            f"{sym.share_text} vs baseline {base.share_text}",
        )
    )
    return proofs
