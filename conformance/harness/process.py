"""Run one external command and keep everything a reproducer needs.

Every tool the suite drives goes through ``run``: argv lists (never a shell),
a hard timeout, ``LC_ALL=C`` so messages can be matched, and ``os.wait4`` so
the peak RSS of the whole process tree (lto1, ld, LTRANS children) is known.

No child outlives its step. Each step runs in its own session (process
group), registered while it runs; whatever ends the step early (a timeout,
SIGINT, SIGTERM, a pytest-timeout exception, a bug in the harness) kills the
whole group and waits until it is gone before the exception travels on, so
a lock held around the step is released only after its children died. The
group is also killed when the step ends normally (a background job left by a
tool). Every child carries ``LTO_CONFORMANCE_STEP=<session>/<worker>`` in its
environment, which lets the session that started it find and kill what a
hard-killed worker left behind (``sweep``); the RSS shim additionally kills
its group when the harness process dies under it. This process becomes a
child subreaper (Linux), so orphaned grandchildren are reaped here instead
of staying zombies under a PID 1 that never reaps.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from . import profile, verdict_cache

# The record of a finished command lives in step.py; callers keep importing it from here.
from .step import SCRATCH_ENV, Step, low_on_space

DEFAULT_TIMEOUT = 120.0
# The marker every child carries: "<session token>/<worker id>".
STEP_ENV = "LTO_CONFORMANCE_STEP"
# How long a killed step may take to disappear before we stop waiting.
KILL_GRACE = 5.0

# Linux carries a process's peak RSS across exec, so a child forked from a
# large pytest process reports at least pytest's size. A tiny interpreter
# (no site, a few MiB) forks the real command instead and reports the peak
# of its children alone through an inherited pipe. It is also the step's
# guardian: the harness holds the only read end of that pipe, so POLLERR on
# it means the harness died (SIGKILL, os._exit); the shim then kills its
# whole session, as it does on SIGTERM, SIGINT and SIGHUP.
RSS_SHIM = """\
import os, sys, resource, signal, select
fd = int(sys.argv[1])
os.set_inheritable(fd, False)
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        sys.stderr.write(f"{sys.argv[2]}: {exc.strerror}\\n")
        os._exit(127)
def stop(*_):
    os.killpg(0, signal.SIGKILL)
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, stop)
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)
signal.signal(signal.SIGCHLD, lambda *_: None)
poller = select.poll()
poller.register(fd, 0)
poller.register(wake_r, select.POLLIN)
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    for ready, events in poller.poll():
        if ready == fd and events & (select.POLLERR | select.POLLHUP):
            stop()
        elif ready == wake_r:
            os.read(wake_r, 512)
os.write(fd, str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss).encode())
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


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
    env[STEP_ENV] = step_marker()
    return env


# --------------------------------------------------------------------------- live steps

_session = uuid.uuid4().hex
_worker = "main"
_live: dict[int, int] = {}  # pgid -> pid of its leader, for every step running in this process
_live_lock = threading.Lock()
_started = 0  # commands this process has started (run): a warm run starts none (warm_run)
_started_lock = threading.Lock()


def commands_started() -> int:
    """How many commands ``run`` has started in this process, failed starts included."""
    return _started


_subreaper_tried = False


def set_session(token: str, worker: str = "main") -> None:
    """Tag every later child with this session (pytest: the controller's token and the xdist worker id)."""
    global _session, _worker
    _session, _worker = token, worker


def session_token() -> str:
    return _session


def step_marker() -> str:
    return f"{_session}/{_worker}"


def _become_subreaper() -> None:
    """Orphaned grandchildren become ours (and get reaped) instead of PID 1's; best effort, Linux only."""
    global _subreaper_tried
    if _subreaper_tried or not sys.platform.startswith("linux"):
        return
    _subreaper_tried = True
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _reap(pgid: int) -> None:
    """Collect exited children of this group (orphans reparented to us as subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-pgid, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _proc_stat(pid: str) -> tuple[str, int, int] | None:
    """(state, ppid, pgid) from /proc/PID/stat; None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def _group_alive(pgid: int) -> bool:
    """Any member of the group that is not a zombie (PID 1 may never reap those)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not Path("/proc/self/stat").exists():
        return True
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(entry)
            if stat is not None and stat[2] == pgid and stat[0] not in ("Z", "X"):
                return True
    return False


def kill_group(pgid: int, grace: float = KILL_GRACE) -> bool:
    """SIGKILL the whole group, reap what is ours, wait until nothing of it runs; True if gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while True:
        _reap(pgid)
        if not _group_alive(pgid):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def kill_all(grace: float = KILL_GRACE) -> None:
    """Kill every step this process is running (signal handlers, pytest-timeout's thread method)."""
    with _live_lock:
        groups = list(_live)
    for pgid in groups:
        kill_group(pgid, grace)


def signal_children(signum: int) -> None:
    """Pass a signal on to every direct child (the xdist workers): they stop their steps and end."""
    me = os.getpid()
    if not Path("/proc/self/stat").exists():
        return
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(entry)
            if stat is not None and stat[1] == me and stat[0] not in ("Z", "X"):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry), signum)


def _marked(pid: str, marker: bytes, exact: bool) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return any(item == marker if exact else item.startswith(marker) for item in environ.split(b"\0"))


def sweep(worker: str | None = None, grace: float = KILL_GRACE, patience: float = 0.0) -> list[int]:
    """Kill every live process that a step of this session (or of one worker) started; the pids.

    This reaches what a hard-killed xdist worker left behind: each such
    process still carries the session marker in its environment. With
    ``patience``, processes get that long to end by themselves first (their
    worker is stopping them).
    """
    if not Path("/proc/self/environ").exists():
        return []
    marker = f"{STEP_ENV}={_session}/{worker if worker is not None else ''}".encode()
    me = str(os.getpid())
    killed: list[int] = []
    waited_until = time.monotonic() + patience
    deadline = waited_until + grace
    while True:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and entry != me:
                stat = _proc_stat(entry)
                if stat is not None and stat[0] not in ("Z", "X") and _marked(entry, marker, worker is not None):
                    found.append((int(entry), stat[2]))
        if not found or time.monotonic() > deadline:
            return killed
        if time.monotonic() < waited_until:
            time.sleep(0.05)
            continue
        for pid, pgid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            _reap(pgid)
            killed.append(pid)
        time.sleep(0.01)


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
    global _started
    argv = tuple(str(a) for a in argv)
    with _started_lock:
        _started += 1
    extra = dict(env or {})
    measure_rss = measure_rss and os.environ.get("LTO_CONFORMANCE_MEASURE_RSS", "1") != "0"
    _become_subreaper()
    started = time.monotonic()
    report_read, report_write = os.pipe()
    spawned = (sys.executable, "-S", "-c", RSS_SHIM, str(report_write), *argv) if measure_rss else argv
    with _output_sink() as sink:
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
        verdict_cache.saw_program(argv[0], extra.get("PATH", os.environ.get("PATH")))
        os.close(report_write)
        pgid = proc.pid  # start_new_session: the leader's pid names the group
        with _live_lock:
            _live[pgid] = proc.pid
        timed_out = threading.Event()

        def kill_tree() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)

        # Nothing to feed or stream: wait on the process itself with the timeout. Otherwise
        # (or without pidfds) a timer thread ends the step while this thread reads or writes.
        exit_fd = _exit_fd(proc.pid) if on_line is None and stdin_data is None else None
        timer = threading.Timer(timeout, kill_tree) if exit_fd is None else None
        try:
            if timer is not None:
                timer.daemon = True
                timer.start()
            data = _communicate(proc, stdin_data, on_line, sink)
            if exit_fd is not None and not _exits_within(exit_fd, timeout):
                kill_tree()
            # Wait without reaping: the zombie leader keeps the group id ours while leftovers are killed.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            if timer is not None:
                timer.cancel()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            _, status, usage = os.wait4(proc.pid, 0)
            _reap(pgid)
        except BaseException:
            # SIGINT, SIGTERM, a pytest-timeout, a harness bug: nothing of the step may outlive it.
            if timer is not None:
                timer.cancel()
            kill_group(pgid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            os.close(report_read)
            raise
        finally:
            if exit_fd is not None:
                os.close(exit_fd)
            with _live_lock:
                _live.pop(pgid, None)
        proc.returncode = os.waitstatus_to_exitcode(status)
        with os.fdopen(report_read, "rb") as report:
            reported = report.read().strip()
        peak_kib = int(reported) if reported.isdigit() else int(usage.ru_maxrss)
        if on_line is None:
            sink.seek(0)
            data = sink.read()
    seconds = time.monotonic() - started
    profile.event("run", tool=Path(argv[0]).name, seconds=seconds, cpu=usage.ru_utime + usage.ru_stime)
    step = Step(
        argv=argv,
        cwd=cwd,
        returncode=proc.returncode,
        output=data.decode(errors="replace"),
        seconds=seconds,
        peak_rss_kib=peak_kib,
        env=extra,
        timed_out=timed_out.is_set(),
    )
    cause = step.environment_failure
    if cause is None and not step.ok:
        cause = low_on_space([cwd, step.temp_dir])
    if cause is not None:
        verdict_cache.saw_machine(f"{Path(argv[0]).name}: {cause}")
    return step


def _output_sink() -> BinaryIO:
    """Where a step's output goes: an anonymous in-memory file (Linux memfd), else a temporary file."""
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            return os.fdopen(os.memfd_create("lto-conformance-output", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()


def _exit_fd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits (Linux pidfd), or None where there is none.

    Waiting on it with a timeout replaces a timer thread per step, which cost
    about a third of a millisecond of CPU to start and stop.
    """
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


def _exits_within(exit_fd: int, timeout: float) -> bool:
    """Whether the process behind ``exit_fd`` exits within ``timeout`` seconds (signals interrupt the wait)."""
    poller = select.poll()
    poller.register(exit_fd, select.POLLIN)
    return bool(poller.poll(max(0, int(timeout * 1000))))


def _communicate(proc: subprocess.Popen, stdin_data: bytes | None, on_line, sink) -> bytes:
    """Feed stdin, stream output lines to ``on_line``; returns the output when streamed."""
    if stdin_data is not None:
        try:
            proc.stdin.write(stdin_data)  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            pass
    if on_line is None:
        return b""
    chunks: list[bytes] = []
    for raw in proc.stdout:  # type: ignore[union-attr]
        chunks.append(raw)
        on_line(raw.decode(errors="replace").rstrip("\n"))
    proc.stdout.close()  # type: ignore[union-attr]
    return b"".join(chunks)
