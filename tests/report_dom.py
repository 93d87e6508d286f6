"""Read the matrix back out of report.html (as written, or as a browser rendered it)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

WORST_FIRST = ("error", "failed", "xpassed", "xfailed", "passed", "skipped")


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], dict] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for name in ("src", "href"):
            if name in a:
                self.links.append(a[name])
        if tag == "a" and "data-property" in a:
            self.cells[(a["data-property"], a["data-key"])] = {
                "outcome": a["data-outcome"],
                "counts": json.loads(a["data-counts"]),
                "marks": set(a["data-marks"].split()),
                "title": a.get("title", ""),
                "href": a["href"],
            }


def cells(page: str) -> tuple[dict[tuple[str, str], dict], list[str]]:
    parser = _Cells()
    parser.feed(page)
    return parser.cells, parser.links


def expected_cells(results: dict) -> dict[tuple[str, str], dict]:
    """What each cell must show, worked out from results.json alone."""
    out: dict[tuple[str, str], dict] = {}
    for t in results["tests"]:
        cell = out.setdefault((t["property"], t["key"]), {"counts": {}})
        cell["counts"][t["outcome"]] = cell["counts"].get(t["outcome"], 0) + 1
    for cell in out.values():
        cell["outcome"] = next(o for o in WORST_FIRST if o in cell["counts"])
    return out
