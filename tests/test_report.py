"""Reports and known failures: a nightly job sees what regressed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conformance.harness import baseline, known_failures, report
from conformance.harness.errors import UsageError

DATA = Path(__file__).parent / "data"
RECORDED = DATA / "results-gcc12-clang19.json"
SCHEMA1 = DATA / "results-schema1.json"


def tc(label: str, ident: str, host: str = "h", target: str = "x86_64-linux-gnu") -> dict:
    family, rest = ident.split("-", 1)
    version, linker = rest.split("+")
    return {
        "label": label,
        "key": label,
        "host": host,
        "id": ident,
        "family": family,
        "version": version,
        "linker_flavour": linker,
        "target": target,
    }


def entry(label: str, prop: str, case: str, outcome: str, figures: dict | None = None, strict: bool = False) -> dict:
    name = prop.replace("-", "_")
    made = {
        "nodeid": f"conformance/test_x.py::test_{name}[{label}-{case}]",
        "outcome": outcome,
        "duration": 0.1,
        "property": prop,
        "toolchain": "",
        "label": label,
        "key": label,
        "host": "h",
        "case": f"cases/{prop}/{case}",
        "reason": "known defect: x" if outcome in ("xfailed", "xpassed") else "",
        "message": "",
        "figures": figures or {},
    }
    if outcome == "xpassed":
        made["strict"] = strict
    return made


def results(toolchains: list[dict], tests: list[dict]) -> dict:
    return report.upgrade({"schema": 2, "host": {"name": "h"}, "toolchains": toolchains, "tests": tests}, "test")


def test_regression_fix_and_figure_drift():
    gcc = [tc("gcc-12", "gcc-12.2.0+bfd")]
    before = results(gcc, [entry("gcc-12", "lto-ir", "slim", "passed", {"cost": {"lto_link_seconds": 1.0}})])
    after = results(gcc, [entry("gcc-12", "lto-ir", "slim", "failed", {"cost": {"lto_link_seconds": 2.0}})])
    diff = baseline.compare(before, after)
    assert [(c.key, c.property, c.before, c.after) for c in diff.regressed] == [
        ("gcc-12", "lto-ir", "passed", "failed")
    ]
    assert [(d.figure, d.before, d.after) for d in diff.figures] == [("cost.lto_link_seconds", 1.0, 2.0)]
    assert diff.marks() == {("lto-ir", "gcc-12"): {"regressed", "drift"}}
    noise = results(gcc, [entry("gcc-12", "lto-ir", "slim", "passed", {"cost": {"lto_link_seconds": 1.1}})])
    assert not baseline.compare(before, noise).figures
    fixed = baseline.compare(
        results(gcc, [entry("gcc-12", "lto-ir", "slim", "failed")]),
        results(gcc, [entry("gcc-12", "lto-ir", "slim", "xfailed")]),
    )
    assert fixed.fixed and not fixed.regressed
    strict = results(gcc, [entry("gcc-12", "lto-ir", "slim", "xpassed", strict=True)])
    assert baseline.compare(results(gcc, [entry("gcc-12", "lto-ir", "slim", "xfailed")]), strict).regressed


def test_pairing_by_label_then_identity_then_map():
    before = results(
        [tc("gcc-12", "gcc-12.2.0+bfd"), tc("clang-19", "clang-19.1.7+lld"), tc("old", "gcc-11.3.0+bfd")],
        [entry(label, "lto-ir", "slim", "passed") for label in ("gcc-12", "clang-19", "old")],
    )
    after = results(
        [tc("gcc-12", "gcc-12.2.0+bfd"), tc("my-clang", "clang-19.1.7+lld"), tc("gcc-new", "gcc-14.1.0+bfd")],
        [
            entry(label, "lto-ir", "slim", "passed" if label != "my-clang" else "failed")
            for label in ("gcc-12", "my-clang", "gcc-new")
        ],
    )
    diff = baseline.compare(before, after)
    assert {(p.before, p.after, p.how) for p in diff.pairs} == {
        ("gcc-12", "gcc-12", "same toolchain"),
        ("clang-19", "my-clang", "same compiler, linker and target"),
    }
    assert [(c.key, c.property) for c in diff.regressed] == [("my-clang", "lto-ir")]
    assert [c.key for c in diff.new] == ["gcc-new"] and [c.key for c in diff.gone] == ["old"]
    assert any("--baseline-map old=NEW" in n for n in diff.notes)
    mapped = baseline.compare(before, after, baseline.parse_map(["old=gcc-new"]))
    assert ("old", "gcc-new", "--baseline-map") in {(p.before, p.after, p.how) for p in mapped.pairs}
    assert not mapped.new and not mapped.gone


def test_one_toolchain_each_side_compares_and_says_so():
    before = results([tc("gcc-12", "gcc-12.2.0+bfd")], [entry("gcc-12", "initcall-order", "1to1", "passed")])
    after = results([tc("staged", "gcc-14.1.0+mold")], [entry("staged", "initcall-order", "1to1", "failed")])
    diff = baseline.compare(before, after)
    assert [p.how for p in diff.pairs] == ["the only toolchain on each side"]
    assert diff.notes == ["baseline gcc-12 compared with staged (the only toolchain on each side)"]
    assert [(c.key, c.case) for c in diff.regressed] == [("staged", "cases/initcall-order/1to1")]
    assert not diff.new and not diff.gone


def test_new_and_gone_are_one_line_each_unless_verbose():
    gcc = [tc("gcc-12", "gcc-12.2.0+bfd")]
    before = results(gcc, [entry("gcc-12", "lto-ir", f"old{i}", "passed") for i in range(5)])
    after = results(gcc, [entry("gcc-12", "lto-ir", f"new{i}", "passed") for i in range(4)])
    lines = baseline.diff_lines(baseline.compare(before, after))
    assert lines[0] == "regressed: 0  fixed: 0  new: 4  gone: 5  cost drifts: 0"
    assert [line.split()[0] for line in lines[1:]] == ["NEW", "GONE"]
    assert "4 tests (gcc-12: 4)" in lines[1]
    verbose = baseline.diff_lines(baseline.compare(before, after), verbose=True)
    assert sum(line.lstrip().startswith(("NEW", "GONE")) for line in verbose) == 9


def test_baseline_map_is_checked():
    with pytest.raises(UsageError, match="expected OLD=NEW"):
        baseline.parse_map(["gcc-12"])
    before = results([tc("gcc-12", "gcc-12.2.0+bfd")], [])
    with pytest.raises(UsageError, match="the baseline has no toolchain gcc-13"):
        baseline.check_map({"gcc-13": "x"}, before, ["x"])
    with pytest.raises(UsageError, match="this run has no toolchain y"):
        baseline.check_map({"gcc-12": "y"}, before, ["x"])


def test_phases_collate_into_one_outcome():
    common = dict(nodeid="n", duration=0.1, longrepr="", keywords={}, user_properties=[])
    entries = [
        report.entry_from(when="setup", outcome="passed", wasxfail=None, **common),
        report.entry_from(when="call", outcome="skipped", wasxfail="known defect: x", **common),
        report.entry_from(when="teardown", outcome="passed", wasxfail=None, **common),
    ]
    data = report.collate(entries, [])
    assert data["tests"][0]["outcome"] == "xfailed" and data["counts"] == {"xfailed": 1}


def test_a_strict_known_failure_that_passes_is_an_unexpected_pass():
    common = dict(nodeid="n", duration=0.1, keywords={}, user_properties=[("toolchain_label", "gcc-12")])
    entry = report.entry_from(
        when="call", outcome="failed", wasxfail=None, longrepr="[XPASS(strict)] known defect: x", **common
    )
    assert (entry["outcome"], entry["strict"], entry["reason"]) == ("xpassed", True, "known defect: x")
    test = report.collate([entry], [])["tests"][0]
    assert report.is_bad(test) and test["label"] == "gcc-12"


def test_recorded_run_reads_as_a_matrix_and_verdict_lines():
    data = report.load(RECORDED)
    m = report.matrix(data)
    assert [c["key"] for c in m.columns] == ["gcc-12", "clang-19"]
    assert m.properties[:3] == ["lto-ir", "linker-plugin", "archive-index"]
    cell = m.cell("initcall-order", "gcc-12")
    assert cell is not None and cell.outcome == "xfailed" and cell.counts == {"xfailed": 1, "passed": 3, "skipped": 1}
    assert report.verdict_lines(data) == [
        "gcc-12 (gcc-12.2.0+bfd)      24 passed  1 known  3 skipped",
        "clang-19 (clang-19.1.7+lld)  21 passed  1 fixed? (system-binutils; strict)  6 skipped",
    ]
    failed = [dict(t, outcome="failed") if t["property"] == "initcall-order" else t for t in data["tests"]]
    line = report.verdict_line(m.columns[0], [t for t in failed if t["key"] == "gcc-12"])
    assert line == "gcc-12 (gcc-12.2.0+bfd)  21 passed  5 failed (initcall-order)  2 skipped"


def test_schema_1_files_still_read():
    old, new = report.load(SCHEMA1), report.load(RECORDED)
    assert old["read_schema"] == 1 and old["counts"] == new["counts"]
    assert [(t["label"], t["outcome"]) for t in old["tests"]] == [(t["label"], t["outcome"]) for t in new["tests"]]
    assert old["toolchains"][1]["linker_flavour"] == "lld"
    diff = baseline.compare(old, new)
    assert not (diff.regressed or diff.fixed or diff.new or diff.gone)
    assert [p.how for p in diff.pairs] == ["same toolchain", "same toolchain"]
    with pytest.raises(
        report.ResultsError, match="written by results schema 9, this lto-conformance reads schema 1 and 2"
    ):
        report.upgrade({"schema": 9, "tests": []}, "x.json")


def test_known_failures_match_and_expire(tmp_path):
    path = tmp_path / "known.toml"
    path.write_text(
        '[[failure]]\nproperty = "system-binutils"\ntoolchain = "clang-*"\nreason = "stale plugin"\n'
        "expires = 2027-01-01\n"
    )
    entries = known_failures.load(path)
    hit = known_failures.match(
        entries, "system-binutils", "clang-19", "clang-19.1.7+lld", "autoload", dt.date(2026, 12, 1)
    )
    assert hit is not None and hit.reason == "stale plugin"
    assert known_failures.match(entries, "system-binutils", "gcc", "gcc-12.2.0+bfd", None, dt.date(2026, 12, 1)) is None
    late = dt.date(2027, 2, 1)
    assert known_failures.match(entries, "system-binutils", "clang-19", "x", None, late) is None


def test_known_failures_schema(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('[[failure]]\nproperty = "lto-ir"\ntoolchain = "*"\nreson = "typo"\n')
    with pytest.raises(UsageError, match="unknown key 'reson'"):
        known_failures.load(path)


def test_a_blocked_skip_names_the_property_it_stands_on():
    props = [("toolchain_label", "gcc-12"), ("property", "cost"), ("blocked_by", "linker-plugin")]
    common = dict(nodeid="n", duration=0.1, keywords={}, user_properties=props)
    entry = report.entry_from(when="call", outcome="skipped", wasxfail=None, longrepr="blocked", **common)
    test = report.collate([entry], [])["tests"][0]
    assert test["blocked_by"] == "linker-plugin" and "blocked_by" not in test["figures"]
