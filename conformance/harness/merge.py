"""Many runs, one matrix: merge the results.json of several hosts or runs.

Toolchains are keyed by label plus host. The host is the run's own host
name unless the input is given as ``HOST=FILE`` (CI runners have random
names; an artefact name is stable from night to night, which the baseline
pairing needs). When the inputs come from more than one host every column
is ``label@host``; from one host (say one run per toolchain) the labels
stay. Inputs of different schema versions are refused: they come from
different versions of the suite, whose verdicts need not mean the same.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

from .report import SCHEMA, ResultsError, count, upgrade


def parse_input(text: str) -> tuple[str | None, Path]:
    """``host1=out/results.json`` or a plain path (a folder means its results.json)."""
    host, sep, rest = text.partition("=")
    name, path = (host, rest) if sep and host and "/" not in host else (None, text)
    p = Path(path)
    return name, p / "results.json" if p.is_dir() else p


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"merge: cannot read {path}: {exc}") from None


def merge(inputs: Sequence[tuple[str | None, Path]]) -> dict:
    if not inputs:
        raise ResultsError("merge: no results.json given")
    raws = [(host, path, _read(path)) for host, path in inputs]
    schemas = {path: raw.get("schema", 1) if isinstance(raw, dict) else None for _, path, raw in raws}
    if len(set(schemas.values())) > 1:
        listed = ", ".join(f"{p} is schema {s}" for p, s in schemas.items())
        raise ResultsError(f"merge: mixed results schemas ({listed}); merge results of one lto-conformance version")
    runs = []
    for host, path, raw in raws:
        data = upgrade(raw, str(path))
        name = host or data["host"].get("name") or path.resolve().parent.name
        runs.append((name, path, data))
    hosts = list(dict.fromkeys(name for name, _, _ in runs))
    several = len(hosts) > 1
    seen: dict[tuple[str, str], Path] = {}
    toolchains, tests, sources = [], [], []
    for name, path, data in runs:
        keys = {}
        for t in data["toolchains"]:
            ident = (t["label"], name)
            if ident in seen:
                raise ResultsError(
                    f"merge: {t['label']} on host {name} is in both {seen[ident]} and {path}; "
                    "name the hosts apart with HOST=FILE"
                )
            seen[ident] = path
            keys[t["key"]] = f"{t['label']}@{name}" if several else t["label"]
            toolchains.append({**t, "host": name, "key": keys[t["key"]]})
        for test in data["tests"]:
            if test.get("key") in keys:
                tests.append({**test, "host": name, "key": keys[test["key"]]})
        sources.append(
            {"file": str(path), "host": name, "created": data.get("created", ""), "schema": data["read_schema"]}
        )
    return {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": {"name": hosts[0] if not several else ""},
        "hosts": hosts,
        "merged_from": sources,
        "toolchains": toolchains,
        "tests": sorted(tests, key=lambda t: (t["key"], t["nodeid"])),
        "counts": count(tests),
    }
