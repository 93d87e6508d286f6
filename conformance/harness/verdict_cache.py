"""Verdicts remembered across runs, keyed by everything that can change them.

The step cache spares a warm run its compiles and links, but a property
still stages files, hashes inputs, parses ELF and DWARF, and runs what is
never cached: the program under test, a jobserver link, a second build
from scratch, a boot in QEMU. When nothing a verdict depends on changed,
the verdict cannot change either, so it is kept (``verdicts/`` in the
cache) and a warm run reads it back instead of checking again.

The key holds the suite itself (the harness and the cases, by path, size
and mtime; the Python and pyelftools it runs on), the property and case,
every tool of the toolchain with its identity, the options of the run, the
environment (all of it but a few variables that differ between runs of the
same command), and the directories of ``PATH``, whose mtime changes when a
program is installed or removed there. On top of the key, an entry lists
the identity of every other program the check ran (make, qemu, readelf)
and every file it identified a tool by (a bfd plugin, the plugin folder
binutils lists): one of them changed, and the entry is not used.

What is never kept: a verdict reached while a command timed out, was killed
or hit a full disk (the machine's doing), an ERROR or a SKIP from inside a
check (qemu missing, no KVM: the machine, not the toolchain), and verdicts
of properties that read a kernel tree. Files of this run's build folders
that a verdict names (a console log, generated sources its reproducer
enters; at most 4 MiB) are kept with it, and the kept verdict names the
copies, so its reproducer still points at real files.
``LTO_CONFORMANCE_VERDICT_CACHE=0`` turns it off; a self-test compares
the verdicts of runs with and without it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .verdict import FAIL, PASS, Blocker, Outcome, Problem, Verdict

VERDICT_CACHE_ENV = "LTO_CONFORMANCE_VERDICT_CACHE"
FORMAT = "1"
# Variables that differ between two runs of the same command, and say nothing about the tools.
VOLATILE_ENV = frozenset(
    {"PWD", "OLDPWD", "SHLVL", "_", "COLUMNS", "LINES", "TERM", "COLORTERM"}
    | {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}  # the harness's interpreter, not a tool's
)
VOLATILE_PREFIXES = ("PYTEST_", "LTO_CONFORMANCE_", "SSH_", "XDG_SESSION", "WINDOWID", "KITTY_", "VTE_")
# Outcomes worth keeping: whether the toolchain has the property. A SKIP says what the machine lacks.
KEPT = (PASS, FAIL)


def enabled() -> bool:
    return os.environ.get(VERDICT_CACHE_ENV, "1") != "0"


@functools.cache
def suite_identity(cases_root: Path) -> str:
    """The harness and the cases (path, size, mtime of each file) and what they run on."""
    h = hashlib.sha256(f"{FORMAT}\0{sys.version}".encode())
    try:
        from importlib.metadata import version

        h.update(f"pyelftools={version('pyelftools')}\0".encode())
    except Exception:  # pragma: no cover - an unusual install; the source files still count
        pass
    for root in (Path(__file__).resolve().parent, cases_root.resolve()):
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                st = path.stat()
                h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def environment_identity() -> str:
    """The environment the tools see, the state of the directories of PATH, and the machine.

    The machine: its kernel and architecture, and the CPUs this process may
    use (parallel LTRANS and the jobserver property depend on them).
    """
    h = hashlib.sha256()
    uname = os.uname()
    h.update(f"{uname.sysname} {uname.release} {uname.machine} cpus={len(os.sched_getaffinity(0))}\0".encode())
    for key in sorted(os.environ):
        if key in VOLATILE_ENV or key.startswith(VOLATILE_PREFIXES):
            continue
        h.update(f"{key}={os.environ[key]}\0".encode())
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        try:
            st = os.stat(directory)
        except OSError:
            h.update(f"{directory}:missing\0".encode())
            continue
        h.update(f"{directory}:{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def program_identity(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


@dataclass(eq=False)  # watched by identity: two equal observations are still two
class Observation:
    """What one evaluation ran: the programs, and whether the machine had a say in a result."""

    programs: dict[str, str] = field(default_factory=dict)
    tainted: str = ""


_lock = threading.Lock()
_watching: list[Observation] = []


def saw_program(argv0: str, env_path: str | None = None) -> None:
    """process.run reports each command it starts, while an evaluation is watched."""
    if not _watching:
        return
    path = argv0 if "/" in argv0 else shutil.which(argv0, path=env_path)
    if path is not None:
        saw_file(path)


def saw_file(path: Path | str) -> None:
    """A check read this file or listed this directory (a tool's identity, bfd-plugins): it must stay the same."""
    if not _watching:
        return
    real = os.path.realpath(path)
    identity = program_identity(real)
    with _lock:
        for observation in _watching:
            observation.programs[real] = identity


def saw_machine(why: str) -> None:
    """process.run reports a result the machine caused: a timeout, a signal, a full disk."""
    with _lock:
        for observation in _watching:
            observation.tainted = observation.tainted or why


@contextmanager
def watching() -> Iterator[Observation]:
    observation = Observation()
    with _lock:
        _watching.append(observation)
    try:
        yield observation
    finally:
        with _lock:
            _watching.remove(observation)


def _to_json(verdict: Verdict) -> dict:
    data = asdict(verdict)
    data["outcome"] = str(verdict.outcome)
    return data


def _from_json(data: dict) -> Verdict:
    blocked = data.pop("blocked_by")
    return Verdict(
        **{
            **data,
            "outcome": Outcome(data["outcome"]),
            "problems": [Problem(**p) for p in data["problems"]],
            "blocked_by": Blocker(**blocked) if blocked else None,
        }
    )


@dataclass
class VerdictCache:
    """``verdicts/`` under the step cache's root; ``None`` keeps nothing."""

    root: Path | None

    def key(self, property_name: str, case_path: str, parts: list[str], cases_root: Path) -> str:
        h = hashlib.sha256()
        for part in (suite_identity(cases_root), environment_identity(), property_name, case_path, *parts):
            h.update(part.encode() + b"\0")
        return h.hexdigest()

    def _entry(self, key: str) -> Path:
        assert self.root is not None
        return self.root / "verdicts" / key[:2] / key

    def load(self, key: str) -> Verdict | None:
        if self.root is None or not enabled():
            return None
        try:
            data = json.loads((self._entry(key) / "verdict.json").read_text())
        except (OSError, ValueError):
            return None
        programs = data.get("programs", {})
        if any(program_identity(path) != identity for path, identity in programs.items()):
            return None  # a program the check ran was replaced (or removed) since
        for path in programs:
            saw_program(path)  # an enclosing evaluation depends on them as well
        try:
            verdict = _from_json(data["verdict"])
        except (KeyError, TypeError, ValueError):
            return None
        # Its figures (times, peak RSS) are that run's: the report says which run reached it.
        verdict.info = {**verdict.info, "verdict_kept_from": data.get("created", "")}
        return verdict

    def store(self, key: str, verdict: Verdict, observation: Observation, workspace: Path) -> bool:
        """Keep the verdict unless the machine had a say in it.

        Files of this run's build folders that it names (a console log, the
        folder of generated sources its reproducer enters) are kept with it,
        and the verdict names the kept copies.
        """
        if self.root is None or not enabled() or observation.tainted or verdict.outcome not in KEPT:
            return False
        try:
            created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            text = json.dumps({"verdict": _to_json(verdict), "programs": observation.programs, "created": created})
        except (TypeError, ValueError):
            return False
        final = self._entry(key)
        scratch = self.root / "tmp" / f"verdict-{uuid.uuid4().hex}"
        try:
            named = _named_files(text, workspace)
            if named is None:
                return False
            for path in named:
                target = scratch / "files" / path.relative_to(workspace)
                target.parent.mkdir(parents=True, exist_ok=True)
                if path.is_dir():
                    shutil.copytree(path, target, symlinks=True, dirs_exist_ok=True)
                else:
                    shutil.copy2(path, target)
            text = text.replace(str(workspace), str(final / "files"))
            scratch.mkdir(parents=True, exist_ok=True)
            (scratch / "verdict.json").write_text(text)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                shutil.rmtree(final, ignore_errors=True)
            os.rename(scratch, final)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
            return False
        return True


# A path inside a build folder, as it appears in a verdict's JSON text (ends at quotes, spaces, escapes).
_PATH_END = r"[^\s\"'\\:;,()]*"
# Named files kept with a verdict, at most this many bytes in all (a console log, a few sources).
MAX_KEPT_BYTES = 4 << 20


def _named_files(text: str, workspace: Path) -> list[Path] | None:
    """The files and folders under ``workspace`` that ``text`` names and that exist; None if too big."""
    found = sorted(
        {Path(m) for m in re.findall(re.escape(str(workspace)) + _PATH_END, text)}, key=lambda p: len(p.parts)
    )
    kept: list[Path] = []
    size = 0
    for path in found:
        path = Path(str(path).rstrip("."))
        if path == workspace or any(parent in kept for parent in path.parents):
            continue
        if not path.exists():
            continue  # named, not there (a TMPDIR that must not exist): the text is all there is to keep
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        size += sum(p.stat().st_size for p in files)
        if size > MAX_KEPT_BYTES:
            return None
        kept.append(path)
    return kept
