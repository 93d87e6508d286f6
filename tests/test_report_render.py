"""report.md and report.html from a recorded run: the matrix, failures, costs, baseline marks."""

from __future__ import annotations

import copy
import re

from conformance.harness import baseline, report, report_html, report_md
from tests.report_dom import cells, expected_cells
from tests.test_report import RECORDED


def recorded() -> dict:
    return report.load(RECORDED)


def with_failure(data: dict) -> dict:
    data = copy.deepcopy(data)
    for t in data["tests"]:
        if t["key"] == "gcc-12" and t["property"] == "dead-function-removal":
            t["outcome"] = "failed"
            t["message"] = (
                "dead-function-removal [gcc-12.2.0+bfd] cases/dead-function-removal/unused\n"
                "  expected: unused gone\n  found:    unused still defined\n  reproduce:\n"
                "  $ cd cases/dead-function-removal/unused\n  $ gcc-12 -O2 -flto a.c -o prog"
            )
    data["counts"] = report.count(data["tests"])
    return data


def test_html_cells_match_results():
    data = recorded()
    found, links = cells(report_html.render(data, None))
    want = expected_cells(data)
    assert {k: (v["outcome"], v["counts"]) for k, v in found.items()} == {
        k: (v["outcome"], v["counts"]) for k, v in want.items()
    }
    assert not [link for link in links if not link.startswith("#")], "the page must not load anything"
    skipped = found[("jobserver", "clang-19")]
    assert skipped["outcome"] == "skipped" and "no make jobserver client" in skipped["title"]


def test_html_has_verdicts_panels_and_charts():
    page = report_html.render(with_failure(recorded()), None)
    assert "gcc-12 (gcc-12.2.0+bfd)  23 passed  1 failed (dead-function-removal)  1 known  3 skipped" in page
    anchor = cells(page)[0][("dead-function-removal", "gcc-12")]["href"].lstrip("#")
    panel = re.search(rf'<section class="panel" id="{anchor}">(.*?)</section>', page, re.S)
    assert panel is not None
    assert "<span class='exp'>expected:</span> unused gone" in panel[1]
    assert "<span class='cmd'>  $ gcc-12 -O2 -flto a.c -o prog</span>" in panel[1]
    for title in ("Link time: LTO against non-LTO", "Peak RSS per LTO phase", ".text size"):
        assert f"<figcaption>{title}" in page
    assert page.count("<svg") >= 4


def test_per_phase_rss_figures_become_bars():
    data = copy.deepcopy(recorded())
    for t in data["tests"]:
        if t["property"] == "cost":
            t["figures"]["cost"]["lto_wpa_peak_rss_mib"] = 31.5
            t["figures"]["cost"]["phases"] = {"ltrans": {"peak_rss_mib": 12.0}}
    page = report_html.render(data, None)
    assert "LTO WPA 31.5 MiB" in page and "LTRANS 12.0 MiB" in page


def test_baseline_marks_cells_in_both_reports():
    before, after = recorded(), with_failure(recorded())
    diff = baseline.compare(before, after)
    assert [(c.key, c.property) for c in diff.regressed] == [("gcc-12", "dead-function-removal")]
    found = cells(report_html.render(after, diff))[0]
    assert found[("dead-function-removal", "gcc-12")]["marks"] == {"regressed"}
    assert "<h3>Regressions</h3>" in report_html.render(after, diff)
    md = report_md.render(after, diff)
    assert "| dead-function-removal | ✗ 1 failed · **▲ regressed** | ✓ 1 passed |" in md


def test_markdown_matrix_and_failures_with_reproducers():
    md = report_md.render(with_failure(recorded()), None)
    assert "| property | gcc-12 (gcc-12.2.0+bfd) | clang-19 (clang-19.1.7+lld) |" in md
    assert "| initcall-order | ◇ 1 known · ✓ 3 · – 1 | ✓ 3 passed · – 2 |" in md
    assert "### ✗ dead-function-removal · gcc-12 · cases/dead-function-removal/unused" in md
    assert "  $ gcc-12 -O2 -flto a.c -o prog" in md
    assert "### Link time: LTO against non-LTO (s)" in md
    assert "## Known defects" in md and "system-binutils" in md


def test_kernel_build_times_are_charted_and_a_strict_pass_is_outlined():
    data = copy.deepcopy(recorded())
    for mode, seconds in (("thin", 213.0), ("full", 218.0)):
        data["tests"].append(
            {
                **data["tests"][0],
                "nodeid": f"conformance/test_kernel.py::test_kernel_build[clang-19-{mode}]",
                "property": "kernel-build",
                "case": f"cases/kernel-build/{mode}",
                "outcome": "passed",
                "figures": {"build_seconds": seconds, "baseline_build_seconds": 102.0, "peak_rss_mib": 322.0},
            }
        )
    page = report_html.render(report.upgrade(data, "test"), None)
    assert "<figcaption>Kernel build time (s)" in page
    assert "clang-19 (clang-19.1.7+lld) · thin: LTO (thin) 213 s" in page and "non-LTO 102 s" in page
    strict = cells(page)[0][("system-binutils", "clang-19")]
    assert (
        strict["outcome"] == "xpassed"
        and "x-strict"
        in re.search(r'<a class="([^"]*)"[^>]*data-property="system-binutils" data-key="clang-19"', page)[1]
    )
