"""Results a nightly job keeps: results.json and the per-toolchain matrix.

One entry per test (property, toolchain, case, outcome, duration, the
figures the check recorded, the failure text). ``matrix`` folds the tests
into one cell per property and toolchain, which report.md, report.html and
the terminal summary all show; ``baseline.compare`` names what regressed
against a previous run; ``merge`` puts the runs of several hosts into one.

Schema 2 adds, over schema 1: each test's toolchain ``label``, ``host`` and
column ``key``; each toolchain's ``family``, ``version``, ``linker_flavour``,
``host`` and ``key``; the host's ``name``; ``strict`` on unexpected passes
(a strict xfail that passed is ``xpassed``, no longer ``failed``). ``load``
reads schema 1 files and fills those fields in.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 2
READABLE = (1, 2)
# Worst first: a cell shows the first of these that any of its tests has.
SEVERITY = ("error", "failed", "xpassed", "xfailed", "passed", "skipped")
WORDS = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "xfailed": "known",
    "xpassed": "fixed?",
    "skipped": "skipped",
}
# The stable property names (DESIGN.md), in the order people read them; others follow by name.
PROPERTY_ORDER = [
    "toolchain-setup",
    "lto-ir",
    "linker-plugin",
    "archive-index",
    "nm-symbols",
    "system-binutils",
    "thin-archive",
    "cross-file-inlining",
    "dead-function-removal",
    "toplevel-asm",
    "section-placement",
    "initcall-order",
    "incremental-link",
    "per-file-flags",
    "post-link-tools",
    "symbol-versioning",
    "version-skew",
    "reproducible-output",
    "jobserver",
    "tmpdir",
    "debug-info",
    "cost",
    "kernel-image",
    "kernel-build",
    "kernel-boot",
]
XPASS_STRICT = "[XPASS(strict)]"


class ResultsError(Exception):
    """A results.json that cannot be read or combined; the message is one line for a person."""


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
    strict = False
    if wasxfail is not None:
        outcome = "xfailed" if outcome == "skipped" else "xpassed"
    elif when == "call" and outcome == "failed" and longrepr.startswith(XPASS_STRICT):
        outcome, strict = "xpassed", True
        wasxfail = longrepr.removeprefix(XPASS_STRICT).strip()
    elif when != "call" and outcome == "failed":
        outcome = "error"
    entry = {
        "nodeid": nodeid,
        "when": when,
        "outcome": outcome,
        "duration": round(duration, 3),
        "reason": wasxfail or "",
        "message": longrepr,
        "properties": {k: v for k, v in user_properties},
        "kernel": "kernel" in keywords,
    }
    if outcome == "xpassed":
        entry["strict"] = strict
    return entry


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
    label = merged_props.pop("toolchain_label", "")
    test = {
        "nodeid": phases[0]["nodeid"],
        "outcome": outcome,
        "duration": round(sum(p["duration"] for p in phases), 3),
        "property": merged_props.pop("property", property_from_nodeid(phases[0]["nodeid"])),
        "toolchain": merged_props.pop("toolchain", ""),
        "label": label,
        "key": label,
        "host": "",
        "case": merged_props.pop("case", ""),
        "reason": reason,
        "message": message,
        "figures": merged_props,
    }
    blocked = merged_props.pop("blocked_by", None)
    if blocked:
        test["blocked_by"] = blocked  # the property a skip stands on (one root cause, one failure)
    if outcome == "xpassed":
        test["strict"] = any(p.get("strict") for p in phases)
    return test


def property_from_nodeid(nodeid: str) -> str:
    name = nodeid.split("::")[-1].split("[")[0]
    return name.removeprefix("test_").replace("_", "-")


def host_name() -> str:
    return platform.node() or "localhost"


def toolchain_entry(t: Any, host: str) -> dict:
    """What results.json says about one toolchain (a harness Toolchain)."""
    return {
        "label": t.label,
        "key": t.label,
        "host": host,
        "id": t.full_id,
        "family": t.family,
        "version": str(t.version),
        "linker_flavour": t.linker,
        "target": t.target,
        "cc": list(t.cc.argv),
        "ar": list(t.ar.argv),
        "nm": list(t.nm.argv),
        "linker": t.linker_version,
        **t.describe(),
    }


def collate(entries: Iterable[dict], toolchains: Sequence[Any]) -> dict:
    by_node: dict[str, list[dict]] = {}
    for entry in entries:
        by_node.setdefault(entry["nodeid"], []).append(entry)
    host = host_name()
    data = {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": {"name": host, "machine": platform.machine(), "python": platform.python_version()},
        "toolchains": [toolchain_entry(t, host) for t in toolchains],
        "tests": sorted((_final(phases) for phases in by_node.values()), key=lambda t: t["nodeid"]),
    }
    _attach_toolchains(data)
    data["counts"] = count(data["tests"])
    return data


def count(tests: Iterable[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in tests:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    return counts


def _attach_toolchains(data: dict) -> None:
    """Give every test the label, host and key of its toolchain (schema 1 tests lack them)."""
    entries = data["toolchains"]
    by_id: dict[str, list[dict]] = {}
    for t in entries:
        by_id.setdefault(t["id"], []).append(t)
    labels = sorted((t["label"] for t in entries), key=len, reverse=True)
    by_label = {t["label"]: t for t in entries}
    for test in data["tests"]:
        owner = by_label.get(test.get("label", ""))
        if owner is None:
            candidates = by_id.get(test.get("toolchain", ""), [])
            if len(candidates) == 1:
                owner = candidates[0]
            else:
                params = _params(test["nodeid"])
                found = next((label for label in labels if _has_label(params, label)), None)
                owner = by_label.get(found or "")
        if owner is None and len(entries) == 1:
            owner = entries[0]
        if owner is not None:
            test["label"], test["host"], test["key"] = owner["label"], owner["host"], owner["key"]
        else:
            test["label"] = test.get("label") or test.get("toolchain", "")
            test["host"] = test.get("host") or data["host"].get("name", "")
            test["key"] = test.get("key") or test["label"]


def _params(nodeid: str) -> str:
    return nodeid.split("[", 1)[1].rstrip("]") if "[" in nodeid else ""


def _has_label(params: str, label: str) -> bool:
    return params == label or params.startswith(f"{label}-") or params.endswith(f"-{label}") or f"-{label}-" in params


def case_key(test: dict) -> str:
    """The test's parameters without its toolchain: stable across labels, files and hosts."""
    params, label = _params(test["nodeid"]), test.get("label", "")
    if not label or not _has_label(params, label):
        return params or test.get("case", "")
    if params == label:
        return ""
    if params.startswith(f"{label}-"):
        return params.removeprefix(f"{label}-")
    if params.endswith(f"-{label}"):
        return params.removesuffix(f"-{label}")
    return params.replace(f"-{label}-", "-", 1)


_ID = re.compile(r"^(?P<family>[a-z]+)-(?P<version>[^+]+)\+(?P<linker>[^/]+)(?:/.*)?$")


def upgrade(data: Any, origin: str) -> dict:
    """A results document of any readable schema, in the current shape."""
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise ResultsError(f"{origin}: not an lto-conformance results.json (no 'tests' list)")
    schema = data.get("schema", 1)
    if schema not in READABLE:
        readable = " and ".join(str(n) for n in sorted(READABLE))
        newer = isinstance(schema, int) and schema > SCHEMA
        raise ResultsError(
            f"{origin}: written by results schema {schema}, this lto-conformance reads schema {readable}"
            + (" (a newer lto-conformance wrote it)" if newer else "")
        )
    data.setdefault("created", "")
    data.setdefault("host", {})
    data["host"].setdefault("name", "")
    data.setdefault("toolchains", [])
    for t in data["toolchains"]:
        parsed = _ID.match(t.get("id", ""))
        t.setdefault("family", parsed["family"] if parsed else "")
        t.setdefault("version", parsed["version"] if parsed else "")
        t.setdefault("linker_flavour", parsed["linker"] if parsed else "")
        t.setdefault("target", "")
        t.setdefault("host", data["host"]["name"])
        t.setdefault("key", t.get("label", ""))
    for test in data["tests"]:
        test.setdefault("property", property_from_nodeid(test.get("nodeid", "")))
        for key, default in (("outcome", "passed"), ("case", ""), ("reason", ""), ("message", "")):
            test.setdefault(key, default)
        test.setdefault("figures", {})
        test.setdefault("duration", 0.0)
    if schema == 1:
        for test in data["tests"]:
            if test["outcome"] == "failed" and test["message"].startswith(XPASS_STRICT):
                test["outcome"], test["strict"] = "xpassed", True
                test["reason"] = test["reason"] or test["message"].removeprefix(XPASS_STRICT).strip()
        _attach_toolchains(data)
        data["counts"] = count(data["tests"])
    data.setdefault("counts", count(data["tests"]))
    data["read_schema"] = schema
    return data


def load(path: Path) -> dict:
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read results: {exc}") from None
    return upgrade(raw, str(path))


def is_bad(test: dict) -> bool:
    """What fails a run: a failure, an error, a strict known failure that now passes."""
    outcome = test["outcome"]
    return outcome in ("failed", "error") or (outcome == "xpassed" and bool(test.get("strict")))


def worst(outcomes: Iterable[str]) -> str:
    present = set(outcomes)
    return next((o for o in SEVERITY if o in present), "skipped")


def sort_properties(names: Iterable[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(PROPERTY_ORDER)}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


@dataclass
class Cell:
    property: str
    key: str
    tests: list[dict] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return worst(t["outcome"] for t in self.tests)

    @property
    def counts(self) -> dict[str, int]:
        return {o: n for o in SEVERITY if (n := sum(t["outcome"] == o for t in self.tests))}

    @property
    def outcome_word(self) -> str:
        return WORDS[self.outcome]

    def counts_text(self) -> str:
        return "  ".join(f"{n} {WORDS[o]}" for o, n in self.counts.items())


@dataclass
class Matrix:
    """Rows are properties, columns toolchain keys (label, or label@host when merged)."""

    properties: list[str]
    columns: list[dict]
    cells: dict[tuple[str, str], Cell]

    def cell(self, prop: str, key: str) -> Cell | None:
        return self.cells.get((prop, key))

    def column_tests(self, key: str) -> list[dict]:
        return [t for (_, k), c in self.cells.items() if k == key for t in c.tests]


def matrix(results: dict) -> Matrix:
    columns = list(results["toolchains"])
    known = {c["key"] for c in columns}
    tests = [t for t in results["tests"] if t["key"]]
    for test in tests:
        if test["key"] not in known:
            known.add(test["key"])
            columns.append({"key": test["key"], "label": test["label"], "host": test["host"], "id": test["toolchain"]})
    cells: dict[tuple[str, str], Cell] = {}
    for test in tests:
        cells.setdefault((test["property"], test["key"]), Cell(test["property"], test["key"])).tests.append(test)
    return Matrix(sort_properties(t["property"] for t in tests), columns, cells)


def column_title(column: Mapping[str, Any]) -> str:
    """``gcc-12 (gcc-12.2.0+bfd)``; just the id when the label is the id."""
    label, ident = column.get("key") or column["label"], column.get("id", "")
    return label if not ident or ident == column["label"] else f"{label} ({ident})"


def verdict_line(column: Mapping[str, Any], tests: Sequence[dict], width: int = 0) -> str:
    """``gcc-12.2.0+bfd  23 passed  1 failed (initcall-order)  1 known  3 skipped``."""
    parts = []
    for outcome in ("passed", "failed", "error", "xfailed", "xpassed", "skipped"):
        chosen = [t for t in tests if t["outcome"] == outcome]
        if not chosen and outcome != "passed":
            continue
        text = f"{len(chosen)} {WORDS[outcome]}"
        if outcome in ("failed", "error", "xpassed"):
            strict = outcome == "xpassed" and any(t.get("strict") for t in chosen)
            text += f" ({', '.join(sort_properties(t['property'] for t in chosen))}{'; strict' if strict else ''})"
        parts.append(text)
    return f"{column_title(column):<{width}}  " + "  ".join(parts)


def verdict_lines(results: dict) -> list[str]:
    m = matrix(results)
    width = max((len(column_title(c)) for c in m.columns), default=0)
    return [verdict_line(c, m.column_tests(c["key"]), width) for c in m.columns]


def write(folder: Path, results: dict, diff: Any = None) -> list[Path]:
    """results.json, report.md and report.html; ``diff`` is a baseline.Diff or None."""
    from . import report_html, report_md

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "results.json", folder / "report.md", folder / "report.html"]
    stored = {k: v for k, v in results.items() if k != "read_schema"}
    paths[0].write_text(json.dumps(stored, indent=1, default=str))
    paths[1].write_text(report_md.render(results, diff))
    paths[2].write_text(report_html.render(results, diff))
    return paths
