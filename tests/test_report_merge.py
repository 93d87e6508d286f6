"""python -m conformance.report merge: many runs or hosts, one matrix."""

from __future__ import annotations

import copy
import json

from conformance import report as cli
from conformance.harness import report
from tests.report_dom import cells, expected_cells
from tests.test_report import RECORDED, SCHEMA1


def split_by_toolchain(tmp_path) -> list:
    """The recorded two-toolchain run as two separate runs, one per toolchain."""
    whole = json.loads(RECORDED.read_text())
    paths = []
    for t in whole["toolchains"]:
        part = copy.deepcopy(whole)
        part["toolchains"] = [t]
        part["tests"] = [x for x in whole["tests"] if x["label"] == t["label"]]
        path = tmp_path / t["label"] / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(part))
        paths.append(path)
    return paths


def test_two_runs_merge_into_one_matrix(tmp_path, capsys):
    gcc, clang = split_by_toolchain(tmp_path)
    assert cli.main(["merge", str(gcc), str(clang.parent), "-o", str(tmp_path / "all")]) == 0
    merged = report.load(tmp_path / "all" / "results.json")
    assert [t["key"] for t in merged["toolchains"]] == ["gcc-12", "clang-19"]
    assert merged["counts"] == report.load(RECORDED)["counts"]
    found, _ = cells((tmp_path / "all" / "report.html").read_text())
    assert {k: v["counts"] for k, v in found.items()} == {k: v["counts"] for k, v in expected_cells(merged).items()}
    assert (tmp_path / "all" / "report.md").read_text().count("| lto-ir |") == 1
    out = capsys.readouterr().out
    assert "gcc-12 (gcc-12.2.0+bfd)      24 passed  1 known  3 skipped" in out


def test_hosts_key_the_columns_and_pair_with_last_night(tmp_path, capsys):
    args = ["merge", f"debian12={RECORDED}", f"trixie={RECORDED}", "-o", str(tmp_path / "night1")]
    assert cli.main(args) == 0
    merged = report.load(tmp_path / "night1" / "results.json")
    assert [t["key"] for t in merged["toolchains"]] == [
        "gcc-12@debian12",
        "clang-19@debian12",
        "gcc-12@trixie",
        "clang-19@trixie",
    ]
    worse = json.loads(RECORDED.read_text())
    for t in worse["tests"]:
        if t["label"] == "gcc-12" and t["property"] == "lto-ir":
            t["outcome"] = "failed"
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    capsys.readouterr()
    args = ["merge", f"debian12={tmp_path / 'worse.json'}", f"trixie={RECORDED}", "-o", str(tmp_path / "night2")]
    assert cli.main([*args, "--baseline", str(tmp_path / "night1" / "results.json")]) == 1
    out = capsys.readouterr().out
    assert "regressed: 3  fixed: 0  new: 0  gone: 0" in out
    assert "REGRESSED gcc-12@debian12  lto-ir" in out and "@trixie  lto-ir" not in out


def test_mixed_schemas_and_duplicates_are_refused_in_one_line(tmp_path, capsys):
    assert cli.main(["merge", str(RECORDED), str(SCHEMA1), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mixed results schemas" in err and "is schema 1" in err
    assert not (tmp_path / "x").exists()
    assert cli.main(["merge", str(RECORDED), str(RECORDED), "-o", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gcc-12 on host vm is in both" in err and "HOST=FILE" in err
    assert cli.main(["merge", str(SCHEMA1), "-o", str(tmp_path / "old")]) == 0
    assert report.load(tmp_path / "old" / "results.json")["schema"] == report.SCHEMA
