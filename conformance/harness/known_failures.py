"""Known toolchain defects, applied as strict xfail (GCC's validate_failures).

A known failure stays visible as XFAIL with its reason, and a fixed
toolchain shows up as an unexpected pass that fails the run (strict), so
the entry gets removed. Entries may carry an expiry date after which they
no longer apply and the failure is red again.

    [[failure]]
    property = "system-binutils"      # exact property name
    toolchain = "clang-19*"           # fnmatch on the label or the full id
    case = "*"                        # optional, fnmatch on the case name
    reason = "stale LLVMgold-14.so in /usr/lib/bfd-plugins claims clang-19 bitcode"
    expires = 2027-06-30              # optional TOML date
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from .errors import UsageError

KEYS = {"property", "toolchain", "case", "reason", "expires"}


@dataclass(frozen=True)
class KnownFailure:
    property: str
    toolchain: str
    case: str
    reason: str
    expires: dt.date | None

    def applies(self, prop: str, label: str, full_id: str, case: str | None, today: dt.date) -> bool:
        if self.expires is not None and today > self.expires:
            return False
        if prop != self.property:
            return False
        if not (fnmatch(label, self.toolchain) or fnmatch(full_id, self.toolchain)):
            return False
        return case is None or fnmatch(case, self.case)


def load(path: Path) -> list[KnownFailure]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"--known-failures {path}: {exc}") from exc
    out = []
    for number, raw in enumerate(data.get("failure", []), start=1):
        unknown = set(raw) - KEYS
        missing = {"property", "toolchain", "reason"} - set(raw)
        if unknown or missing:
            problem = f"unknown key {sorted(unknown)[0]!r}" if unknown else f"missing key {sorted(missing)[0]!r}"
            raise UsageError(f"--known-failures {path}: entry {number}: {problem}")
        expires = raw.get("expires")
        if expires is not None and not isinstance(expires, dt.date):
            raise UsageError(f"--known-failures {path}: entry {number}: 'expires' must be a TOML date")
        out.append(KnownFailure(raw["property"], raw["toolchain"], raw.get("case", "*"), raw["reason"], expires))
    return out


def match(
    entries: list[KnownFailure], prop: str, label: str, full_id: str, case: str | None, today: dt.date | None = None
) -> KnownFailure | None:
    today = today or dt.date.today()
    return next((e for e in entries if e.applies(prop, label, full_id, case, today)), None)
