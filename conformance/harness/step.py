"""One finished command, and what its failure says: the toolchain's doing or the machine's.

``process.run`` returns a ``Step``: the argv, folder, exit code, output,
time and peak RSS, for reproducers and the step cache. A failure that the
machine caused (a timeout, a signal, "No space left on device", a nearly
full filesystem where GNU ld says only "could not close arguments file")
is told apart here, so that neither the step cache nor the verdict cache
keeps it.
"""

from __future__ import annotations

import errno
import os
import shlex
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Where children put their temporaries (TMPDIR) unless a caller sets TMPDIR itself:
# the pytest layer points it into the suite's cache so no file lands elsewhere.
SCRATCH_ENV = "LTO_CONFORMANCE_SCRATCH"

# What a failing step's output says when the machine, not the toolchain, failed.
ENVIRONMENT_ERRORS = tuple(
    os.strerror(code) for code in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM)
)


@dataclass(frozen=True)
class Step:
    """One finished command: what ran, where, and how it went."""

    argv: tuple[str, ...]
    cwd: Path
    returncode: int
    output: str
    seconds: float
    peak_rss_kib: int
    env: Mapping[str, str] = field(default_factory=dict)
    timed_out: bool = False
    cached: bool = False
    # A file the command names as its output (``-o X``, an archive) that is not there after exit 0.
    missing_output: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.missing_output

    def shell(self) -> str:
        """The command as a person would type it (``$ VAR=x tool args``)."""
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        command = shlex.join(self.argv)
        return f"$ {prefix + ' ' if prefix else ''}{command}"

    @property
    def temp_dir(self) -> Path | None:
        """Where its temporaries went: the TMPDIR it was given, else the suite's scratch folder."""
        folder = self.env.get("TMPDIR") or os.environ.get(SCRATCH_ENV)
        return Path(folder) if folder else None

    @property
    def signalled(self) -> bool:
        """Killed by a signal: negative without the shim, 128+N through it (as a shell reports)."""
        return self.returncode < 0 or 128 < self.returncode <= 128 + 64

    @property
    def environment_failure(self) -> str | None:
        """Why this failure says something about the machine, not the toolchain (never cached)."""
        if self.ok:
            return None
        if self.timed_out:
            return "timed out"
        if self.missing_output and self.returncode == 0:
            return None
        if self.signalled:
            number = -self.returncode if self.returncode < 0 else self.returncode - 128
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            return f"killed by {name}"
        return next((text for text in ENVIRONMENT_ERRORS if text in self.output), None)

    def describe_failure(self) -> str:
        """A short account of a failed step, output tail included."""
        why = f"timed out after {self.seconds:.0f} s" if self.timed_out else f"exit {self.returncode}"
        if self.missing_output and not self.timed_out and self.returncode == 0:
            why = f"{Path(self.argv[0]).name} exited 0 but wrote no {output_kind(self.missing_output)}"
        cause = self.environment_failure
        if cause and not self.timed_out:
            why += f" ({cause}: the environment, not the toolchain; not cached)"
        tail = "\n".join(self.output.strip().splitlines()[-15:])
        return f"{self.shell()}\n  -> {why}\n{_indent(tail)}" if tail else f"{self.shell()}\n  -> {why}"


def low_on_space(paths: Iterable[Path | None]) -> str | None:
    """A filesystem the step wrote to is (nearly) full: its failure may be the disk's, not the tool's.

    Tools do not always say so: with a full TMPDIR, GNU ld reports only
    "could not close arguments file". Nearly full means less than 1 % of the
    filesystem (at least 8 MiB, at most 256 MiB) or under 100 inodes free.
    """
    for path in paths:
        if path is None:
            continue
        try:
            st = os.statvfs(path)
        except OSError:
            continue
        free, size = st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
        floor = max(8 << 20, min(256 << 20, size // 100))
        if free < floor or (st.f_files and st.f_favail < 100):
            return f"{path} has {free >> 20} MiB free"
    return None


def output_kind(name: str) -> str:
    """How a person calls the file a step should have written: ``archive libprobe.a``."""
    kind = {".a": "archive", ".o": "object", ".so": "shared library"}.get(Path(name).suffix, "output")
    return f"{kind} {name}"


def _indent(text: str, prefix: str = "     ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
