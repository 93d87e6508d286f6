"""Fault injection for the kernel-idiom properties: each fake breaks exactly one.

A wrapper around the system gcc breaks one kernel idiom the way a real
toolchain defect would (annotations lost, sections ignored, no_reorder
ignored, an empty ``-r`` output, ftrace flags dropped at link time); the
healthy gcc passes every property here, and each fake must fail exactly the
property its fault breaks, with the prerequisites it stands on still passing.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.harness.properties import load_all
from conformance.harness.verdict import PASS, Verdict
from tests.fakes import evaluate_properties, failing, messages, toolchain, wrapper

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs the system gcc")

KERNEL_IDIOMS = ["toplevel-asm", "section-placement", "initcall-order", "incremental-link", "per-file-flags"]
# What the five stand on (requires=): evaluated too, so a fault that breaks them shows up as theirs.
PREREQUISITES = ["lto-ir", "linker-plugin", "archive-index", "thin-archive"]
PROPERTIES = PREREQUISITES + KERNEL_IDIOMS
LINK_ORDER = ["a_early", "b_early", "c_early", "a_late1", "a_late2", "b_late1", "b_late2", "c_late1", "c_late2"]

LTO_COMPILE = 'lto = any(a.startswith("-flto") for a in args)\n'

FAULTS = {
    "toplevel-asm": {
        "purpose": "LTO compiles lose the kernel's __visible/__used annotations",
        "extra": LTO_COMPILE + 'if compiling and lto:\n    args += ["-D__visible=", "-D__used="]\n',
    },
    "section-placement": {
        "purpose": "LTO compiles ignore explicit section attributes",
        "extra": LTO_COMPILE + 'if compiling and lto:\n    args += ["-D__section(s)="]\n',
    },
    "initcall-order": {
        "purpose": "LTO compiles ignore the no_reorder attribute, so LTO emits initcalls in its own order",
        "extra": LTO_COMPILE + 'if compiling and lto:\n    args += ["-D__noreorder="]\n',
    },
    "incremental-link": {
        "purpose": "an LTO -r link writes an empty object and exits 0 (like mold 1.10.1)",
        "extra": LTO_COMPILE
        + 'if linking and lto and "-r" in args:\n'
        + '    args = ["-x", "c", "-c", "/dev/null", "-o", args[args.index("-o") + 1]]\n',
    },
    "per-file-flags": {
        "purpose": "link lines drop -pg/-mfentry, so GCC's LTRANS step instruments nothing",
        "extra": 'if linking:\n    args = [a for a in args if a not in ("-pg", "-mfentry")]\n',
    },
}


@dataclass(frozen=True)
class Run:
    """One toolchain's verdicts for PROPERTIES."""

    label: str
    results: dict[str, list[Verdict]]


def _evaluate(label: str, folder: Path, cache: Path) -> Run:
    if label == "healthy":
        tc = toolchain(cc="gcc")
    else:
        fault = FAULTS[label]
        cc = wrapper(folder / "bin", "gcc", "gcc", purpose=fault["purpose"], extra=fault["extra"])
        tc = toolchain(cc=cc, label=f"gcc-{label}")
    return Run(label, evaluate_properties(tc, cache, folder / "work", PROPERTIES))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One step cache for the module: every real toolchain's steps are built once."""
    return tmp_path_factory.mktemp("kernel-idioms-cache")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> dict[str, Run]:
    """The healthy gcc and every fake, evaluated once for the module, side by side.

    Each fake is a different compiler to the step cache, so nothing is
    shared between them; the work is child processes, so threads overlap it.
    """
    load_all()
    labels = ["healthy", *sorted(FAULTS)]
    folders = {label: tmp_path_factory.mktemp(label) for label in labels}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        done = pool.map(lambda label: _evaluate(label, folders[label], cache), labels)
        return {run.label: run for run in done}


@pytest.fixture(scope="module")
def healthy(runs: dict[str, Run]) -> dict[str, list[Verdict]]:
    return runs["healthy"].results


def test_healthy_gcc_passes_every_kernel_idiom(healthy) -> None:
    assert not failing(healthy), messages(healthy)
    for name in KERNEL_IDIOMS:
        assert any(v.outcome == PASS for v in healthy[name]), f"{name}: no case passed on the system gcc"


def test_unannotated_asm_reference_is_recorded_not_judged(healthy) -> None:
    """GCC does not parse asm: the fact is info on a passing verdict, never a failure."""
    verdict = next(v for v in healthy["toplevel-asm"] if v.case.endswith("unannotated"))
    assert verdict.outcome == PASS
    assert verdict.info["unannotated_asm_reference"].startswith("not resolved: undefined reference to plain_helper")


def test_initcall_order_reports_what_it_found(healthy) -> None:
    verdict = next(v for v in healthy["initcall-order"] if v.case.endswith("no-reorder"))
    orders = verdict.info["order"]
    assert orders["default"].split() == LINK_ORDER
    partitions = next(v for v in healthy["initcall-order"] if v.case.endswith("no-reorder-1to1-max"))
    assert "-flto-partition=max" in partitions.info["order"]


@pytest.mark.parametrize("broken", sorted(FAULTS))
def test_fault_fails_exactly_its_property(broken: str, runs: dict[str, Run]) -> None:
    results = runs[broken].results
    assert failing(results) == {broken}, messages(results)


def test_empty_relocatable_output_is_named(runs: dict[str, Run]) -> None:
    text = messages(runs["incremental-link"].results)
    assert "defines no symbol and carries no IR" in text
    assert "wrote an empty object for -r and exited 0" in text


def test_dropped_link_flags_are_named(runs: dict[str, Run]) -> None:
    text = messages(runs["per-file-flags"].results)
    assert "exactly traced_fn to call __fentry__" in text
    assert "no function call(s) __fentry__" in text


def test_reordered_initcalls_show_the_order_found(runs: dict[str, Run]) -> None:
    text = messages(runs["initcall-order"].results)
    assert "found:    c_early b_early a_early" in text


@pytest.mark.skipif(shutil.which("mold") is None, reason="needs mold")
def test_real_mold_relocatable_defect_fails_incremental_link(cache: Path, tmp_path: Path) -> None:
    """mold 1.10.1 writes an empty object for an LTO -r link; newer molds may pass."""
    tc = toolchain(cc="gcc", fuse_ld="mold")
    if not tc.linker_version.startswith("mold 1."):
        pytest.skip(f"{tc.linker_version}: the measured defect is mold 1.x's")
    results = evaluate_properties(tc, cache, tmp_path / "work", ["incremental-link"])
    failed = [v for v in results["incremental-link"] if v.outcome == "fail"]
    assert failed, "mold 1.x -r of LTO objects should fail incremental-link"
    assert "the linker (mold) wrote an empty object for -r and exited 0" in failed[0].message()
