"""ELF, DWARF and archive inspection on real objects built by the system gcc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.harness import dwarf, elf
from conformance.harness.archive import read_index
from conformance.harness.build import StepCache
from conformance.harness.properties.evidence import nm_listing, plugin_trace

pytestmark = pytest.mark.skipif(not shutil.which("gcc"), reason="needs gcc")

CALLER = "extern int callee(int);\n__attribute__((noinline)) int caller(int x) { return callee(x) + 1; }\n"
CALLER += "int main(void) { return caller(41) != 42; }\n"
CALLEE = "volatile int sink;\nint callee(int x) { sink = x; return x; }\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inspect")
    (folder / "caller.c").write_text(CALLER)
    (folder / "callee.c").write_text(CALLEE)

    def cc(*args: str) -> None:
        subprocess.run(["gcc", *args], cwd=folder, check=True)

    for flags, suffix in ((["-flto"], "lto"), (["-flto", "-ffat-lto-objects"], "fat"), ([], "plain")):
        for name in ("caller", "callee"):
            cc("-O2", "-g", *flags, "-c", f"{name}.c", "-o", f"{name}.{suffix}.o")
        cc("-O2", "-g", *flags, "-save-temps", f"caller.{suffix}.o", f"callee.{suffix}.o", "-o", f"prog.{suffix}")
    subprocess.run(["gcc-ar", "rcs", "lib.a", "callee.lto.o"], cwd=folder, check=True)
    subprocess.run(["gcc-ar", "rcsT", "thin.a", "callee.lto.o", "caller.lto.o"], cwd=folder, check=True)
    return folder


def test_ir_kinds(built):
    assert elf.ir_kind(built / "callee.lto.o") is elf.IRKind.GCC_SLIM
    assert elf.ir_kind(built / "callee.fat.o") is elf.IRKind.GCC_FAT
    assert elf.ir_kind(built / "callee.plain.o") is elf.IRKind.NONE
    assert elf.ir_kind(built / "missing.o") is elf.IRKind.NOT_AN_OBJECT
    assert elf.ir_kind(built / "caller.c") is elf.IRKind.NOT_AN_OBJECT


def test_slim_objects_hide_their_symbols_from_elf_readers(built):
    assert "callee" not in elf.global_definitions(built / "callee.lto.o")
    assert "callee" in elf.global_definitions(built / "callee.plain.o")


def test_inlined_edges_cross_files_only_with_lto(built):
    edges = [e for e in dwarf.inlined_edges(built / "prog.lto") if e.cross_file]
    assert ("caller", "callee", "callee.c") in {(e.caller, e.callee, e.callee_file) for e in edges}
    assert not [e for e in dwarf.inlined_edges(built / "prog.plain") if e.cross_file]


def test_compile_units_show_the_ltrans_unit(built):
    units = dwarf.compile_units(built / "prog.lto")
    assert any(u.name == "<artificial>" and "GIMPLE" in u.producer for u in units)
    assert {"caller.c", "callee.c"} <= {u.name for u in units}


def test_archive_index_normal_and_thin(built):
    index = read_index(built / "lib.a")
    assert not index.thin and "callee" in index.symbols and index.members == ("callee.lto.o",)
    thin = read_index(built / "thin.a")
    assert thin.thin and {"callee", "caller", "main"} <= set(thin.symbols)
    with pytest.raises(ValueError):
        read_index(built / "caller.c")


def test_plugin_trace_reads_gcc_resolution(built):
    from conformance.harness.build import CaseBuild

    fake = CaseBuild(None, "lto", built, [], {}, None, "prog.lto", None)  # type: ignore[arg-type]
    trace = plugin_trace(fake)
    assert trace.resolution_file == "prog.lto.res"
    assert trace.resolved["callee"].startswith("PREVAILING_DEF")
    assert any(".ltrans" in o for o in trace.lto_outputs)


def test_nm_listing_parses_bsd_format():
    text = "         U nm_extern\n0000000000000000 T nm_func\n---------------- D nm_data\nnm: x.o: no symbols\n"
    assert nm_listing(text) == {"nm_extern": "U", "nm_func": "T", "nm_data": "D"}


def test_step_cache_reuses_outputs_and_records(tmp_path, system_gcc):
    from conformance.harness.build import Builder

    cache = StepCache(tmp_path / "cache")
    for round_ in range(2):
        folder = tmp_path / f"b{round_}"
        folder.mkdir()
        (folder / "callee.c").write_text(CALLEE)
        builder = Builder(folder, cache)
        step = builder.step(system_gcc.cc, ["-O2", "-c", "callee.c", "-o", "callee.o"], inputs=["callee.c"])
        assert step.ok and step.cached == (round_ == 1)
        assert step.argv[-1] == "callee.o" and step.cwd == folder
        assert elf.ir_kind(folder / "callee.o") is elf.IRKind.NONE
    (tmp_path / "b1" / "callee.c").write_text(CALLEE + "int more;\n")
    step = Builder(tmp_path / "b1", cache).step(
        system_gcc.cc, ["-O2", "-c", "callee.c", "-o", "callee.o"], inputs=["callee.c"]
    )
    assert not step.cached, "a changed input must miss the cache"
    assert step.shell() == "$ gcc -O2 -c callee.c -o callee.o"


@pytest.mark.parametrize(
    "cc, flags",
    [("gcc", []), ("gcc", ["-m32"]), ("aarch64-linux-gnu-gcc", []), ("gcc", ["-flto", "-ffat-lto-objects"])],
    ids=["x86_64", "i386", "aarch64", "gcc-fat-lto"],
)
def test_bulk_readers_agree_with_pyelftools(tmp_path, cc, flags):
    """Section names and symbols read in bulk are what pyelftools' own objects say, ELF32 and ELF64."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    if shutil.which(cc) is None:
        pytest.skip(f"no {cc}")
    source = tmp_path / "a.c"
    source.write_text(
        "static int hidden(int x) { return x * 3; }\nint shown(int y) { return hidden(y) + 1; }\n"
        "extern int elsewhere(void);\nint call(void) { return elsewhere(); }\nint data = 4;\n"
    )
    obj = tmp_path / "a.o"
    done = subprocess.run([cc, *flags, "-O1", "-g", "-c", str(source), "-o", str(obj)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"{cc} {' '.join(flags)} cannot compile here: {done.stderr.decode()[-200:]}")
    with obj.open("rb") as handle:
        image = ELFFile(handle)
        assert elf.section_names(obj) == [s.name for s in image.iter_sections()]
        table = image.get_section_by_name(".symtab")
        assert isinstance(table, SymbolTableSection)
        expected = []
        for sym in table.iter_symbols():
            if not sym.name:
                continue
            shndx = sym["st_shndx"]
            section = image.get_section(shndx).name if isinstance(shndx, int) else str(shndx)
            index = shndx if isinstance(shndx, int) else None
            info = sym["st_info"]
            expected.append(
                elf.Symbol(sym.name, info["bind"], info["type"], section, sym["st_value"], sym["st_size"], index)
            )
    assert elf.symbols_of(obj) == expected
    assert {"shown", "call", "data"} <= {s.name for s in expected}


def test_shared_structure_parsers_read_each_kind_of_file_as_pyelftools_does(tmp_path):
    """pyelf.ELFFile shares its parsers between files of one kind only: ELF64 and ELF32 opened in turn."""
    from elftools.elf.elffile import ELFFile

    from conformance.harness import pyelf

    source = tmp_path / "a.c"
    source.write_text("int shown(int y) { return y + 1; }\nlong data = 4;\n")
    kinds = {}
    for name, flags in (("elf64", ["-c"]), ("elf32", ["-m32", "-c"]), ("elf64-shared", ["-shared", "-fPIC"])):
        obj = tmp_path / f"{name}.o"
        if subprocess.run(["gcc", *flags, "-O1", str(source), "-o", str(obj)], capture_output=True).returncode:
            continue  # no 32-bit support here: the other kinds still count
        kinds[name] = obj
    opened = {}
    for _ in range(2):
        for name, obj in kinds.items():
            with obj.open("rb") as mine, obj.open("rb") as theirs:
                ours, reference = pyelf.ELFFile(mine), ELFFile(theirs)
                assert ours.header == reference.header
                assert ours.elfclass == reference.elfclass
                symbols = {
                    s.name: (s["st_value"], s["st_size"]) for s in ours.get_section_by_name(".symtab").iter_symbols()
                }
                expected = {
                    s.name: (s["st_value"], s["st_size"])
                    for s in reference.get_section_by_name(".symtab").iter_symbols()
                }
                assert symbols == expected and "shown" in symbols
                opened.setdefault(name, []).append(ours.structs.Elf_Sym)
    for name, parsers in opened.items():
        assert parsers[0] is parsers[1], f"{name}: the second file of its kind built its parsers again"
    distinct = {id(parsers[0]) for parsers in opened.values()}
    assert len(distinct) == len(opened), "files of different kinds must not share parsers"
