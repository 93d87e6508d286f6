"""A rerun that will start no tool needs no xdist workers: one process answers it sooner.

Each pytest-xdist worker costs a Python, pytest and a collection of its own
before its first test (about 0.5 s of a warm ``-n 2`` run on 2 cores, more
than the tests themselves take once every verdict is kept). When the last run
of the very same command line, from the same folder, with the same
environment and suite files, started no command (everything came from the
verdict cache), the plugin runs this one in the controller instead of
starting workers.

No verdict depends on it: each test still checks its kept verdict against the
tools and files it names and rebuilds what changed. If something did change,
that run starts commands, in one process this once, and forgets the mark, so
the next run has its workers again. Off: ``$LTO_CONFORMANCE_WARM_IN_PROCESS=0``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from . import verdict_cache
from .cache_files import write_atomically

WARM_IN_PROCESS_ENV = "LTO_CONFORMANCE_WARM_IN_PROCESS"
FORMAT = "1"


def enabled() -> bool:
    return os.environ.get(WARM_IN_PROCESS_ENV, "1") != "0" and verdict_cache.enabled()


def invocation_key(args: Sequence[str], invoked_from: Path, cases_root: Path, test_files: Sequence[Path]) -> str:
    """One command line, run from one folder, against one environment, harness, cases and test modules."""
    h = hashlib.sha256(f"{FORMAT}\0{invoked_from}\0".encode())
    for arg in args:
        h.update(f"{arg}\0".encode())
    h.update(verdict_cache.environment_identity().encode())
    h.update(verdict_cache.suite_identity(cases_root).encode())
    for path in sorted(test_files):
        try:
            st = path.stat()
        except OSError:
            h.update(f"{path}:missing\0".encode())
            continue
        h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def _mark(cache_root: Path, key: str) -> Path:
    return cache_root / "warm-runs" / key


def last_started_nothing(cache_root: Path, key: str) -> bool:
    """Did the last run of this invocation start no command at all?"""
    return _mark(cache_root, key).is_file()


def remember(cache_root: Path, key: str, started_nothing: bool) -> None:
    """Mark the invocation warm after a run that started no command; forget the mark after any other."""
    mark = _mark(cache_root, key)
    if started_nothing:
        write_atomically(cache_root, mark, b"")
    else:
        mark.unlink(missing_ok=True)
