"""What the verdict cache and the resolution cache keep, and what makes them let go.

A kept verdict is reused only while nothing it depends on changed: a
program the check ran is replaced, and the check runs again. A verdict the
machine had a say in (a timeout), a skip from inside a check, and an error
are never kept. A kept toolchain is resolved again once one of its
programs changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance.harness import resolution_cache, verdict_cache
from conformance.harness.build import StepCache
from conformance.harness.cases import Case
from conformance.harness.process import run
from conformance.harness.properties import REGISTRY, Context, Skip, evaluate, register
from conformance.harness.toolchain import ToolchainSpec, resolve
from conformance.harness.verdict import FAIL, PASS, SKIP

from . import fakes

CALLS: list[str] = []


def _toolchain():
    return type("T", (), {"full_id": "gcc-12+bfd", "family": "gcc", "linker": "bfd", "arch": "x86_64"})()


@pytest.fixture
def probe_property(tmp_path: Path):
    """A property whose check runs one helper program: it passes while the program prints 'ok'."""
    helper = fakes.script(tmp_path / "bin", "helper", "print('ok')\n")

    @register("cache-probe", "runs a helper", {})
    def check(ctx, case, findings):
        CALLS.append(case.name)
        mode = (tmp_path / "mode").read_text() if (tmp_path / "mode").exists() else "run"
        if mode == "skip":
            raise Skip("the machine lacks something")
        step = run([str(helper)], cwd=tmp_path, timeout=0.5 if mode == "slow" else 30)
        findings.expect(step.output.strip() == "ok", "the helper to print ok", step.output.strip() or "nothing")
        return ""

    case = Case("cache-probe", "c", tmp_path, "why", ("a.c",))
    ctx = Context(_toolchain(), tmp_path / "ws", StepCache(tmp_path / "cache"), tmp_path)  # type: ignore[arg-type]
    (tmp_path / "ws").mkdir()
    CALLS.clear()
    try:
        yield ctx, case, helper
    finally:
        REGISTRY.pop("cache-probe", None)


def test_a_kept_verdict_is_reused_until_a_program_it_ran_changes(probe_property, tmp_path):
    ctx, case, helper = probe_property
    assert evaluate(ctx, "cache-probe", case).outcome == PASS
    assert evaluate(ctx, "cache-probe", case).outcome == PASS
    assert CALLS == ["c"], "the second evaluation should read the kept verdict"
    helper.write_text(helper.read_text().replace("print('ok')", "print('broken')"))
    os.utime(helper, ns=(helper.stat().st_atime_ns, helper.stat().st_mtime_ns + 1_000_000))
    verdict = evaluate(ctx, "cache-probe", case)
    assert verdict.outcome == FAIL and "broken" in verdict.message()
    assert CALLS == ["c", "c"]


def test_the_machine_s_verdicts_are_not_kept(probe_property, tmp_path, monkeypatch):
    ctx, case, helper = probe_property
    (tmp_path / "mode").write_text("skip")
    assert evaluate(ctx, "cache-probe", case).outcome == SKIP
    assert evaluate(ctx, "cache-probe", case).outcome == SKIP
    assert CALLS == ["c", "c"], "a skip from inside a check says what the machine lacks: not kept"
    fakes.script(helper.parent, helper.name, "import time\ntime.sleep(5)\n")
    (tmp_path / "mode").write_text("slow")
    assert evaluate(ctx, "cache-probe", case).outcome == FAIL
    assert evaluate(ctx, "cache-probe", case).outcome == FAIL
    assert CALLS[2:] == ["c", "c"], "a verdict reached while a command timed out is not kept"


def test_switched_off_nothing_is_kept(probe_property, monkeypatch):
    ctx, case, _ = probe_property
    monkeypatch.setenv(verdict_cache.VERDICT_CACHE_ENV, "0")
    evaluate(ctx, "cache-probe", case)
    evaluate(ctx, "cache-probe", case)
    assert CALLS == ["c", "c"]


def test_a_kept_toolchain_is_resolved_again_when_one_of_its_programs_changes(tmp_path):
    cc = fakes.wrapper(tmp_path / "bin", "gcc", "gcc", purpose="a plain gcc")
    spec = ToolchainSpec(cc=(str(cc),))
    calls = []

    def counting(s):
        calls.append(s)
        return resolve(s)

    first = resolution_cache.resolve_cached(spec, tmp_path / "cache", counting, fakes.CASES_ROOT)
    again = resolution_cache.resolve_cached(spec, tmp_path / "cache", counting, fakes.CASES_ROOT)
    assert len(calls) == 1 and again == first
    cc.write_text(cc.read_text() + "\n# rebuilt\n")
    resolution_cache.resolve_cached(spec, tmp_path / "cache", counting, fakes.CASES_ROOT)
    assert len(calls) == 2, "a changed driver must be resolved again"


def test_files_a_verdict_names_are_kept_with_it(tmp_path):
    """A console log in the run's build folder outlives the folder: the kept verdict names its copy."""

    @register("cache-files", "names a log", {})
    def check(ctx, case, findings):
        log = ctx.workspace / "build" / "console.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("booted\n")
        findings.info["console_log"] = str(log)
        findings.info["missing_tmpdir"] = str(ctx.workspace / "no-such-dir")
        return ""

    try:
        case = Case("cache-files", "c", tmp_path, "why", ("a.c",))
        toolchain = _toolchain()
        first = Context(toolchain, tmp_path / "ws1", StepCache(tmp_path / "cache"), tmp_path)  # type: ignore[arg-type]
        (tmp_path / "ws1").mkdir()
        evaluate(first, "cache-files", case)
        second = Context(toolchain, tmp_path / "ws2", StepCache(tmp_path / "cache"), tmp_path)  # type: ignore[arg-type]
        kept = evaluate(second, "cache-files", case)
        log = Path(kept.info["console_log"])
        assert log.is_relative_to(tmp_path / "cache" / "verdicts") and log.read_text() == "booted\n"
        assert not Path(kept.info["missing_tmpdir"]).exists()
        assert kept.info["verdict_kept_from"], "a kept verdict says which run reached it (its figures are that run's)"
    finally:
        REGISTRY.pop("cache-files", None)


def test_a_new_plugin_in_a_listed_folder_invalidates_the_verdict(tmp_path):
    """binutils loads every plugin of bfd-plugins: one installed there must make the check run again."""
    plugins = tmp_path / "bfd-plugins"
    plugins.mkdir()
    runs = []

    @register("cache-folder", "lists a plugin folder", {})
    def check(ctx, case, findings):
        verdict_cache.saw_file(plugins)
        runs.append(sorted(p.name for p in plugins.iterdir()))
        return ""

    try:
        case = Case("cache-folder", "c", tmp_path, "why", ("a.c",))
        ctx = Context(_toolchain(), tmp_path / "ws", StepCache(tmp_path / "cache"), tmp_path)  # type: ignore[arg-type]
        (tmp_path / "ws").mkdir()
        evaluate(ctx, "cache-folder", case)
        evaluate(ctx, "cache-folder", case)
        assert runs == [[]]
        (plugins / "LLVMgold-22.so").write_bytes(b"\x7fELF")
        evaluate(ctx, "cache-folder", case)
        assert runs == [[], ["LLVMgold-22.so"]]
    finally:
        REGISTRY.pop("cache-folder", None)
