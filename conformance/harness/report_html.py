"""report.html: one self-contained page, a property x toolchain matrix at its heart.

No script and no network: a cell is a link to ``#d-ROW-COL`` and the panel
with that id shows through CSS ``:target``, so the page works offline, in a
CI artefact viewer and in a headless browser. Every cell carries
``data-property``, ``data-key``, ``data-outcome`` and ``data-counts`` for
the Chromium test that reads the rendered DOM back.
"""

from __future__ import annotations

import json
import re
from html import escape

from . import report_costs, report_svg
from .baseline import Diff, diff_lines
from .report import Cell, Matrix, column_title, is_bad, matrix, verdict_line

SYMBOL = {"passed": "✓", "failed": "✗", "error": "⚠", "xfailed": "◇", "xpassed": "★", "skipped": "–"}
TITLE = {
    "passed": "passed",
    "failed": "failed: a new failure",
    "error": "error: the case or the harness broke, not the toolchain",
    "xfailed": "known defect (xfail)",
    "xpassed": "a known defect passed (fixed?; strict ones, outlined red, fail the run)",
    "skipped": "skipped",
}
SHORT = {
    "passed": "pass",
    "failed": "fail",
    "error": "error",
    "xfailed": "known",
    "xpassed": "fixed?",
    "skipped": "skip",
}
MARK = {
    "regressed": ("▲", "regressed against the baseline"),
    "fixed": ("▼", "fixed since the baseline"),
    "drift": ("Δ", "a cost moved by more than 25 %"),
}

CSS = """
:root{--pass:#2e7d32;--fail:#c62828;--err:#6a1b9a;--known:#a65e00;--xpass:#1565c0;--skip:#757575}
body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#212121}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}
.meta{color:#616161;margin:0 0 12px}
.verdicts{list-style:none;padding:0;margin:0 0 12px;font-family:ui-monospace,monospace;font-size:13px}
.verdicts li{padding:3px 8px;margin:2px 0;border-left:6px solid var(--skip);background:#fafafa;white-space:pre}
.verdicts li.o-bad{border-color:var(--fail)}.verdicts li.o-known{border-color:var(--known)}
.verdicts li.o-passed{border-color:var(--pass)}
table.matrix{border-collapse:separate;border-spacing:3px}
.matrix th{font-weight:600;text-align:left;padding:4px 6px;vertical-align:bottom}
.matrix thead th{max-width:150px;font-size:12px}
.matrix thead th small{display:block;font-weight:400;color:#616161}
.matrix td{padding:0}
a.cell{display:block;min-width:96px;padding:4px 8px;border-radius:4px;text-decoration:none;color:#fff;
 font-size:13px;white-space:nowrap;position:relative}
a.cell .sym{font-weight:700;margin-right:4px}a.cell .more{opacity:.85;font-size:11px;margin-left:4px}
.o-passed{background:var(--pass)}.o-failed{background:var(--fail)}.o-error{background:var(--err)}
.o-xpassed{background:var(--xpass)}.o-skipped{background:#e0e0e0;color:#424242!important}
.o-xfailed{background:repeating-linear-gradient(135deg,#ffe0b2 0 6px,#ffcc80 6px 12px);color:#5d3a00!important;
 outline:2px dashed var(--known);outline-offset:-2px}
a.cell .mk{position:absolute;top:-7px;right:-5px;background:#fff;color:#000;border-radius:8px;padding:0 4px;
 font-size:11px;border:1px solid #000}
a.cell.m-regressed{box-shadow:0 0 0 3px #000}
a.cell.x-strict{outline:3px solid var(--fail);outline-offset:-3px}a.cell.m-regressed .mk{background:#ffeb3b}
.legend{font-size:12px;color:#424242;margin:6px 0}
.legend span{display:inline-block;padding:1px 6px;margin-right:6px;border-radius:3px}
.panel{display:none;position:fixed;top:0;right:0;width:min(52vw,900px);height:100vh;overflow:auto;background:#fff;
 border-left:3px solid #424242;box-shadow:-6px 0 18px rgba(0,0,0,.25);padding:12px 18px;box-sizing:border-box}
.panel:target{display:block}
.panel .close{float:right;font-size:20px;text-decoration:none;color:#424242}
.case{border-top:1px solid #e0e0e0;padding:8px 0}
.case h3{font-size:14px;margin:0 0 4px}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:0 6px;font-size:12px;margin-right:6px}
pre{white-space:pre-wrap;background:#f5f5f5;padding:8px;font-size:12px;margin:4px 0;border-radius:3px}
pre .exp{color:#1b5e20;font-weight:600}pre .fnd{color:#b71c1c;font-weight:600}pre .cmd{color:#0d47a1}
.reason{color:#424242}
figure.chart{margin:8px 0 18px}figure.chart figcaption{font-weight:600;margin-bottom:2px}
svg .lg,svg .rl{font:12px system-ui,sans-serif;fill:#212121}svg .v{font:11px system-ui,sans-serif;fill:#212121}
table.list{border-collapse:collapse;font-size:13px}
.list td,.list th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}
details{margin:6px 0}
"""


def _column_state(tests: list[dict]) -> str:
    if any(is_bad(t) for t in tests):
        return "o-bad"
    if any(t["outcome"] in ("xfailed", "xpassed") for t in tests):
        return "o-known"
    return "o-passed" if any(t["outcome"] == "passed" for t in tests) else "o-skipped"


def _hover(cell: Cell) -> str:
    lines = [f"{cell.property} · {cell.key}: {cell.counts_text()}"]
    for t in cell.tests:
        if t["outcome"] == "skipped":
            lines.append(f"skipped {t['case'] or t['nodeid']}: {t['message'] or t['reason']}")
        elif t["outcome"] in ("xfailed", "xpassed"):
            lines.append(f"{TITLE[t['outcome']]} {t['case']}: {t['reason']}")
        elif t["outcome"] != "passed":
            first = (t["message"] or "").strip().splitlines()
            lines.append(f"{t['outcome']} {t['case']}: {first[1].strip() if len(first) > 1 else ''}")
    return "\n".join(lines)


def _cell(cell: Cell | None, anchor: str, marks: set[str]) -> str:
    if cell is None:
        return "<td></td>"
    counts = cell.counts
    outcome = cell.outcome
    others = " ".join(f"+{n} {SHORT[o]}" for o, n in counts.items() if o != outcome)
    strict = any(t["outcome"] == "xpassed" and t.get("strict") for t in cell.tests)
    classes = " ".join([f"cell o-{outcome}", *(f"m-{m}" for m in sorted(marks)), *(["x-strict"] if strict else [])])
    badge = "".join(f'<span class="mk" title="{MARK[m][1]}">{MARK[m][0]}</span>' for m in sorted(marks))
    data = json.dumps(counts, separators=(",", ":"))
    return (
        f'<td><a class="{classes}" href="#{anchor}" title="{escape(_hover(cell))}" '
        f'data-property="{escape(cell.property)}" data-key="{escape(cell.key)}" data-outcome="{outcome}" '
        f"data-counts='{escape(data)}' data-marks=\"{' '.join(sorted(marks))}\">"
        f'<span class="sym">{SYMBOL[outcome]}</span>{counts[outcome]} {escape(cell.outcome_word)}'
        f'<span class="more">{escape(others)}</span>{badge}</a></td>'
    )


_LINE = re.compile(r"^(\s*)(\S.*?: )?(expected:|found:)(.*)$")


def _message(text: str) -> str:
    """The failure text with expected/found and the `$ ...` reproducer lines set off."""
    out = []
    for line in text.strip().splitlines():
        match = _LINE.match(line)
        if match:
            cls = "exp" if match[3] == "expected:" else "fnd"
            out.append(f"{escape(match[1] + (match[2] or ''))}<span class='{cls}'>{match[3]}</span>{escape(match[4])}")
        elif line.lstrip().startswith("$ "):
            out.append(f"<span class='cmd'>{escape(line)}</span>")
        else:
            out.append(escape(line))
    return "<pre>" + "\n".join(out) + "</pre>"


def _panel(cell: Cell, anchor: str, title: str) -> str:
    parts = [
        f'<section class="panel" id="{anchor}"><a class="close" href="#" title="close">×</a>',
        f"<h2>{escape(cell.property)} · {escape(title)}</h2><p>{escape(cell.counts_text())}</p>",
    ]
    rank = {"error": 0, "failed": 1, "xpassed": 2, "xfailed": 3, "skipped": 5, "passed": 4}
    for t in sorted(cell.tests, key=lambda t: (rank.get(t["outcome"], 9), t["nodeid"])):
        parts.append(
            f'<div class="case"><h3><span class="badge o-{t["outcome"]}">{SYMBOL[t["outcome"]]} '
            f"{escape(TITLE[t['outcome']])}</span>{escape(t['case'] or t['nodeid'])}"
            f" <small>{t['duration']:.2f} s</small></h3>"
        )
        if t["reason"]:
            parts.append(f'<p class="reason">{escape(t["reason"])}</p>')
        if t["message"] and t["outcome"] != "passed":
            parts.append(_message(t["message"]))
        if t["figures"]:
            figures = json.dumps(t["figures"], indent=1, default=str)
            parts.append(f"<details><summary>figures</summary><pre>{escape(figures)}</pre></details>")
        parts.append(f"<small>{escape(t['nodeid'])}</small></div>")
    parts.append("</section>")
    return "".join(parts)


def _matrix(m: Matrix, marks: dict) -> tuple[str, list[str]]:
    head = "".join(
        f'<th title="{escape(c.get("id", ""))} {escape(c.get("target", ""))}">{escape(c["key"])}'
        f"<small>{escape(c.get('id', '') if c.get('id') != c['key'] else '')}</small></th>"
        for c in m.columns
    )
    rows, panels = [], []
    for r, prop in enumerate(m.properties):
        cells = []
        for k, column in enumerate(m.columns):
            cell = m.cell(prop, column["key"])
            anchor = f"d-{r}-{k}"
            cells.append(_cell(cell, anchor, marks.get((prop, column["key"]), set())))
            if cell is not None:
                panels.append(_panel(cell, anchor, column_title(column)))
        rows.append(f"<tr><th>{escape(prop)}</th>{''.join(cells)}</tr>")
    table = (
        f'<table class="matrix"><thead><tr><th>property</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    return table, panels


def _legend() -> str:
    items = "".join(
        f'<span class="cell o-{o}" style="display:inline-block;color:#fff">{SYMBOL[o]} {escape(TITLE[o])}</span>'
        for o in SYMBOL
    )
    marks = " ".join(f"{sym} {text}" for sym, text in MARK.values())
    return f'<p class="legend">{items}<br>{escape(marks)}. Click a cell for its cases; hover for skip reasons.</p>'


def _baseline(diff: Diff) -> str:
    parts = ["<h2>Against the baseline</h2>", f"<p>{escape(diff_lines(diff)[0])}</p>"]
    if diff.notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in diff.notes) + "</ul>")
    for title, changes in (("Regressions", diff.regressed), ("Fixes", diff.fixed)):
        if changes:
            rows = "".join(
                f"<tr><td>{escape(c.key)}</td><td>{escape(c.property)}</td><td>{escape(c.case)}</td>"
                f"<td>{escape(c.before)} → {escape(c.after)}</td></tr>"
                for c in changes
            )
            parts.append(f"<h3>{title}</h3><table class='list'>{rows}</table>")
    if diff.figures:
        rows = "".join(
            f"<tr><td>{escape(d.key)}</td><td>{escape(d.property)}</td><td>{escape(d.case)}</td>"
            f"<td>{escape(d.figure)}</td><td>{d.before:g} → {d.after:g}</td>"
            f"<td>{(d.after - d.before) / abs(d.before) * 100:+.0f} %</td></tr>"
            for d in diff.figures
        )
        parts.append(f"<h3>Cost drifts (over 25 %)</h3><table class='list'>{rows}</table>")
    for title, changes in (("New tests", diff.new), ("Gone tests", diff.gone)):
        if changes:
            items = "".join(f"<li>{escape(c.where())}: {escape(c.after or c.before)}</li>" for c in changes)
            parts.append(f"<details><summary>{title}: {len(changes)}</summary><ul>{items}</ul></details>")
    return "".join(parts)


def _toolchains(m: Matrix) -> str:
    rows = []
    for c in m.columns:
        described = c.get("tools") or {name: {"argv": c[name]} for name in ("cc", "ar", "nm") if c.get(name)}
        tools = "<br>".join(
            escape(f"{name} {' '.join(t['argv'])}" + (f" — {t['version']}" if t.get("version") else ""))
            for name, t in described.items()
        )
        rows.append(
            f"<tr><td>{escape(c['key'])}</td><td>{escape(c.get('id', ''))}</td><td>{escape(c.get('target', ''))}</td>"
            f"<td>{escape(c.get('host', ''))}</td><td>{tools}</td><td>{escape(c.get('linker', ''))}</td></tr>"
        )
    head = "<tr><th>toolchain</th><th>id</th><th>target</th><th>host</th><th>tools</th><th>linker</th></tr>"
    return f"<h2>Toolchains</h2><table class='list'>{head}{''.join(rows)}</table>"


def render(results: dict, diff: Diff | None) -> str:
    m = matrix(results)
    marks = diff.marks() if diff else {}
    hosts = sorted({c.get("host", "") for c in m.columns} - {""})
    verdicts = ""
    for c in m.columns:
        tests = m.column_tests(c["key"])
        verdicts += f'<li class="{_column_state(tests)}">{escape(verdict_line(c, tests))}</li>'

    table, panels = _matrix(m, marks)
    charts = "".join(report_svg.bar_chart(c) for c in report_costs.charts(m))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>lto-conformance {escape(results.get('created', ''))}</title><style>{CSS}</style></head><body>"
        f"<h1>lto-conformance</h1><p class='meta'>{escape(results.get('created', ''))} · "
        f"{escape(', '.join(hosts) or 'one host')} · {len(results['tests'])} tests · schema {results.get('schema')}</p>"
        f'<ul class="verdicts">{verdicts}</ul>'
        f"{table}{_legend()}"
        f"{_baseline(diff) if diff is not None else ''}"
        f"{'<h2>Costs</h2>' + charts if charts else ''}"
        f"{_toolchains(m)}{''.join(panels)}</body></html>\n"
    )
