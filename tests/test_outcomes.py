"""Outcomes as a person meets them: a broken case is an error, never a toolchain failure.

A copy of the suite in a tmp folder gets one extra property whose cases are
broken in the ways a case author breaks them (a key the check needs but the
case does not give, a failed condition on the case, an unusable machine,
a typo the schema catches); a real pytest run must report each as an error
with one paragraph and no Python traceback, and a known-defect xfail must
not hide it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.harness.properties import Context, evaluate
from conformance.harness.verdict import ERROR, FAIL, SKIP

ROOT = Path(__file__).resolve().parent.parent

PROBE = '''"""probe: a property for the outcome self-tests."""

from __future__ import annotations

from ..errors import InfrastructureError
from . import register


@register("probe", "a property for the outcome self-tests", {"value": int, "mode": str})
def probe(ctx, case, findings):
    mode = case.expect.get("mode", "key")
    if mode == "infrastructure":
        raise InfrastructureError("cannot unpack probe.tar\\n$ tar xf probe.tar\\ntar: probe.tar: Cannot open")
    if mode == "assert":
        assert case.archive is not None, f"{case.id}: probe cases need [archive]"
    if mode == "fail":
        findings.expect(False, "the probe to pass", "it failed")
    return f"value {case.expect['value']}"
'''

CASES = {
    "missing-key": '[expect]\nmode = "key"\n',
    "bad-assert": '[expect]\nmode = "assert"\nvalue = 1\n',
    "machine": '[expect]\nmode = "infrastructure"\nvalue = 1\n',
    "fails": '[expect]\nmode = "fail"\nvalue = 1\n',
}


def suite_copy(tmp_path: Path, cases: dict[str, str]) -> Path:
    """The project's code and config, plus the probe property, its test and the given cases."""
    root = tmp_path / "suite"
    shutil.copytree(ROOT / "conformance", root / "conformance", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    (root / "conformance" / "harness" / "properties" / "probe.py").write_text(PROBE)
    (root / "conformance" / "test_probe.py").write_text("def test_probe(check_property):\n    check_property()\n")
    for name, expect in cases.items():
        folder = root / "cases" / "probe" / name
        folder.mkdir(parents=True)
        (folder / "a.c").write_text("int a;\n")
        (folder / "case.toml").write_text(f'why = "outcome self-test"\nsources = ["a.c"]\nlink = "none"\n{expect}')
    return root


def run_copy(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LTO_CONFORMANCE_CACHE": str(root / "cache"), "LC_ALL": "C"}
    env.pop("CC", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "conformance/test_probe.py", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


@needs_gcc
def test_broken_cases_are_errors_with_one_paragraph(tmp_path):
    root = suite_copy(tmp_path, CASES)
    known = tmp_path / "known.toml"
    known.write_text('[[failure]]\nproperty = "probe"\ntoolchain = "gcc"\ncase = "missing-key"\nreason = "x"\n')
    result = run_copy(root, "--toolchain", "gcc", "-rA", "--known-failures", str(known))
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 3 errors" in out, out
    assert "ERROR conformance/test_probe.py::test_probe[gcc-missing-key]" in out, out
    assert "ERROR conformance/test_probe.py::test_probe[gcc-bad-assert]" in out
    assert "ERROR conformance/test_probe.py::test_probe[gcc-machine]" in out
    assert "FAILED conformance/test_probe.py::test_probe[gcc-fails]" in out
    assert "broken case, not checked: the check reads key 'value', which the case does not give (probe.py:" in out
    assert "broken case, not checked: probe/bad-assert: probe cases need [archive] (probe.py:" in out
    assert "infrastructure failure, not checked: cannot unpack probe.tar $ tar xf probe.tar tar: probe.tar:" in out
    assert "Traceback" not in out and "raise " not in out and "def probe" not in out, out


@needs_gcc
def test_schema_error_is_a_collection_error_without_traceback(tmp_path):
    root = suite_copy(tmp_path, {"typo": '[expect]\nvalue = 1\nmdoe = "key"\n'})
    result = run_copy(root, "--toolchain", "gcc")
    out = result.stdout
    assert result.returncode == 2, out + result.stderr
    assert "ERROR collecting conformance/test_probe.py" in out, out
    case = root / "cases" / "probe" / "typo" / "case.toml"
    assert f"broken case: {case}: key 'expect.mdoe'" in out, out
    assert "Traceback" not in out and "raise " not in out, out


def test_error_verdict_reads_as_one_paragraph(tmp_path):
    """The library side: ERROR and a prerequisite's error blocking its dependents, structured."""
    from conformance.harness import properties
    from conformance.harness.cases import Case
    from conformance.harness.properties import REGISTRY, register

    @register("outcome-root", "root", {})
    def root(ctx, case, findings):
        raise KeyError("callee")

    @register("outcome-leaf", "leaf", {}, requires=("outcome-root",))
    def leaf(ctx, case, findings):
        return ""

    case = Case("outcome-root", "c", tmp_path, "why", ("a.c",))
    toolchain = type("T", (), {"full_id": "gcc-12+bfd", "family": "gcc", "linker": "bfd", "arch": "x86_64"})()
    ctx = Context(toolchain, tmp_path, None, tmp_path)  # type: ignore[arg-type]
    ctx.cases = lambda name: [case]  # type: ignore[method-assign]
    try:
        verdict = evaluate(ctx, "outcome-root", case)
        assert verdict.outcome == ERROR and verdict.outcome != FAIL
        assert "\n" not in verdict.message()
        assert verdict.message().startswith("outcome-root [gcc-12+bfd] cases/outcome-root/c: broken case")
        blocked = evaluate(ctx, "outcome-leaf", case)
        assert blocked.outcome == SKIP
        assert blocked.blocked_by is not None and blocked.blocked_by.property == "outcome-root"
        assert blocked.blocked_by.problem == verdict.reason
    finally:
        REGISTRY.pop("outcome-root")
        REGISTRY.pop("outcome-leaf")
        assert properties.REGISTRY is REGISTRY


@pytest.mark.parametrize("worker", [0, 1])
def test_workers_walk_a_prerequisites_cases_from_opposite_ends_to_the_same_blocker(tmp_path, worker):
    """gw0 checks a prerequisite's cases from the first, gw1 from the last; both name the first failure."""
    from conformance.harness import properties
    from conformance.harness.cases import Case
    from conformance.harness.properties import REGISTRY, register

    checked: list[str] = []

    @register("order-root", "root", {})
    def root(ctx, case, findings):
        checked.append(case.name)
        findings.expect(case.name not in ("b", "c"), f"{case.name} to hold", "it does not")
        return ""

    @register("order-leaf", "leaf", {}, requires=("order-root",))
    def leaf(ctx, case, findings):
        return ""

    cases = [Case("order-root", name, tmp_path, "why", ("a.c",)) for name in ("a", "b", "c")]
    toolchain = type("T", (), {"full_id": "gcc-12+bfd", "family": "gcc", "linker": "bfd", "arch": "x86_64"})()
    ctx = Context(toolchain, tmp_path, None, tmp_path, worker_index=worker)  # type: ignore[arg-type]
    ctx.cases = lambda name: cases  # type: ignore[method-assign]
    try:
        blocked = evaluate(ctx, "order-leaf", Case("order-leaf", "x", tmp_path, "why", ("a.c",)))
        assert blocked.outcome == SKIP and blocked.blocked_by is not None
        assert blocked.blocked_by.problem.startswith("expected b to hold"), blocked.blocked_by.problem
        assert checked == (["a", "b"] if worker == 0 else ["c", "b", "a"])
        checked.clear()
        cases.pop(1), cases.pop(1)
        ctx.facts.clear()
        assert evaluate(ctx, "order-leaf", Case("order-leaf", "x", tmp_path, "why", ("a.c",))).outcome != SKIP
        assert checked == ["a"]
    finally:
        REGISTRY.pop("order-root")
        REGISTRY.pop("order-leaf")
        assert properties.REGISTRY is REGISTRY
