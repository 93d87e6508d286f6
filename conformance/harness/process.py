"""Run one external command and keep everything a reproducer needs.

Every tool the suite drives goes through ``run``: argv lists (never a shell),
a hard timeout, ``LC_ALL=C`` so messages can be matched, and ``os.wait4`` so
the peak RSS of the whole process tree (lto1, ld, LTRANS children) is known.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 120.0
# Where children put their temporaries (TMPDIR) unless a caller sets TMPDIR itself:
# the pytest layer points it into the suite's cache so no file lands elsewhere.
SCRATCH_ENV = "LTO_CONFORMANCE_SCRATCH"

# Linux carries a process's peak RSS across exec, so a child forked from a
# large pytest process reports at least pytest's size. A tiny interpreter
# (no site, a few MiB) forks the real command instead and reports the peak
# of its children alone through an inherited pipe.
RSS_SHIM = """\
import os, sys, resource, signal
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        sys.stderr.write(f"{sys.argv[2]}: {exc.strerror}\\n")
        os._exit(127)
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
_, status = os.waitpid(pid, 0)
os.write(fd, str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss).encode())
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


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

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def shell(self) -> str:
        """The command as a person would type it (``$ VAR=x tool args``)."""
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        command = shlex.join(self.argv)
        return f"$ {prefix + ' ' if prefix else ''}{command}"

    def describe_failure(self) -> str:
        """A short account of a failed step, output tail included."""
        why = f"timed out after {self.seconds:.0f} s" if self.timed_out else f"exit {self.returncode}"
        tail = "\n".join(self.output.strip().splitlines()[-15:])
        return f"{self.shell()}\n  -> {why}\n{_indent(tail)}" if tail else f"{self.shell()}\n  -> {why}"


def _indent(text: str, prefix: str = "     ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for every child: the caller's, with C messages."""
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    scratch = env.get(SCRATCH_ENV)
    if scratch:
        env["TMPDIR"] = scratch
    if extra:
        env.update(extra)
    return env


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    on_line: Callable[[str], None] | None = None,
    stdin_data: bytes | None = None,
    measure_rss: bool = True,
) -> Step:
    """Run argv in cwd and return the Step; never raises for a failing tool.

    A missing executable is reported as exit 127 like a shell would, so a
    caller handles every outcome through ``Step.ok``. ``on_line`` sees each
    output line as it arrives (progress for long builds). ``measure_rss=False``
    skips the RSS shim (about 15 ms) where memory is not a figure anyone reads;
    ``LTO_CONFORMANCE_MEASURE_RSS=0`` skips it everywhere (the self-tests do).
    """
    argv = tuple(str(a) for a in argv)
    extra = dict(env or {})
    measure_rss = measure_rss and os.environ.get("LTO_CONFORMANCE_MEASURE_RSS", "1") != "0"
    started = time.monotonic()
    report_read, report_write = os.pipe()
    spawned = (sys.executable, "-S", "-c", RSS_SHIM, str(report_write), *argv) if measure_rss else argv
    with tempfile.TemporaryFile() as sink:
        try:
            proc = subprocess.Popen(
                spawned,
                pass_fds=(report_write,) if measure_rss else (),
                cwd=cwd,
                env=child_env(extra),
                stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE if on_line else sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            os.close(report_read)
            os.close(report_write)
            return Step(argv, cwd, 127, f"{argv[0]}: {exc.strerror}", 0.0, 0, extra)
        os.close(report_write)
        timed_out = threading.Event()

        def kill_tree() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill_tree)
        timer.daemon = True
        timer.start()
        if stdin_data is not None:
            try:
                proc.stdin.write(stdin_data)  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
            except BrokenPipeError:
                pass
        if on_line is not None:
            chunks: list[bytes] = []
            for raw in proc.stdout:  # type: ignore[union-attr]
                chunks.append(raw)
                on_line(raw.decode(errors="replace").rstrip("\n"))
            proc.stdout.close()  # type: ignore[union-attr]
            data = b"".join(chunks)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        timer.cancel()
        with os.fdopen(report_read, "rb") as report:
            reported = report.read().strip()
        peak_kib = int(reported) if reported.isdigit() else int(usage.ru_maxrss)
        if on_line is None:
            sink.seek(0)
            data = sink.read()
    seconds = time.monotonic() - started
    return Step(
        argv=argv,
        cwd=cwd,
        returncode=proc.returncode,
        output=data.decode(errors="replace"),
        seconds=seconds,
        peak_rss_kib=peak_kib,
        env=extra,
        timed_out=timed_out.is_set(),
    )
