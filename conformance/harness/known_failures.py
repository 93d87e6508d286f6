"""Known toolchain defects, applied as expected failures (GCC's validate_failures).

A known failure stays visible as XFAIL with its reason. A strict entry
(the default) that passes fails the run as XPASS(strict), so the entry
gets removed; a ``strict = false`` entry, for defects that depend on the
state of the machine (which plugins sit in bfd-plugins, in which order),
reads "fixed?" instead. ``when`` requires the defect's cause in the
failure text, so a different failure of the same test stays red. After
``expires`` the entry no longer applies and is reported as expired.

    [[failure]]
    property = "system-binutils"      # a registered property name
    toolchain = "clang-*"             # fnmatch on the label or the full id
    case = "*"                        # optional, fnmatch on the case name
    reason = "stale LLVMgold-14.so in /usr/lib/bfd-plugins claims clang bitcode"
    when = "LLVMgold-14"              # optional: the failure text must contain this
    strict = false                    # optional, default true
    expires = 2027-06-30              # optional TOML date

``python -m conformance.known_failures --from out/results.json`` writes such
a manifest from a run's failures (GCC's ``--produce_manifest``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from .errors import UsageError
from .toml_tables import check_keys, read_entries

KEYS = {"property", "toolchain", "case", "reason", "expires", "when", "strict"}
TYPES: Mapping[str, type | tuple[type, ...]] = {
    "property": str,
    "toolchain": str,
    "case": str,
    "reason": str,
    "when": str,
    "strict": bool,
    "expires": dt.date,
}


@dataclass(frozen=True)
class KnownFailure:
    property: str
    toolchain: str
    case: str
    reason: str
    expires: dt.date | None
    when: str | None = None
    strict: bool = True

    def expired(self, today: dt.date | None = None) -> bool:
        return self.expires is not None and (today or dt.date.today()) > self.expires

    def covers(self, prop: str, label: str, full_id: str, case: str | None) -> bool:
        """Whether the entry names this test (expired or not)."""
        if prop != self.property:
            return False
        if not (fnmatch(label, self.toolchain) or fnmatch(full_id, self.toolchain)):
            return False
        return case is None or fnmatch(case, self.case)

    def applies(self, prop: str, label: str, full_id: str, case: str | None, today: dt.date) -> bool:
        return not self.expired(today) and self.covers(prop, label, full_id, case)

    def explains(self, failure_text: str) -> bool:
        """A failure is this known defect only if it names the cause the entry requires."""
        return self.when is None or self.when in failure_text

    def describe(self) -> str:
        first = self.reason.strip().splitlines()[0] if self.reason.strip() else ""
        return f"{self.property} [{self.toolchain}] {self.case}: {first}"


def load(path: Path, properties: Collection[str] | None = None) -> list[KnownFailure]:
    """Read and validate a known-failures file; every problem is a UsageError naming file and entry.

    ``properties`` (the registered names) turns a misspelled property into an
    error instead of an entry that silently never matches.
    """
    where = f"--known-failures {path}"
    out = []
    for number, raw in enumerate(read_entries(path, where, "failure"), start=1):
        check_keys(raw, f"{where}: entry {number}", sorted(KEYS), ("property", "toolchain", "reason"))
        for key, value in raw.items():
            wanted = TYPES[key]
            if not isinstance(value, wanted) or (wanted is dt.date and isinstance(value, dt.datetime)):
                kind = "a TOML date" if wanted is dt.date else f"a {getattr(wanted, '__name__', wanted)}"
                raise UsageError(f"{where}: entry {number}: {key!r} must be {kind}")
        if properties is not None and raw["property"] not in properties:
            raise UsageError(
                f"{where}: entry {number}: unknown property {raw['property']!r}; known: {', '.join(sorted(properties))}"
            )
        out.append(
            KnownFailure(
                raw["property"],
                raw["toolchain"],
                raw.get("case", "*"),
                raw["reason"],
                raw.get("expires"),
                raw.get("when"),
                raw.get("strict", True),
            )
        )
    return out


def match(
    entries: list[KnownFailure], prop: str, label: str, full_id: str, case: str | None, today: dt.date | None = None
) -> KnownFailure | None:
    """The first entry in force for this test."""
    today = today or dt.date.today()
    return next((e for e in entries if e.applies(prop, label, full_id, case, today)), None)


def expired_match(
    entries: list[KnownFailure], prop: str, label: str, full_id: str, case: str | None, today: dt.date | None = None
) -> KnownFailure | None:
    """An entry for this test whose expiry date has passed (reported as expired, not applied)."""
    today = today or dt.date.today()
    return next((e for e in entries if e.expired(today) and e.covers(prop, label, full_id, case)), None)


def _toml_string(text: str) -> str:
    if "\n" in text:
        return '"""' + text.replace("\\", "\\\\").replace('"""', '\\"""') + '"""'
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _found_line(message: str) -> str:
    for line in message.splitlines():
        if line.strip().startswith("found:"):
            return line.split("found:", 1)[1].strip()
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    return lines[1] if len(lines) > 1 else (lines[0] if lines else "")


def manifest(results: Mapping[str, Any], *, expires: dt.date | None = None) -> str:
    """A known-failures file listing every failed test of a results.json, one entry each."""
    failed: Iterable[Mapping[str, Any]] = [t for t in results.get("tests", []) if t.get("outcome") == "failed"]
    lines = [
        f"# Known failures produced from a run of {results.get('created', 'an unknown date')} by",
        "# python -m conformance.known_failures --from results.json.",
        "# Check each by hand, write its reason (and a reproducer), then use it with --known-failures.",
    ]
    seen = set()
    for test in failed:
        case = str(test.get("case", "")).rsplit("/", 1)[-1] or "*"
        key = (test.get("property", ""), test.get("toolchain", ""), case)
        if key in seen:
            continue
        seen.add(key)
        lines += [
            "",
            "[[failure]]",
            f"property = {_toml_string(key[0])}",
            f"toolchain = {_toml_string(key[1])}",
            f"case = {_toml_string(case)}",
            f"reason = {_toml_string('TODO, seen as: ' + _found_line(str(test.get('message', ''))))}",
        ]
        if expires is not None:
            lines.append(f"expires = {expires.isoformat()}")
    return "\n".join(lines) + "\n"
