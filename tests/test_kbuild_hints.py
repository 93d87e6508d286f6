"""Hints for kbuild failures: the table is data, each entry has a recorded log.

Every entry of ``kbuild_hints.toml`` must explain its own recorded log and
no other entry's; a malformed table is an error naming file, entry and key;
and the PIE hint reaches a person through the fake tree exactly when the
compiler defaults to PIE.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conformance.harness import kbuild, kbuild_hints, kernel_source
from conformance.harness.build import StepCache
from conformance.harness.properties import Context, evaluate, load_all
from conformance.harness.verdict import FAIL
from tests import fakes
from tests.kernel_fakes import LOGS, fake_toolchain, fake_tree, reset_fake_env

CASES_ROOT = Path(__file__).resolve().parent.parent / "cases"
CONFIG_SYMBOLS = ("CC_IS_CLANG", "LD_IS_LLD", "AS_IS_LLVM", "CC_IS_GCC")


@pytest.fixture(autouse=True)
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    reset_fake_env(monkeypatch)


def config_of(log: str) -> dict[str, str]:
    """The final .config a recorded log implies: what it names as not set is off, the rest on."""
    unset = set(re.findall(r"CONFIG_(\w+) is not set", log))
    return {s: "n" if s in unset else "y" for s in CONFIG_SYMBOLS}


@pytest.mark.parametrize("hint", kbuild_hints.table(), ids=lambda h: h.name)
def test_each_recorded_log_gives_its_hint_and_no_other(hint: kbuild_hints.Hint) -> None:
    log = (LOGS / f"{hint.name}.log").read_text()
    tc = fake_toolchain("gcc", "gcc", "bfd") if hint.stage == "build" else fake_toolchain(linker="bfd")
    got = kbuild_hints.explain(
        hint.stage, log, config=config_of(log), variables={"LD": "ld.bfd"}, tc=tc, pie=lambda argv: True
    )
    assert got == [hint.text.format(cc="gcc", family=tc.family, linker=tc.linker, ld="ld.bfd")]


def test_every_log_belongs_to_an_entry() -> None:
    names = {h.name for h in kbuild_hints.table()}
    assert {p.stem for p in LOGS.glob("*.log")} == names


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('name = "x"\nstage = "build"\npattern = "a"\ntext = "t"\nhelp = "?"', "key 'help' is not known"),
        ('name = "x"\nstage = "link"\npattern = "a"\ntext = "t"', "key 'stage' must be one of config, build"),
        ('name = "x"\nstage = "build"\npattern = "(a"\ntext = "t"', "key 'pattern': missing )"),
        ('name = "x"\nstage = "build"\npattern = "a"\ntext = "t"\nwhen = ["sunny"]', "'sunny' is not a known fact"),
        ('name = "x"\nstage = "build"\npattern = "a"\ntext = "use {compiler}"', "unknown field {compiler}"),
        ('name = "x"\nstage = "build"\npattern = "a"', "key 'text' is required"),
    ],
)
def test_a_malformed_table_names_file_entry_and_key(tmp_path: Path, entry: str, problem: str) -> None:
    table = tmp_path / "hints.toml"
    table.write_text(f"[[hint]]\n{entry}\n")
    with pytest.raises(kbuild_hints.HintTableError) as info:
        kbuild_hints.load(table)
    assert str(info.value).startswith(f"{table}: hint 1 (x): ") and problem in str(info.value)


def fake_gcc(folder: Path, default_pie: bool) -> Path:
    """A gcc that only answers -v, as Debian's gcc-12 does (or one built without default PIE)."""
    configured = "--enable-default-pie" if default_pie else "--disable-default-pie"
    return fakes.script(
        folder,
        "gcc",
        f"import sys\nprint('Configured with: ../src/configure -v --enable-languages=c {configured}', "
        "file=sys.stderr)\nprint('gcc version 12.2.0 (Debian 12.2.0-14)', file=sys.stderr)\n",
    )


def test_defaults_to_pie_reads_gcc_v(tmp_path: Path) -> None:
    assert kbuild_hints.defaults_to_pie((str(fake_gcc(tmp_path / "pie", True)),))
    assert not kbuild_hints.defaults_to_pie((str(fake_gcc(tmp_path / "nopie", False)),))


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("cc") is None, reason="needs make and a host cc")
@pytest.mark.parametrize("default_pie", [True, False])
def test_a_pie_link_failure_on_a_gcc_lto_tree_names_no_pie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_pie: bool
) -> None:
    gcc = fake_gcc(tmp_path / "bin", default_pie)
    tc = fake_toolchain(str(gcc), "gcc", "bfd", path=gcc)
    monkeypatch.setenv("FAKE_KERNEL_FAIL", "vmlinux")
    monkeypatch.setenv("FAKE_KERNEL_LOG", str(LOGS / "pie-link.log"))
    tree = fake_tree(tmp_path, "gcc-lto-2022")
    source = kernel_source.resolve_source(str(tree), tmp_path)
    build = kbuild.build_kernel(kbuild.BuildRequest(source, kernel_source.resolve_config(None), tc, "full"), tmp_path)
    assert not build.ok and build.option == "CONFIG_LTO_GCC" and build.stage == "build"
    assert "can not be used when making a PIE object" in build.message
    hint = f'run with --cc "{gcc} -no-pie"'
    assert (hint in build.message) is default_pie
    if default_pie:
        load_all()
        ctx = Context(tc, tmp_path / "work", StepCache(tmp_path / "cache"), CASES_ROOT, kernel_src=str(tree))
        full = next(c for c in ctx.cases("kernel-build") if c.name == "full")
        verdict = evaluate(ctx, "kernel-build", full)
        assert verdict.outcome == FAIL and "hint:  the linker was making a PIE object" in verdict.message()
        assert hint in verdict.message()
