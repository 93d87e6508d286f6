"""Reports and known failures: a nightly job sees what regressed."""

from __future__ import annotations

import datetime as dt

import pytest

from conformance.harness import known_failures, report
from conformance.harness.errors import UsageError


def result(outcome: str, figures: dict | None = None, nodeid: str = "conformance/test_core.py::test_lto_ir[gcc-slim]"):
    return {"tests": [{"nodeid": nodeid, "outcome": outcome, "figures": figures or {}}]}


def test_regression_fix_and_figure_drift():
    diff = report.compare(result("passed", {"lto_seconds": 1.0}), result("failed", {"lto_seconds": 2.0}))
    assert [r[1:] for r in diff.regressed] == [("passed", "failed")]
    assert diff.figures and diff.figures[0][1] == "lto_seconds"
    diff = report.compare(result("passed", {"cost": {"peak_mib": 100}}), result("passed", {"cost": {"peak_mib": 300}}))
    assert diff.figures == [("conformance/test_core.py::test_lto_ir[gcc-slim]", "cost.peak_mib", 100.0, 300.0)]
    diff = report.compare(result("failed"), result("xfailed"))
    assert diff.fixed and not diff.regressed
    diff = report.compare(result("passed", nodeid="a"), result("passed", nodeid="b"))
    assert diff.new == [("b", "passed")] and diff.gone == [("a", "passed")]
    assert report.diff_lines(diff)[0].startswith("regressed: 0")


def test_phases_collate_into_one_outcome():
    common = dict(nodeid="n", duration=0.1, longrepr="", keywords={}, user_properties=[])
    entries = [
        report.entry_from(when="setup", outcome="passed", wasxfail=None, **common),
        report.entry_from(when="call", outcome="skipped", wasxfail="known defect: x", **common),
        report.entry_from(when="teardown", outcome="passed", wasxfail=None, **common),
    ]
    data = report.collate(entries, [])
    assert data["tests"][0]["outcome"] == "xfailed" and data["counts"] == {"xfailed": 1}


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
