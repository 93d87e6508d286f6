"""report.md: the matrix, the costs and every failure with its reproducer.

Written to be pasted into a CI job summary (``cat out/report.md >>
$GITHUB_STEP_SUMMARY``): GitHub-flavoured tables, long texts folded in
``<details>``, and a cap so a run with hundreds of failures stays under the
summary's size limit.
"""

from __future__ import annotations

from typing import Any

from . import report_costs
from .baseline import Diff, diff_lines
from .report import Cell, column_title, is_bad, matrix, verdict_line

SYMBOL = {"passed": "✓", "failed": "✗", "error": "⚠", "xfailed": "◇", "xpassed": "★", "skipped": "–"}
MARK = {"regressed": "▲ regressed", "fixed": "▼ fixed", "drift": "Δ cost"}
MAX_FAILURES = 60
MAX_LINES = 80


def cell_text(cell: Cell | None, marks: set[str] = frozenset()) -> str:
    if cell is None:
        return ""
    counts = cell.counts
    head = f"{SYMBOL[cell.outcome]} {counts[cell.outcome]} {cell.outcome_word}"
    rest = [f"{SYMBOL[o]} {n}" for o, n in counts.items() if o != cell.outcome]
    return " · ".join([head, *rest, *(f"**{MARK[m]}**" for m in sorted(marks))])


def _fence(text: str) -> list[str]:
    lines = text.strip().splitlines()
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"... {len(lines) - MAX_LINES} more lines in report.html / results.json"]
    body = "\n".join(lines).replace("```", "ʼʼʼ")
    return ["```text", body, "```"]


def render(results: dict, diff: Diff | None) -> str:
    m = matrix(results)
    marks = diff.marks() if diff else {}
    hosts = sorted({c.get("host", "") for c in m.columns} - {""})
    lines = ["# lto-conformance", ""]
    lines.append(f"{results.get('created', '')} on {', '.join(hosts) or 'one host'}; schema {results.get('schema')}.")
    lines += ["", "```text", *(verdict_line(c, m.column_tests(c["key"])) for c in m.columns), "```", ""]
    lines.append("| property | " + " | ".join(column_title(c) for c in m.columns) + " |")
    lines.append("|---" * (len(m.columns) + 1) + "|")
    for prop in m.properties:
        cells = [cell_text(m.cell(prop, c["key"]), marks.get((prop, c["key"]), set())) for c in m.columns]
        lines.append(f"| {prop} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "✓ passed · ✗ failed · ⚠ error · ◇ known defect (xfail) · ★ known defect passed (fixed?) · – skipped",
        "",
    ]
    for chart in report_costs.charts(m):
        series = list(dict.fromkeys(name for row in chart.rows for name, _ in row.bars))
        lines += [f"### {chart.title} ({chart.unit})", ""]
        lines.append("| | " + " | ".join(series) + " |")
        lines.append("|---" * (len(series) + 1) + "|")
        for row in chart.rows:
            values = dict(row.bars)
            lines.append(f"| {row.label} | " + " | ".join(_num(values.get(s)) for s in series) + " |")
        lines.append("")
    if diff is not None:
        lines += ["## Against the baseline", "", "```text", *diff_lines(diff, verbose=False), "```"]
        if diff.new or diff.gone:
            lines += ["", "<details><summary>new and gone tests</summary>", "", "```text"]
            lines += [line for line in diff_lines(diff, verbose=True) if line.lstrip().startswith(("NEW", "GONE"))]
            lines += ["```", "</details>"]
        lines.append("")
    lines += _failures(results)
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    return "" if value is None else f"{value:g}"


def _failures(results: dict) -> list[str]:
    tests = [t for t in results["tests"] if t.get("key")]
    bad = [t for t in tests if is_bad(t)]
    known = [t for t in tests if t["outcome"] in ("xfailed", "xpassed") and not is_bad(t)]
    lines: list[str] = []
    if bad:
        lines += ["## Failures", ""]
        for t in bad[:MAX_FAILURES]:
            lines += [f"### {SYMBOL[t['outcome']]} {t['property']} · {t['key']} · {t['case'] or t['nodeid']}", ""]
            if t["outcome"] == "xpassed":
                lines += [f"A strict known failure passed; remove its entry if the fix is real: {t['reason']}", ""]
            else:
                lines += [*_fence(t["message"] or t["reason"]), ""]
        if len(bad) > MAX_FAILURES:
            lines += [f"... and {len(bad) - MAX_FAILURES} more failures: see report.html", ""]
    if known:
        lines += ["## Known defects", ""]
        for t in known:
            what = "passed (fixed?)" if t["outcome"] == "xpassed" else "failed as known"
            lines.append(f"- {SYMBOL[t['outcome']]} {t['property']} · {t['key']} · {t['case']}: {what}: {t['reason']}")
        lines.append("")
    return lines
