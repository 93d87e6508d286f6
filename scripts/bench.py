#!/usr/bin/env python3
"""Measure what the suite costs: cold and warm runs, -n 1 vs -n 2, raw tool time.

The speed targets (cold <= 20 s, warm <= 3 s for one toolchain with -n 2)
are checked here, not by timed tests. Raw tool time is the sum of the
recorded durations of every step the cold run executed (each lands in the
step cache exactly once), so harness overhead = wall time - tool time / workers.

    python scripts/bench.py [--toolchain gcc] [--toolchain clang-19] [-m "not kernel"]
    python scripts/bench.py --image [--toolchain gcc] [--toolchain clang-19]

``--image`` measures kernel-image alone, one toolchain at a time: build and
boot cold (empty cache) and warm (everything cached but the boots), against
its targets of 15 s cold and 2 s warm per toolchain.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conformance.harness.profile import PROFILE_ENV, profile_report, tool_seconds
from conformance.harness.schedule import HISTORY, SHIPPED

ROOT = Path(__file__).resolve().parent.parent
# Like the README's main command: Debian 12's known defects are expected failures, not noise in the figures.
KNOWN = ("--known-failures", str(ROOT / "known-failures" / "debian-12.toml"))


def run(args: list[str], cache: Path, profile_dir: Path | None = None) -> tuple[float, float, float]:
    """One pytest run: (elapsed, started, ended), wall clock, with its summary line printed."""
    env = {**os.environ, "LTO_CONFORMANCE_CACHE": str(cache)}
    # Python's default: bytecode is cached. Without it every process compiles the suite again
    # (about 0.15 s each), which is the interpreter's cost, not the suite's.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if profile_dir is not None:
        env[PROFILE_ENV] = str(profile_dir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started_wall, started = time.time(), time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "conformance/", "-q", "-p", "no:cacheprovider", *KNOWN, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-300:]
    load = os.getloadavg()[0]
    print(f"  {elapsed:6.2f} s  ({cpu:.2f} s CPU, load {load:.1f})  pytest {' '.join(args)}\n           {last}")
    return elapsed, started_wall, started_wall + elapsed


def step_seconds(cache: Path) -> tuple[float, int]:
    """The recorded durations of the cached steps (each lands in the step cache once)."""
    total, count = 0.0, 0
    for record in cache.glob("steps/*/*/step.json"):
        total += json.loads(record.read_text())["seconds"]
        count += 1
    return total, count


def write_expected(measured: Path) -> None:
    """The largest cold duration of each property/case, over the toolchains benched so far."""
    shipped = json.loads(SHIPPED.read_text()) if SHIPPED.is_file() else {}
    for key, seconds in json.loads(measured.read_text()).items():
        shipped[key] = round(max(seconds, shipped.get(key, 0.0)), 2)
    SHIPPED.write_text(json.dumps(dict(sorted(shipped.items())), indent=1) + "\n")
    print(f"wrote {SHIPPED.relative_to(ROOT)} ({len(shipped)} cases)")


def bench_image(toolchains: list[str]) -> None:
    """kernel-image per toolchain: the wall time of pytest, and the tool time of the cold build."""
    verdict = {True: "ok", False: "MISSED"}
    for name in toolchains or [""]:
        label = name or "default toolchain"
        with tempfile.TemporaryDirectory(prefix="lto-bench-image-") as tmp:
            cache = Path(tmp)
            args = ["-k", "kernel_image and multiboot", *([f"--toolchain={name}"] if name else [])]
            print(f"{label}, cold:")
            cold = run(args, cache)[0]
            raw, steps = step_seconds(cache)
            print(f"{label}, warm:")
            warm = run(args, cache)[0]
        print(f"  tool time (cold, {steps} steps): {raw:.2f} s")
        print(f"  targets: cold <= 15 s: {verdict[cold <= 15]}; warm <= 2 s: {verdict[warm <= 2]}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toolchain", action="append", default=[])
    parser.add_argument("-m", dest="marker", default="not kernel")
    parser.add_argument("--image", action="store_true", help="measure kernel-image alone, per toolchain")
    parser.add_argument(
        "--profile", action="store_true", help="also show where the time of the cold and warm -n 2 runs goes"
    )
    parser.add_argument(
        "--write-expected",
        action="store_true",
        help=f"fold the cold -n 1 durations into {SHIPPED.relative_to(ROOT)} (the order of a first run)",
    )
    opts = parser.parse_args()
    if opts.image:
        bench_image(opts.toolchain)
        return
    common = ["-m", opts.marker, *(f"--toolchain={t}" for t in opts.toolchain)]
    with tempfile.TemporaryDirectory(prefix="lto-bench-") as tmp:
        one, two, events = Path(tmp) / "n1", Path(tmp) / "n2", Path(tmp) / "events"
        print("cold, -n 1:")
        cold1 = run([*common, "-n", "1"], one, events / "cold-n1")[0]
        print("cold, -n 2:")
        cold2, *cold2_span = run([*common, "-n", "2"], two, events / "cold-n2")
        print("warm, -n 2:")
        warm2, *warm2_span = run([*common, "-n", "2"], two, events / "warm-n2")
        print("warm, no xdist:")
        warm0 = run(common, two)[0]
        cached, steps = step_seconds(one)
        if opts.write_expected:
            write_expected(one / HISTORY)
        raw, runs = tool_seconds(events / "cold-n1")
        if opts.profile:
            for title, name, span in (("cold -n 2", "cold-n2", cold2_span), ("warm -n 2", "warm-n2", warm2_span)):
                print(f"\nprofile, {title}:")
                started, ended = span
                print("\n".join(profile_report(events / name, started=started, ended=ended).lines()))
    print(
        f"\nraw tool time (cold -n 1): {raw:.2f} s in {runs} tool runs ({cached:.2f} s of it in {steps} cached steps)"
    )
    print(f"cold -n 1 {cold1:.2f} s | cold -n 2 {cold2:.2f} s | warm -n 2 {warm2:.2f} s | warm -n 0 {warm0:.2f} s")
    print(f"cold -n 2 / (raw / 2) = {cold2 / (raw / 2):.2f} | cold -n 1 / raw = {cold1 / raw:.2f}")
    verdict = {True: "ok", False: "MISSED"}
    print(
        f"targets: cold -n 2 <= 1.15 x raw/2 ({1.15 * raw / 2:.1f} s): {verdict[cold2 <= 1.15 * raw / 2]}; "
        f"warm -n 2 <= 1.2 s: {verdict[warm2 <= 1.2]}; "
        f"cold -n 1 <= 1.1 x raw ({1.1 * raw:.1f} s): {verdict[cold1 <= 1.1 * raw]}; "
        f"cold -n 2 <= 20 s: {verdict[cold2 <= 20]}; warm -n 2 <= 3 s: {verdict[warm2 <= 3]}"
    )


if __name__ == "__main__":
    main()
