"""What a property check concludes, and how a person reads it.

A ``Verdict`` carries the outcome, every expected/found pair that went
wrong, the exact commands to reproduce it, and figures or facts worth a
report (``info``). ``Findings`` collects the pairs while a check runs so a
single failure report names every problem, the negative control included.

The outcomes are a closed set: PASS and FAIL say whether the toolchain has
the property; SKIP that it cannot have it here (the case does not apply, or
a property it stands on does not hold: ``blocked_by``); ERROR that the
question could not be asked (a broken case, an infrastructure failure),
which is never the toolchain's fault (lit's UNRESOLVED).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


PASS, FAIL, SKIP, ERROR = Outcome.PASS, Outcome.FAIL, Outcome.SKIP, Outcome.ERROR


@dataclass(frozen=True)
class Blocker:
    """The property a skipped verdict stands on, and that property's first problem here."""

    property: str
    problem: str

    def describe(self) -> str:
        return f"needs property {self.property}, which does not hold here: {self.problem}"


@dataclass(frozen=True)
class Problem:
    expected: str
    found: str
    where: str = "lto"


@dataclass
class Findings:
    """Expected/found pairs gathered by one check."""

    problems: list[Problem] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def expect(self, ok: bool, expected: str, found: str, where: str = "lto") -> bool:
        if not ok:
            self.problems.append(Problem(expected, found, where))
        return ok


@dataclass
class Verdict:
    outcome: Outcome
    property: str
    toolchain: str
    case: str
    problems: list[Problem] = field(default_factory=list)
    reproducer: str = ""
    reason: str = ""
    why: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    blocked_by: Blocker | None = None

    @property
    def first_problem(self) -> str:
        if self.problems:
            p = self.problems[0]
            found = " ".join(line.strip() for line in p.found.splitlines()[:4])
            return f"expected {p.expected}; found {found}"
        return self.reason

    def message(self) -> str:
        """The failure text: property, toolchain, case, expected/found, commands.

        An error is one paragraph: what could not be checked and why, no traceback.
        """
        if self.outcome == ERROR:
            return f"{self.property} [{self.toolchain}] {self.case}: {self.reason}"
        lines = [f"{self.property} [{self.toolchain}] {self.case}"]
        for p in self.problems:
            label = "" if p.where == "lto" else f"{p.where}: "
            lines.append(f"  {label}expected: {p.expected}")
            lines.append(f"  {' ' * len(label)}found:    {p.found}")
        if self.reason and not self.problems:
            lines.append(f"  {self.reason}")
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.why:
            lines.append(f"  why it matters: {self.why.strip()}")
        if self.reproducer:
            lines.append("  reproduce:")
            lines.extend(f"  {line}" for line in self.reproducer.splitlines())
        return "\n".join(lines)
