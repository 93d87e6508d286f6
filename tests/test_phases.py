"""Per-phase peak RSS: the lto1 / ld.lld shims log real per-process figures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.harness import phases
from conformance.harness.process import run
from conformance.harness.toolchain import ToolchainSpec, resolve

SOURCES = {
    "a.c": "int b(int);\nint main(void) { return b(1) - 43; }\n",
    "b.c": "static int c(int x) { return x * 6; }\nint b(int x) { return c(x) * 7 + 1; }\n",
}


def _link_with_shims(tc, folder: Path) -> list[dict]:
    for name, text in SOURCES.items():
        (folder / name).write_text(text)
        assert run([*tc.cc.argv, "-O2", "-flto", "-c", name], cwd=folder).ok
    shims = phases.plan(tc, folder)
    assert shims is not None
    log = folder / phases.LOG_NAME
    extra = ["-flto-partition=max"] if tc.family == "gcc" else []
    step = run(
        [*tc.cc.argv, *tc.linker_flags, "-O2", "-flto", *extra, *shims.flags, "a.o", "b.o", "-o", "prog"],
        cwd=folder,
        env={phases.LOG_ENV: str(log)},
    )
    assert step.ok, step.describe_failure()
    assert run(["./prog"], cwd=folder).returncode == 0
    return phases.read_log(log)


def test_gcc_phases_are_measured_per_process(system_gcc, tmp_path):
    records = _link_with_shims(system_gcc, tmp_path)
    kinds = [r["phase"] for r in records]
    assert kinds.count("wpa") == 1 and kinds.count("ltrans") >= 1, records
    floor = phases.floor_kib(tmp_path)
    assert 0 < floor < min(r["peak_rss_kib"] for r in records), (floor, records)
    figures = phases.figures(records, floor)
    assert figures["wpa_processes"] == 1 and figures["wpa_peak_rss_mib"] > figures["shim_floor_mib"]
    assert isinstance(figures["peak_in_wpa"], bool)


@pytest.mark.skipif(not shutil.which("clang-19"), reason="needs clang-19")
def test_lld_process_is_measured(tmp_path):
    tc = resolve(ToolchainSpec(cc=("clang-19",), fuse_ld="lld"))
    records = _link_with_shims(tc, tmp_path)
    assert [r["phase"] for r in records] == ["lld"] and records[0]["peak_rss_kib"] > 0


def test_figures_from_records():
    records = [
        {"phase": "wpa", "peak_rss_kib": 300 * 1024},
        {"phase": "ltrans", "peak_rss_kib": 100 * 1024},
        {"phase": "ltrans", "peak_rss_kib": 120 * 1024},
    ]
    out = phases.figures(records, 6 * 1024)
    assert out == {
        "shim_floor_mib": 6.0,
        "ltrans_processes": 2,
        "ltrans_peak_rss_mib": 120.0,
        "wpa_processes": 1,
        "wpa_peak_rss_mib": 300.0,
        "peak_in_wpa": True,
    }
