"""Timing events for ``scripts/bench.py --profile``: where a run's wall time goes.

With ``$LTO_CONFORMANCE_PROFILE`` naming a folder, every process of a run
(the pytest controller and each xdist worker) appends one JSON line per
event to ``<folder>/<pid>.jsonl``: when the process started, when its
configuration and toolchain resolution were done, each test's start and end,
and every external command it ran with its duration. ``profile_report``
turns the folder into the figures the bench prints. Without the variable
nothing is recorded and an event costs one lookup.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PROFILE_ENV = "LTO_CONFORMANCE_PROFILE"
_sink: IO[str] | None = None
_lock = threading.Lock()
_sink_pid = 0


def enabled() -> bool:
    return bool(os.environ.get(PROFILE_ENV))


def _stream() -> IO[str] | None:
    global _sink, _sink_pid
    folder = os.environ.get(PROFILE_ENV)
    if not folder:
        return None
    if _sink is None or _sink_pid != os.getpid():
        Path(folder).mkdir(parents=True, exist_ok=True)
        _sink = open(Path(folder) / f"{os.getpid()}.jsonl", "a", buffering=1)  # noqa: SIM115 (kept for the process)
        _sink_pid = os.getpid()
    return _sink


def event(kind: str, **fields: Any) -> None:
    """Record one event of this process (nothing without $LTO_CONFORMANCE_PROFILE); thread-safe."""
    if not os.environ.get(PROFILE_ENV):
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    line = json.dumps({"t": time.time(), "pid": os.getpid(), "worker": worker, "kind": kind, **fields}) + "\n"
    with _lock:  # kernel-image's builds and the resolution's probes run in threads
        stream = _stream()
        if stream is not None:
            stream.write(line)


def process_started() -> float:
    """When this process was started (epoch seconds), interpreter start-up included.

    From its start in clock ticks since boot and the uptime now: the boot
    time of /proc/stat is rounded to whole seconds, the uptime is not.
    """
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time()


@dataclass
class PropertyCost:
    tests: int = 0
    seconds: float = 0.0
    tool_seconds: float = 0.0
    tool_runs: int = 0
    harness_cpu: float = 0.0


@dataclass
class Profile:
    """One run, read back from its event files."""

    wall: float
    workers: int
    startup: dict[str, float]
    resolution: dict[str, float]
    properties: dict[str, PropertyCost]
    slowest: list[tuple[float, str, str]]
    tool_seconds: float
    tool_runs: int
    idle: dict[str, float] = field(default_factory=dict)
    tool_cpu: float = 0.0
    harness_cpu: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"  wall {self.wall:.2f} s on {self.workers} test process(es); tool runs {self.tool_runs}, "
            f"{self.tool_seconds:.2f} s"
        ]
        out.append(
            "  start-up (process start -> configured): "
            + ", ".join(f"{who} {seconds:.2f} s" for who, seconds in self.startup.items())
        )
        if self.resolution:
            out.append(
                "  toolchain resolution: "
                + ", ".join(f"{who} {seconds:.2f} s" for who, seconds in self.resolution.items())
            )
        out.append(
            f"  CPU: tools {self.tool_cpu:.2f} s; harness (the pytest processes themselves) "
            + ", ".join(f"{who} {seconds:.2f} s" for who, seconds in self.harness_cpu.items())
        )
        out.append("  idle core-seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in self.idle.items()))
        out.append("  per property (tests, test seconds, of which in tools, the harness's own CPU):")
        for name, cost in sorted(self.properties.items(), key=lambda kv: -kv[1].seconds):
            out.append(
                f"    {name:<24} {cost.tests:3d}  {cost.seconds:6.2f} s  {cost.tool_seconds:6.2f} s "
                f"({cost.tool_runs} runs)  {cost.harness_cpu:5.2f} s"
            )
        out.append("  slowest tests:")
        out += [f"    {seconds:6.2f} s  {worker:<10} {nodeid}" for seconds, worker, nodeid in self.slowest]
        return out


def _events(folder: Path) -> list[dict]:
    events = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a killed process
    return sorted(events, key=lambda e: e["t"])


def profile_report(folder: Path, *, started: float, ended: float, top: int = 8) -> Profile:
    """Figures of one run: ``started``/``ended`` are the wall clock around the pytest command."""
    events = _events(folder)
    by_pid: dict[int, list[dict]] = defaultdict(list)
    for e in events:
        by_pid[e["pid"]].append(e)
    startup, resolution, harness_cpu = {}, {}, {}
    tests: list[dict] = [e for e in events if e["kind"] == "test"]
    test_pids = {e["pid"] for e in tests}
    for own in by_pid.values():
        who = own[0]["worker"]
        first: dict[str, dict] = {}
        for e in own:
            first.setdefault(e["kind"], e)
        if "configured" in first and "process" in first:
            startup[who] = first["configured"]["t"] - first["process"]["started"]
        if "finished" in first:
            harness_cpu[who] = first["finished"]["cpu"]
        if "resolved" in first:
            resolution[who] = first["resolved"]["seconds"]
    properties: dict[str, PropertyCost] = defaultdict(PropertyCost)
    runs = [e for e in events if e["kind"] == "run"]
    for test in tests:
        cost = properties[test["property"]]
        cost.tests += 1
        cost.seconds += test["end"] - test["start"]
        inside = [r for r in runs if r["pid"] == test["pid"] and test["start"] <= r["t"] <= test["end"]]
        cost.tool_seconds += sum(r["seconds"] for r in inside)
        cost.tool_runs += len(inside)
        cost.harness_cpu += test.get("harness_cpu", 0.0)
    wall = ended - started
    idle: dict[str, float] = {}
    for pid in sorted(test_pids):
        own = sorted((t for t in tests if t["pid"] == pid), key=lambda t: t["start"])
        who = own[0]["worker"]
        busy = sum(t["end"] - t["start"] for t in own)
        before, after = own[0]["start"] - started, ended - own[-1]["end"]
        idle[f"{who} before first test"] = before
        idle[f"{who} between tests"] = max(0.0, (own[-1]["end"] - own[0]["start"]) - busy)
        idle[f"{who} after last test"] = after
    slowest = sorted(((t["end"] - t["start"], t["worker"], t["nodeid"]) for t in tests), reverse=True)[:top]
    return Profile(
        wall=wall,
        workers=len(test_pids),
        startup=startup,
        resolution=resolution,
        properties=dict(properties),
        slowest=slowest,
        tool_seconds=sum(r["seconds"] for r in runs),
        tool_runs=len(runs),
        idle=idle,
        tool_cpu=sum(r.get("cpu", 0.0) for r in runs),
        harness_cpu=harness_cpu,
    )


def tool_seconds(folder: Path, kinds: Iterable[str] = ("run",)) -> tuple[float, int]:
    """Seconds and count of the external commands a profiled run ran."""
    runs = [e for e in _events(folder) if e["kind"] in kinds]
    return sum(r["seconds"] for r in runs), len(runs)
