"""GCC kernel LTO on the fake tree: the 2022 series (CONFIG_LTO_GCC) and the older CONFIG_LTO_MENU.

The fake build leaves outputs in the shape a real GCC LTO build gives:
slim objects with ``.gnu.lto_*`` sections and ``__gnu_lto_slim``, a vmlinux
without IR holding ``*.lto_priv.<N>`` locals, and mostly local functions.
Each proof must hold there and fail when its evidence is taken away.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.harness import kbuild, kernel_proofs, kernel_source
from conformance.harness.build import StepCache
from conformance.harness.properties import Context, evaluate, load_all
from conformance.harness.verdict import PASS
from tests.kernel_fakes import (
    fake_env,  # noqa: F401 (autouse: resets the fake kbuild's knobs)
    fake_toolchain,
    fake_tree,
    needs_make_and_cc,
    reset_fake_env,
)

CASES_ROOT = Path(__file__).resolve().parent.parent / "cases"

pytestmark = needs_make_and_cc


@pytest.fixture(scope="module")
def gcc_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[kbuild.KernelBuild, kbuild.KernelBuild]:
    folder = tmp_path_factory.mktemp("gcc-lto")
    source = kernel_source.resolve_source(str(fake_tree(folder, "gcc-lto-2022")), folder)
    tc = fake_toolchain("gcc", "gcc", "bfd")
    with pytest.MonkeyPatch.context() as monkeypatch:
        reset_fake_env(monkeypatch)
        lto, none = (
            kbuild.build_kernel(kbuild.BuildRequest(source, kernel_source.resolve_config(None), tc, mode), folder)
            for mode in ("full", "none")
        )
    assert lto.ok and none.ok, lto.message + none.message
    return lto, none


@pytest.mark.parametrize(("variant", "option"), [("gcc-lto-2022", "CONFIG_LTO_GCC"), ("lto-menu", "CONFIG_LTO_MENU")])
def test_gcc_lto_is_proven_through_the_pipeline(tmp_path: Path, variant: str, option: str) -> None:
    load_all()
    tree = fake_tree(tmp_path, variant)
    ctx = Context(fake_toolchain("gcc", "gcc", "bfd"), tmp_path / "w", StepCache(tmp_path / "c"), CASES_ROOT)
    ctx.kernel_src = str(tree)
    full = next(c for c in ctx.cases("kernel-build") if c.name == "full")
    verdict = evaluate(ctx, "kernel-build", full)
    assert verdict.outcome == PASS, verdict.message()
    assert verdict.info["gcc_ir_objects"] == 3 and verdict.info["baseline_gcc_ir_objects"] == 0
    assert verdict.info["lto_priv_symbols"] == 2 and verdict.info["baseline_lto_priv_symbols"] == 0
    proofs = "\n".join(verdict.info["lto_proofs"])
    assert "GCC IR (.gnu.lto_* sections) in the compiled objects: 3 of 3" in proofs
    assert "*.lto_priv.<N>" in proofs and "smaller share of global functions" in proofs
    assert "LLVM" not in proofs and ".tmp_initcalls.lds (written" not in proofs
    assert (
        verdict.info["build_dir"]
        and option in Path(verdict.info["build_dir"], "lto-conformance-result.json").read_text()
    )


def test_every_gcc_proof_holds_on_gcc_shaped_output(gcc_builds) -> None:
    lto, none = gcc_builds
    proofs = kernel_proofs.prove_lto("gcc", lto, none)
    assert [p.ok for p in proofs] == [True] * 5, [str(p) for p in proofs]


def _without_ir_objects(lto):
    return dataclasses.replace(lto, gcc_ir_objects=0, elf_objects=lto.gcc_ir_objects)


def _no_lto_priv(lto):
    return dataclasses.replace(lto, symbols=dataclasses.replace(lto.symbols, lto_priv_symbols=0))


def _global_share_kept(lto):
    """Every function still global, as in the baseline: nothing was internalised."""
    return dataclasses.replace(lto, symbols=dataclasses.replace(lto.symbols, local_functions=0))


@pytest.mark.parametrize(
    ("take_away", "failing"),
    [
        (_without_ir_objects, "GCC IR (.gnu.lto_* sections) in the compiled objects"),
        (_no_lto_priv, "GCC-privatised *.lto_priv.<N> symbols"),
        (_global_share_kept, "a smaller share of global functions"),
    ],
    ids=["no-ir-objects", "no-lto-priv", "global-share"],
)
def test_each_gcc_proof_fails_without_its_evidence(gcc_builds, take_away, failing: str) -> None:
    lto, none = gcc_builds
    failed = [p for p in kernel_proofs.prove_lto("gcc", take_away(lto), none) if not p.ok]
    assert len(failed) == 1 and failed[0].expected.startswith(failing), [str(p) for p in failed]


@pytest.mark.skipif(shutil.which("objcopy") is None, reason="needs objcopy")
def test_gcc_ir_left_in_vmlinux_is_found(gcc_builds, tmp_path: Path) -> None:
    lto, none = gcc_builds
    ir = tmp_path / "ir.bin"
    ir.write_bytes(b"GIMPLE")
    vmlinux = tmp_path / "vmlinux"
    subprocess.run(
        ["objcopy", "--add-section", f".gnu.lto_.decls.5e1f={ir}", str(lto.vmlinux), str(vmlinux)], check=True
    )
    stats = kernel_proofs.symbol_stats(vmlinux)
    assert stats.ir_sections == [".gnu.lto_.decls.5e1f"]
    failed = [p for p in kernel_proofs.prove_lto("gcc", dataclasses.replace(lto, symbols=stats), none) if not p.ok]
    assert [p.expected for p in failed] == ["vmlinux an ELF image with no IR sections left"]
    assert "IR sections .gnu.lto_.decls.5e1f" in failed[0].found


def test_a_baseline_with_gcc_ir_fails_the_control(gcc_builds) -> None:
    lto, _ = gcc_builds
    failed = [p for p in kernel_proofs.prove_lto("gcc", lto, lto) if not p.ok]
    assert any(p.expected.startswith("the non-LTO baseline") for p in failed)
