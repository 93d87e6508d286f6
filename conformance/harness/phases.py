"""Peak memory of each LTO phase, from the processes that run it.

The kernel's LTO notes put the memory peak in GCC's single-threaded WPA
stage; a whole-link figure cannot show that. GCC runs every LTO phase as
its own ``lto1`` process (``-fwpa`` once, ``-fltrans`` per partition),
found by the driver through ``-B`` like any compiler program, so a link
given ``-B <shim dir>/`` runs a tiny ``lto1`` shim that forks the real lto1
and logs the child's own peak RSS (``os.wait4``: exactly that process, from
the kernel). lld runs LTO inside ``ld.lld``; clang's ``--ld-path`` points the
link at a shim that measures the ld.lld process the same way. Each shim
adds its own interpreter's few MiB as a floor under its figures (reported).
The log goes to the file named by ``$LTO_CONFORMANCE_PHASE_LOG``, one JSON
line per process, so it is a product of the step and is cached with it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .toolchain import Toolchain

LOG_ENV = "LTO_CONFORMANCE_PHASE_LOG"
LOG_NAME = "rss-phases.jsonl"
SHIM_DIR = "rss-shim"
MIB = 1024

SHIM = """\
#!{python} -S
# lto-conformance: run {real} and log its peak RSS per process (see harness/phases.py)
import json, os, sys
real = {real!r}
args = sys.argv[1:]
pid = os.fork()
if pid == 0:
    os.execv(real, [real] + args)
_, status, usage = os.wait4(pid, 0)
phase = {role!r}
if "-fwpa" in args:
    phase = "wpa"
elif "-fltrans" in args:
    phase = "ltrans"
log = os.environ.get({log_env!r})
if log:
    with open(log, "a") as handle:
        handle.write(json.dumps({{"phase": phase, "peak_rss_kib": usage.ru_maxrss}}) + "\\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass(frozen=True)
class PhasePlan:
    """How to make one link report its phases: extra flags, the shim's files, what it measures."""

    flags: tuple[str, ...]
    files: tuple[str, ...]
    measures: str


def _component(toolchain: Toolchain, role: str) -> Path | None:
    return next((c.path for c in toolchain.components if c.role == role), None)


def _write_shim(folder: Path, name: str, real: Path, role: str) -> str:
    shim = folder / SHIM_DIR / name
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(SHIM.format(python=sys.executable, real=str(real), role=role, log_env=LOG_ENV))
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return f"{SHIM_DIR}/{name}"


def plan(toolchain: Toolchain, folder: Path) -> PhasePlan | None:
    """Shim the processes that run LTO for this toolchain; None if the suite cannot tell them apart."""
    if toolchain.family == "gcc":
        lto1 = _component(toolchain, "lto1")
        if lto1 is None:
            return None
        name = _write_shim(folder, "lto1", lto1, "lto1")
        return PhasePlan((f"-B{folder / SHIM_DIR}/",), (name,), "GCC's lto1 processes (WPA, each LTRANS)")
    if toolchain.family == "clang" and toolchain.linker == "lld":
        lld = _component(toolchain, "ld.lld")
        if lld is None:
            return None
        name = _write_shim(folder, "ld.lld", lld, "lld")
        return PhasePlan((f"--ld-path={folder / name}",), (name,), "the ld.lld process (LTO runs inside it)")
    return None


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def figures(records: list[dict[str, Any]], floor_kib: int) -> dict[str, Any]:
    """Per phase: processes and the largest peak (MiB); whether the peak is in the single WPA process."""
    by_phase: dict[str, list[int]] = {}
    for record in records:
        by_phase.setdefault(record["phase"], []).append(int(record["peak_rss_kib"]))
    out: dict[str, Any] = {"shim_floor_mib": round(floor_kib / MIB, 1)}
    for phase, peaks in sorted(by_phase.items()):
        out[f"{phase}_processes"] = len(peaks)
        out[f"{phase}_peak_rss_mib"] = round(max(peaks) / MIB, 1)
    if "wpa" in by_phase and "ltrans" in by_phase:
        out["peak_in_wpa"] = max(by_phase["wpa"]) >= max(by_phase["ltrans"])
    return out


def floor_kib(folder: Path) -> int:
    """What the shim itself weighs: its figure for /bin/true (a child's peak starts at the shim's size)."""
    true = shutil.which("true") or "/bin/true"
    name = _write_shim(folder, "floor-true", Path(true), "floor")
    log = folder / f"{LOG_NAME}.floor"
    log.unlink(missing_ok=True)
    subprocess.run([str(folder / name)], cwd=folder, env={**os.environ, LOG_ENV: str(log)}, timeout=30, check=False)
    records = read_log(log)
    return int(records[0]["peak_rss_kib"]) if records else 0
