"""Longest tests first, so that no core sits idle at the end of a parallel run.

pytest-xdist hands tests to its workers in collection order. When a
six-second test (kernel-image, cost) comes last, one worker runs it alone
while the other waits: on two cores that is most of what a cold run loses
to its raw tool time. Ordering by expected duration, longest first, is the
classic longest-processing-time rule: the short tests fill the gaps at the
end.

The expected duration of a property's case comes from the last runs, kept
in the cache (``durations.json``, the largest seen per case, whichever
toolchain), else from ``expected_seconds.json`` beside this module (a cold
run on a 2-core machine, ``scripts/bench.py --write-expected``), else a
short default. Keys are ``property/case``, not test ids, so they carry over
to every toolchain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from .cache_files import write_atomically

SHIPPED = Path(__file__).with_name("expected_seconds.json")
HISTORY = "durations.json"
DEFAULT_SECONDS = 0.3


@cache
def _shipped() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(SHIPPED.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def history(root: Path | None) -> dict[str, float]:
    if root is None:
        return {}
    try:
        return {str(k): float(v) for k, v in json.loads((root / HISTORY).read_text()).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}  # none yet, or torn: the shipped figures do


def expected(key: str, seen: Mapping[str, float]) -> float:
    return seen.get(key, _shipped().get(key, DEFAULT_SECONDS))


def longest_first(keys: list[str], seen: Mapping[str, float]) -> list[int]:
    """The indices of ``keys`` ordered by expected duration, longest first (stable among equals)."""
    return sorted(range(len(keys)), key=lambda i: -expected(keys[i], seen))


def remember(root: Path | None, measured: Iterable[tuple[str, float]]) -> None:
    """Fold a run's durations into the history: the largest seen per case (a cold run's cost)."""
    if root is None:
        return
    seen = history(root)
    for key, seconds in measured:
        seen[key] = round(max(seconds, seen.get(key, 0.0)), 3)
    write_atomically(root, root / HISTORY, json.dumps(seen, indent=0, sort_keys=True).encode())
