"""report.html as a browser shows it: headless Chromium's DOM must match results.json."""

from __future__ import annotations

import json

import pytest

from conformance.harness import baseline, chromium, report
from tests.report_dom import cells, expected_cells
from tests.test_report_render import recorded, with_failure

pytestmark = pytest.mark.skipif(
    chromium.find() is None, reason="no Chromium on PATH (Debian: apt-get install chromium); report.html not rendered"
)


def test_rendered_matrix_matches_results_json(tmp_path):
    before, after = recorded(), with_failure(recorded())
    report.write(tmp_path, after, baseline.compare(before, after))
    stored = report.load(tmp_path / "results.json")
    dom = chromium.dump_dom(tmp_path / "report.html")
    found, _ = cells(dom)
    assert found, "Chromium rendered no matrix cell:\n" + dom[:2000]
    want = expected_cells(stored)
    assert {k: (v["outcome"], v["counts"]) for k, v in found.items()} == {
        k: (v["outcome"], v["counts"]) for k, v in want.items()
    }
    assert found[("dead-function-removal", "gcc-12")]["marks"] == {"regressed"}
    assert "23 passed  1 failed (dead-function-removal)" in dom
    anchor = found[("dead-function-removal", "gcc-12")]["href"]
    png = chromium.screenshot(f"{tmp_path / 'report.html'}{anchor}", tmp_path / "report.png", height=900)
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000, "a blank or broken screenshot"
    json.loads((tmp_path / "results.json").read_text())
