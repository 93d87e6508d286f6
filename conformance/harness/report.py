"""Results a nightly job keeps: results.json, report.md, report.html, diffs.

One entry per test (property, toolchain, case, outcome, duration, the
figures the check recorded, the failure text). ``compare`` against a
previous results.json names what regressed, what got fixed, and how the
recorded costs moved.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1
GOOD = {"passed", "xfailed"}
BAD = {"failed", "error", "xpassed"}
NUMERIC_DRIFT = 0.25


def entry_from(
    *,
    nodeid: str,
    when: str,
    outcome: str,
    duration: float,
    wasxfail: str | None,
    longrepr: str,
    user_properties: Sequence[tuple[str, Any]],
    keywords: Mapping[str, Any],
) -> dict:
    """One raw test-phase report, flattened; collate merges the phases."""
    if wasxfail is not None:
        outcome = "xfailed" if outcome == "skipped" else "xpassed"
    elif when != "call" and outcome == "failed":
        outcome = "error"
    return {
        "nodeid": nodeid,
        "when": when,
        "outcome": outcome,
        "duration": round(duration, 3),
        "reason": wasxfail or "",
        "message": longrepr,
        "properties": {k: v for k, v in user_properties},
        "kernel": "kernel" in keywords,
    }


def _final(phases: list[dict]) -> dict:
    order = ("error", "failed", "xpassed", "xfailed", "skipped", "passed")
    outcome = next((o for o in order if any(p["outcome"] == o for p in phases)), "passed")
    merged_props: dict[str, Any] = {}
    for p in phases:
        merged_props.update(p["properties"])
    message = next((p["message"] for p in phases if p["outcome"] == outcome and p["message"]), "")
    reason = next((p["reason"] for p in phases if p["reason"]), "")
    if outcome == "skipped" and message.startswith("("):
        message = message.rsplit("'Skipped: ", 1)[-1].rstrip("')")
    return {
        "nodeid": phases[0]["nodeid"],
        "outcome": outcome,
        "duration": round(sum(p["duration"] for p in phases), 3),
        "property": merged_props.pop("property", _property_from_nodeid(phases[0]["nodeid"])),
        "toolchain": merged_props.pop("toolchain", ""),
        "case": merged_props.pop("case", ""),
        "reason": reason,
        "message": message,
        "figures": merged_props,
    }


def _property_from_nodeid(nodeid: str) -> str:
    name = nodeid.split("::")[-1].split("[")[0]
    return name.removeprefix("test_").replace("_", "-")


def collate(entries: Iterable[dict], toolchains: Sequence[Any]) -> dict:
    by_node: dict[str, list[dict]] = {}
    for entry in entries:
        by_node.setdefault(entry["nodeid"], []).append(entry)
    tests = [_final(phases) for phases in by_node.values()]
    counts: dict[str, int] = {}
    for t in tests:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    return {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": {"machine": platform.machine(), "python": platform.python_version()},
        "toolchains": [
            {
                "label": t.label,
                "id": t.full_id,
                "target": t.target,
                "cc": list(t.cc.argv),
                "ar": list(t.ar.argv),
                "nm": list(t.nm.argv),
                "linker": t.linker_version,
                **t.describe(),
            }
            for t in toolchains
        ],
        "counts": counts,
        "tests": sorted(tests, key=lambda t: t["nodeid"]),
    }


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@dataclass
class Diff:
    regressed: list[tuple[str, str, str]] = field(default_factory=list)
    fixed: list[tuple[str, str, str]] = field(default_factory=list)
    new: list[tuple[str, str]] = field(default_factory=list)
    gone: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str, float, float]] = field(default_factory=list)


def compare(before: dict, after: dict) -> Diff:
    """Verdict changes and figure drifts (over 25 %) between two runs."""
    old = {t["nodeid"]: t for t in before.get("tests", [])}
    new = {t["nodeid"]: t for t in after.get("tests", [])}
    diff = Diff()
    for nodeid, test in new.items():
        prior = old.get(nodeid)
        if prior is None:
            diff.new.append((nodeid, test["outcome"]))
            continue
        was, now = prior["outcome"], test["outcome"]
        if was not in BAD and now in BAD:
            diff.regressed.append((nodeid, was, now))
        elif was in BAD and now not in BAD:
            diff.fixed.append((nodeid, was, now))
        earlier_figures = _flatten(prior.get("figures", {}))
        for key, value in _flatten(test.get("figures", {})).items():
            earlier = earlier_figures.get(key)
            if _number(value) and _number(earlier) and earlier and abs(value - earlier) / abs(earlier) > NUMERIC_DRIFT:
                diff.figures.append((nodeid, key, float(earlier), float(value)))
    diff.gone = [(n, t["outcome"]) for n, t in old.items() if n not in new]
    return diff


def _flatten(figures: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested figures ({"cost": {"lto_link_seconds": 1}}) as dotted keys, so every number is compared."""
    out: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def diff_lines(diff: Diff) -> list[str]:
    lines = [
        f"regressed: {len(diff.regressed)}  fixed: {len(diff.fixed)}  new: {len(diff.new)}  gone: {len(diff.gone)}"
    ]
    lines += [f"  REGRESSED {n}: {a} -> {b}" for n, a, b in diff.regressed]
    lines += [f"  FIXED     {n}: {a} -> {b}" for n, a, b in diff.fixed]
    lines += [f"  NEW       {n}: {o}" for n, o in diff.new]
    lines += [f"  GONE      {n} (was {o})" for n, o in diff.gone]
    lines += [f"  FIGURE    {n} {k}: {a:g} -> {b:g}" for n, k, a, b in diff.figures]
    return lines


def markdown(results: dict, diff: Diff | None) -> str:
    lines = ["# lto-conformance results", "", f"Created {results['created']}.", ""]
    for t in results["toolchains"]:
        lines.append(f"- **{t['label']}**: {t['id']} ({t['target']}), cc `{' '.join(t['cc'])}`, {t['linker']}")
    lines += ["", "| outcome | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(results["counts"].items())]
    lines += ["", "| property | toolchain | case | outcome | seconds |", "|---|---|---|---|---|"]
    for t in results["tests"]:
        lines.append(f"| {t['property']} | {t['toolchain']} | {t['case']} | {t['outcome']} | {t['duration']:.2f} |")
    if diff is not None:
        lines += ["", "## Against the baseline", "", *(f"    {line}" for line in diff_lines(diff))]
    problems = [t for t in results["tests"] if t["outcome"] in BAD or t["outcome"] == "xfailed"]
    if problems:
        lines += ["", "## Failures and known defects"]
        for t in problems:
            lines += ["", f"### {t['nodeid']} ({t['outcome']})", ""]
            if t["reason"]:
                lines.append(f"Reason: {t['reason']}")
            lines += ["```", t["message"].strip(), "```"]
    return "\n".join(lines) + "\n"


def html_page(results: dict, diff: Diff | None) -> str:
    colours = {"passed": "#2e7d32", "failed": "#c62828", "error": "#c62828", "xpassed": "#c62828"}
    rows = []
    for t in results["tests"]:
        colour = colours.get(t["outcome"], "#6d6d6d")
        detail = html.escape(t["message"].strip() or t["reason"])
        rows.append(
            f"<tr><td>{html.escape(t['property'])}</td><td>{html.escape(t['toolchain'])}</td>"
            f"<td>{html.escape(t['case'])}</td><td style='color:{colour}'>{t['outcome']}</td>"
            f"<td>{t['duration']:.2f}</td><td><details><summary>details</summary><pre>{detail}</pre>"
            f"<pre>{html.escape(json.dumps(t['figures'], indent=1))}</pre></details></td></tr>"
        )
    diff_block = ""
    if diff is not None:
        diff_block = "<h2>Against the baseline</h2><pre>" + html.escape("\n".join(diff_lines(diff))) + "</pre>"
    toolchains = "".join(
        f"<li><b>{html.escape(t['label'])}</b>: {html.escape(t['id'])} — {html.escape(t['linker'])}</li>"
        for t in results["toolchains"]
    )
    return (
        "<!doctype html><meta charset=utf-8><title>lto-conformance</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}pre{white-space:pre-wrap}</style>"
        f"<h1>lto-conformance results</h1><p>{results['created']}</p><ul>{toolchains}</ul>{diff_block}"
        "<table><tr><th>property</th><th>toolchain</th><th>case</th><th>outcome</th><th>s</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def write(folder: Path, results: dict, baseline: Path | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    diff = compare(load(baseline), results) if baseline else None
    paths = [folder / "results.json", folder / "report.md", folder / "report.html"]
    paths[0].write_text(json.dumps(results, indent=1, default=str))
    paths[1].write_text(markdown(results, diff))
    paths[2].write_text(html_page(results, diff))
    return paths
