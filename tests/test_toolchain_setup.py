"""toolchain-setup and the cache identity: components that leak in or change are noticed."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.harness.build import StepCache, build_case
from conformance.harness.cases import load_cases
from conformance.harness.properties import REGISTRY, load_all
from conformance.harness.toolchain import ToolchainSpec, resolve
from conformance.harness.verdict import FAIL, PASS
from tests import fakes


def _libexec(gcc: str) -> Path | None:
    if not shutil.which(gcc):
        return None
    printed = subprocess.run([gcc, "-print-prog-name=lto1"], capture_output=True, text=True).stdout.strip()
    return Path(printed).parent if printed.startswith("/") else None


@pytest.mark.skipif(not (_libexec("gcc-11") and _libexec("gcc-12")), reason="needs gcc-11 and gcc-12")
def test_compiler_path_leak_fails_naming_the_component(step_cache_root, tmp_path):
    """A staged gcc-11 driver whose COMPILER_PATH points at gcc-12's programs runs gcc-12's lto1."""
    stage = tmp_path / "stage" / "bin"
    stage.mkdir(parents=True)
    shutil.copy2(shutil.which("gcc-11"), stage / "gcc")
    leak = str(_libexec("gcc-12")) + "/"
    own_libs = str(_libexec("gcc-11")) + "/"  # the stage's libgcc and crt files, as a packager's tree has them
    env = (("COMPILER_PATH", leak), ("LIBRARY_PATH", own_libs))
    tc = resolve(ToolchainSpec(cc=(str(stage / "gcc"),), env=env), label="staged-gcc-11")
    assert any(c.role == "lto1" and str(c.path).startswith(leak) for c in tc.components)
    results = fakes.evaluate_properties(tc, step_cache_root, tmp_path / "work", ["toolchain-setup"])
    failed = [v for v in results["toolchain-setup"] if v.outcome == FAIL]
    assert failed, [v.message() for v in results["toolchain-setup"]]
    message = failed[0].message()
    assert "lto1 is " in message and f"leaked in through COMPILER_PATH={leak}" in message
    assert "lto-wrapper" in message and "liblto_plugin" in message


@pytest.mark.skipif(not shutil.which("gcc"), reason="needs gcc")
def test_the_system_gcc_has_its_own_components(system_gcc, step_cache_root, tmp_path):
    results = fakes.evaluate_properties(system_gcc, step_cache_root, tmp_path, ["toolchain-setup"])
    assert [v.outcome for v in results["toolchain-setup"]] == [PASS], fakes.messages(results)
    roles = set(results["toolchain-setup"][0].info["components"])
    assert {"collect2", "lto-wrapper", "lto1", "liblto_plugin"} <= roles


def _write_lto1(folder: Path, real: str, *, broken: bool) -> None:
    body = "sys.exit(1)" if broken else f"os.execv({real!r}, [{real!r}] + sys.argv[1:])"
    path = folder / "lto1"
    path.write_text(f"#!{sys.executable} -SE\nimport os, sys\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.skipif(not _libexec("gcc"), reason="needs gcc")
def test_a_replaced_lto1_invalidates_the_cache(step_cache_root, tmp_path):
    """gcc -B<dir> runs <dir>/lto1: replacing it must rebuild the link, not replay the cached pass."""
    real = str(_libexec("gcc") / "lto1")
    bdir = tmp_path / "B"
    bdir.mkdir()
    _write_lto1(bdir, real, broken=False)
    load_all()
    case = next(c for c in load_cases(fakes.CASES_ROOT, "linker-plugin", REGISTRY["linker-plugin"].expect_schema))
    cache = StepCache(step_cache_root)
    good = resolve(ToolchainSpec(cc=("gcc", f"-B{bdir}/")))
    assert good.component("lto1").path == bdir / "lto1"
    first = build_case(case, good, "lto", tmp_path / "one", cache)
    assert first.ok, first.reproducer()
    _write_lto1(bdir, real, broken=True)
    os.utime(bdir / "lto1", ns=(1, 1))
    bad = resolve(ToolchainSpec(cc=("gcc", f"-B{bdir}/")))
    assert bad.identity != good.identity
    second = build_case(case, bad, "lto", tmp_path / "two", cache)
    assert not second.ok and not second.failed.cached, second.reproducer()
