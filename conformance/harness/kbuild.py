"""Drive kbuild: configure, verify, build, inspect, and keep the record.

A build runs make with the variables of ``kbuild_variables``: it
configures (the config target plus the options a boot needs and the LTO
choice), verifies that olddefconfig kept the LTO option (Kconfig drops it
silently when a toolchain probe fails, and ``kconfig`` says which),
builds vmlinux and the boot image with live progress, and records every
make step (reproducer, time, peak RSS) and what the output shows
(``kernel_proofs``). A failure carries the hints of ``kbuild_hints``.
Finished builds are cached by everything that decides their output.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import kbuild_hints
from .kbuild_variables import BOOT_IMAGE, jobs_argument, make_variables, source_arch
from .kconfig import KconfigIndex, LtoChoice, edit_config, explain_dropped, lto_choice, read_config, read_kconfig
from .kernel_proofs import SymbolStats, count_objects, symbol_stats
from .kernel_source import ConfigSpec, KernelSource, Progress, digest, file_lock, slug, write_json_atomic
from .process import Step, run
from .toolchain import Toolchain

LTO_MODES = ("thin", "full")
LTO_OPTIONS = ("LTO_NONE", "LTO_CLANG_THIN", "LTO_CLANG_FULL", "LTO_GCC", "LTO_MENU")
BOOT_OPTIONS = ("64BIT", "PRINTK", "TTY", "SERIAL_8250", "SERIAL_8250_CONSOLE", "BLK_DEV_INITRD", "BINFMT_ELF")
CONFIG_TIMEOUT = 600.0
BUILD_TIMEOUT = 4 * 3600.0
PROGRESS_INTERVAL = 10.0
RESULT_FILE = "lto-conformance-result.json"
RESULT_FORMAT = "2"  # bump when KernelBuild gains a figure older records lack

# --------------------------------------------------------------------------- build


@dataclass
class StepRecord:
    """A finished make step as stored in the result JSON (reproducer + cost)."""

    command: str
    seconds: float
    peak_rss_kib: int
    returncode: int
    timed_out: bool = False

    @classmethod
    def of(cls, step: Step) -> StepRecord:
        return cls(step.shell(), round(step.seconds, 3), step.peak_rss_kib, step.returncode, step.timed_out)


@dataclass
class KernelBuild:
    """The outcome of configuring and building one kernel; serialised as the cache marker."""

    ok: bool
    stage: str
    mode: str
    toolchain: str
    config_name: str
    out_dir: str
    source: str
    message: str = ""
    option: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    dropped_boot_options: list[str] = field(default_factory=list)
    bitcode_objects: int = 0
    gcc_ir_objects: int = 0
    elf_objects: int = 0
    initcalls_lds: bool = False
    symbols: SymbolStats | None = None
    harness_seconds: float = 0.0
    image: str = ""
    cached: bool = False
    # make ran in a build directory left by an earlier, unfinished or incremental build:
    # its times and peak RSS cover only the part built this time, so they are no build cost.
    resumed: bool = False

    @property
    def make_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def build_seconds(self) -> float:
        """The compile+link step alone (the figure DESIGN.md compares)."""
        return self.steps[-1].seconds if self.steps and self.stage != "config" else 0.0

    @property
    def peak_rss_mib(self) -> float:
        return max((s.peak_rss_kib for s in self.steps), default=0) / 1024

    @property
    def overhead_pct(self) -> float:
        """What the harness adds on top of make (inspection, config edits, bookkeeping)."""
        make = self.make_seconds
        return 100.0 * (self.harness_seconds - make) / make if make else 0.0

    @property
    def reproducer(self) -> str:
        return "\n".join(s.command for s in self.steps)

    @property
    def vmlinux(self) -> Path:
        return Path(self.out_dir) / "vmlinux"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> KernelBuild:
        data = dict(data)
        data["steps"] = [StepRecord(**s) for s in data.get("steps", [])]
        if data.get("symbols") is not None:
            data["symbols"] = SymbolStats(**data["symbols"])
        return cls(**data)


class _ProgressFilter:
    """Turn kbuild's line stream into at most one progress line every few seconds."""

    def __init__(
        self, on_progress: Progress | None, what: str, interval: float = PROGRESS_INTERVAL, out: Path | None = None
    ) -> None:
        self.on_progress = on_progress
        self.out_prefix = f"{out}/" if out else None
        self.what = what
        self.interval = interval
        self.count = 0
        self.last_emit = time.monotonic()
        self.started = self.last_emit

    def __call__(self, line: str) -> None:
        if not line.startswith("  ") or len(line) < 10 or line[2] == " ":
            return
        self.count += 1
        if self.on_progress is None:
            return
        now = time.monotonic()
        if now - self.last_emit >= self.interval:
            self.last_emit = now
            step = line.strip().replace(self.out_prefix, "") if self.out_prefix else line.strip()
            self.on_progress(f"{self.what}: {now - self.started:4.0f} s, {self.count} steps, now {step}")


@dataclass(frozen=True)
class BuildRequest:
    """Everything that decides a build's output, hence its cache key."""

    source: KernelSource
    config: ConfigSpec
    toolchain: Toolchain
    mode: str

    @property
    def variables(self) -> dict[str, str]:
        return make_variables(self.toolchain)

    @property
    def key(self) -> str:
        return digest(
            RESULT_FORMAT,
            self.source.identity,
            self.config.identity,
            self.toolchain.identity,
            self.mode,
            json.dumps(self.variables, sort_keys=True),
            " ".join(BOOT_OPTIONS),
        )

    def out_dir(self, cache: Path) -> Path:
        return (
            cache / "kernel" / "build" / f"{slug(self.toolchain.label)}-{slug(self.config.name)}-{self.mode}-{self.key}"
        )


def _make(
    req: BuildRequest, out: Path, targets: Sequence[str], *, jobs: bool, on_line=None, timeout: float = CONFIG_TIMEOUT
) -> Step:
    variables = [f"{k}={v}" for k, v in req.variables.items()]
    argv = ["make", "-C", str(req.source.root), f"O={out}", *variables, *(jobs_argument() if jobs else []), *targets]
    return run(argv, cwd=out, timeout=timeout, on_line=on_line)


def build_kernel(
    req: BuildRequest,
    cache: Path,
    *,
    on_progress: Progress | None = None,
    build_timeout: float = BUILD_TIMEOUT,
) -> KernelBuild:
    """Configure, verify, build and inspect, or return the finished build from the cache.

    One lock per build directory: a parallel worker asking for the same
    build (the shared non-LTO baseline) waits and then reuses the result.
    Only successful builds of an unpacked tarball are reused as they are: a
    tree given as a directory may have been edited, so make runs again (an
    incremental no-op when nothing changed). A failure is retried next time.
    """
    index = read_kconfig(req.source.root, source_arch(req.variables["ARCH"]))
    choice = lto_choice(req.toolchain.family, req.mode, index)
    out = req.out_dir(cache)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / RESULT_FILE

    def waiting() -> None:
        if on_progress:
            on_progress(f"waiting for another worker building {out.name}")

    with file_lock(out.parent / f"{out.name}.lock", waiting):
        if marker.is_file():
            try:
                cached = KernelBuild.from_json(json.loads(marker.read_text()))
            except (ValueError, TypeError, KeyError):
                cached = None
            reusable = cached is not None and cached.ok and Path(cached.out_dir, "vmlinux").is_file()
            if reusable and req.source.immutable:
                cached.cached = True
                return cached
            marker.unlink()
        resumed = any(out.iterdir())
        started = time.monotonic()
        result = _configure_and_build(req, index, choice, out, on_progress, build_timeout)
        result.harness_seconds = round(time.monotonic() - started, 3)
        result.resumed = resumed
        if result.ok:
            write_json_atomic(marker, result.to_json())
        return result


def lto_kept(choice: LtoChoice, final: Mapping[str, str]) -> bool:
    """Whether the final .config has the LTO choice asked for (for ``none``: no LTO at all)."""
    on = {s for s in LTO_OPTIONS if final.get(s) == "y"}
    if "LTO_MENU" in on and final.get("LTO_DISABLE") == "y":
        on.discard("LTO_MENU")
    if not choice.is_lto:
        return not on - {"LTO_NONE"}
    return choice.required in on


def _configure_and_build(
    req: BuildRequest,
    index: KconfigIndex,
    choice: LtoChoice,
    out: Path,
    on_progress: Progress | None,
    build_timeout: float,
) -> KernelBuild:
    tc = req.toolchain
    arch = req.variables["ARCH"]
    result = KernelBuild(
        ok=False,
        stage="config",
        mode=req.mode,
        toolchain=tc.full_id,
        config_name=req.config.name,
        out_dir=str(out),
        source=req.source.origin,
        option="CONFIG_" + choice.required,
    )
    say = (lambda msg: on_progress(msg)) if on_progress else (lambda msg: None)
    dot_config = out / ".config"
    if req.config.target:
        say(f"configuring {req.config.target} ({req.mode}) in {out}")
        step = _make(req, out, [req.config.target], jobs=False)
        result.steps.append(StepRecord.of(step))
        if not step.ok:
            result.message = f"make {req.config.target} failed\n{step.describe_failure()}"
            return result
    else:
        assert req.config.path is not None
        shutil.copyfile(req.config.path, dot_config)
    edit_config(dot_config, [*BOOT_OPTIONS, *choice.enable], choice.disable)
    step = _make(req, out, ["olddefconfig"], jobs=False)
    result.steps.append(StepRecord.of(step))
    if not step.ok:
        result.message = f"make olddefconfig failed\n{step.describe_failure()}"
        return result
    final = read_config(dot_config)
    result.dropped_boot_options = [s for s in BOOT_OPTIONS if final.get(s, "n") == "n"]
    if not lto_kept(choice, final):
        failed = explain_dropped(choice.required, final, index)
        hints = kbuild_hints.explain("config", "\n".join(failed), config=final, variables=req.variables, tc=tc)
        lto_now = [f"CONFIG_{s}=y" for s in LTO_OPTIONS if final.get(s) == "y"]
        result.message = "\n".join(
            [
                f"Kconfig dropped CONFIG_{choice.required} during olddefconfig "
                f"(final .config has {', '.join(lto_now) or 'no LTO choice'})",
                *(f"  unmet: {r}" for r in failed or ["(no failing `depends on` found in the tree's Kconfig)"]),
                *(f"  hint:  {h}" for h in hints),
            ]
        )
        return result
    result.stage = "build"
    image = BOOT_IMAGE.get(source_arch(arch))
    targets = ["vmlinux", *([Path(image).name] if image else [])]
    progress = _ProgressFilter(on_progress, f"make {' '.join(targets)}", out=out)
    say(f"building {' '.join(targets)} ({req.mode}) in {out}")
    step = _make(req, out, targets, jobs=True, on_line=progress, timeout=build_timeout)
    result.steps.append(StepRecord.of(step))
    say(f"make {' '.join(targets)} ({req.mode}) finished in {step.seconds:.0f} s after {progress.count} steps")
    if not step.ok:
        hints = kbuild_hints.explain("build", step.output, config=final, variables=req.variables, tc=tc)
        result.message = "\n".join(
            [f"kernel build failed\n{step.describe_failure()}", *(f"  hint:  {h}" for h in hints)]
        )
        return result
    if not result.vmlinux.is_file():
        result.message = f"make finished but {result.vmlinux} does not exist"
        return result
    result.image = str(out / image) if image and (out / image).is_file() else ""
    counts = count_objects(out)
    result.bitcode_objects, result.gcc_ir_objects, result.elf_objects = counts.bitcode, counts.gcc_ir, counts.elf
    result.initcalls_lds = (out / ".tmp_initcalls.lds").is_file()
    result.symbols = symbol_stats(result.vmlinux)
    result.stage = "done"
    result.ok = True
    return result
