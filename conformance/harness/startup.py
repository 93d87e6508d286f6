"""Start-up checks of the places a run writes to: the cache and the report folder.

A run that can only find out at its end that ``--lto-report`` is a file or
a read-only mount, or an hour into a kernel build that the cache's disk is
full, has wasted the person's time. So both are checked before anything
runs: the report folder can be created and written, the cache can be
written and has room for what the selected tests will put there. Each
problem is a ``UsageError`` naming the option.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .process import run

MIB = 1 << 20
# What the fast properties leave in the cache per toolchain (measured: 5-25 MiB for a full run).
FAST_NEED = 32 * MIB
# One kernel build directory: tinyconfig (measured ~100-300 MiB) or a larger config.
KERNEL_BUILD_NEED = {"tinyconfig": 300 * MIB, "allnoconfig": 300 * MIB}
LARGE_KERNEL_BUILD_NEED = 3 << 30
# An unpacked linux-source tarball when its size cannot be read from it (6.12: 1.56 GB).
DEFAULT_TREE_NEED = 1700 * MIB


def human(size: int) -> str:
    return f"{size / (1 << 30):.1f} GiB" if size >= 1 << 30 else f"{size / MIB:.0f} MiB"


def _writable(folder: Path) -> str | None:
    """Why nothing can be written in folder, or None; tried for real (a read-only mount passes access())."""
    try:
        handle, name = tempfile.mkstemp(prefix=".lto-conformance-probe-", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(handle)
    os.unlink(name)
    return None


def _writable_folder(path: Path, shown: str, *, what: str, file_hint: str, write_where: str) -> Path:
    """``path`` is a folder, or can be made one, and takes files; each problem a UsageError naming ``shown``."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{shown}: is a file, not a folder{file_hint}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{shown}: cannot create the {what} ({exc.strerror})") from None
    why = _writable(path)
    if why:
        raise UsageError(f"{shown}: cannot write {write_where} ({why})")
    return path


def check_report_dir(value: str) -> Path:
    """``--lto-report DIR``: a folder that exists or can be created, and can be written."""
    return _writable_folder(
        Path(value).expanduser(),
        f"--lto-report {value}",
        what="folder",
        file_hint=" for results.json, report.md and report.html",
        write_where="there",
    )


def prepare_cache(path: Path, shown: str) -> Path:
    """Create the cache root and make sure it takes files; ``shown`` names where it came from."""
    return _writable_folder(path, shown, what="cache folder", file_hint="", write_where="to the cache")


def unpacked_size(tarball: Path) -> int:
    """How much a kernel tarball takes unpacked: xz records it at its end; else a guess from its size."""
    if tarball.name.endswith((".xz", ".txz")) and shutil.which("xz"):
        step = run(["xz", "--robot", "--list", str(tarball)], cwd=tarball.parent, timeout=30, measure_rss=False)
        for line in step.output.splitlines():
            fields = line.split("\t")
            if step.ok and fields[0] == "totals" and len(fields) > 4 and fields[4].isdigit():
                return int(fields[4])
    try:
        compressed = tarball.stat().st_size
    except OSError:
        return DEFAULT_TREE_NEED
    return compressed if tarball.name.endswith(".tar") else max(compressed * 7, DEFAULT_TREE_NEED)


@dataclass(frozen=True)
class Need:
    """What the selected tests will write into the cache, and why."""

    total: int
    parts: tuple[str, ...]


def cache_need(
    *,
    toolchains: int,
    kernel_params: Iterable[str],
    tree_to_unpack: Path | None,
    kernel_config: str | None,
) -> Need:
    """An estimate from the selection: the fast probes need little, each kernel build and the unpack a lot.

    ``kernel_params`` are the parameter ids of the selected kernel-build and
    kernel-boot tests (a boot reuses the build of the same id); each
    toolchain with kernel tests adds the non-LTO control build.
    """
    params = set(kernel_params)
    parts = [f"{human(FAST_NEED * toolchains)} for the probes"]
    total = FAST_NEED * toolchains
    if params:
        builds = len(params) + min(toolchains, len(params))
        each = KERNEL_BUILD_NEED.get(kernel_config or "tinyconfig", LARGE_KERNEL_BUILD_NEED)
        total += builds * each
        parts.append(f"{human(builds * each)} for {builds} kernel builds ({kernel_config or 'tinyconfig'})")
        if tree_to_unpack is not None:
            tree = unpacked_size(tree_to_unpack)
            total += tree
            parts.append(f"{human(tree)} to unpack {tree_to_unpack.name}")
    return Need(total, tuple(parts))


def check_cache_space(path: Path, shown: str, need: Need) -> None:
    try:
        free = shutil.disk_usage(path).free
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read its free space ({exc.strerror})") from None
    if free < need.total:
        kernel = len(need.parts) > 1
        raise UsageError(
            f"{shown}: {human(free)} free, the selected tests need about {human(need.total)} "
            f"({', '.join(need.parts)}); free some space or point --lto-cache elsewhere"
            + (", or leave the kernel out with -m 'not kernel'" if kernel else "")
        )
