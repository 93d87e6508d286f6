"""A real pytest run of the kernel tests, interrupted: nothing of it may be alive 5 s later.

The run uses the fake kernel tree and fake tools that hang in one phase:
``tar`` (the unpack, with an ``xz`` child), ``make`` (configuring), the
kernel link (make's children ``ld.lld`` and ``objtool``) and the boot
(``qemu-system-x86_64``). Once the phase is reached the run gets SIGINT,
SIGTERM, or hits ``--timeout``; every process that carries the run's marker
(pytest, its workers, every tool) must be gone within 5 s, and the run must
have written nothing outside pytest's tmp dir and the cache.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from tests.kernel_fakes import FAKE_TREE
from tests.test_step_lifetime import alive_with, gone_within

ROOT = Path(__file__).resolve().parent.parent
CLANG = shutil.which("clang-19") or shutil.which("clang")

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
    pytest.mark.skipif(CLANG is None or shutil.which("make") is None, reason="needs clang and make"),
]

# One script stands in for every hanging tool; argv[0] says which one it is.
FAKE_TOOL = """\
import os, shutil, subprocess, sys, time
from pathlib import Path
name = Path(sys.argv[0]).name
phase = os.environ["G_HANG_PHASE"]
started = Path(os.environ["G_HANG_STARTED"])
path = [d for d in os.environ["PATH"].split(os.pathsep) if d != str(Path(sys.argv[0]).parent)]
real = shutil.which(name, path=os.pathsep.join(path))

def hang(*children):
    for child in children:  # named after the tool they play: xz under tar, ld.lld and objtool under make
        subprocess.Popen(child, executable=shutil.which("sleep") if child[0] != "sh" else None)
    started.write_text(name)
    while True:
        time.sleep(1)

args = sys.argv[1:]
if name == "tar" and phase == "unpack":
    hang(["xz", "301"], ["sh", "-c", "sleep 302 & wait"])
if name == "make" and phase == "make" and "olddefconfig" in args:
    hang(["sh", "-c", "sleep 303"])
if name == "make" and phase == "link" and "vmlinux" in args:
    hang(["ld.lld", "304"], ["sh", "-c", "sleep 305 & wait"])
if name == "qemu-system-x86_64" and phase == "boot":
    hang(["sleep", "306"])
os.execv(real, [real, *args])
"""

PHASES = {
    "unpack": ["-k", "kernel_build and thin"],
    "make": ["-k", "kernel_build and thin"],
    "link": ["-k", "kernel_build and thin"],
    "boot": ["-k", "kernel_boot and thin"],
}


def fake_bin(folder: Path) -> Path:
    """The tools as symlinks to one script, so its argv[0] names the tool it plays."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "fake_tool.py"
    script.write_text(f"#!{sys.executable} -SE\n" + FAKE_TOOL)
    script.chmod(0o755)
    for name in ("tar", "make", "qemu-system-x86_64"):
        (folder / name).symlink_to(script)
    return folder


def tree_files() -> set[str]:
    """The working tree's files, bytecode and the git dir aside (other runs may write those)."""
    out = set()
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in (".git", ".venv") or "__pycache__" in parts or parts[0].startswith(".cache"):
            continue
        out.add(str(path.relative_to(ROOT)))
    return out


def start_run(
    phase: str, tmp_path: Path, marker: str, *extra: str, measure_rss: bool = False, may_miss: bool = False
) -> tuple[subprocess.Popen, Path] | None:
    """The run, once its fake tool hangs in ``phase``; with ``may_miss``, None if the run ended before."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    started = tmp_path / "started"
    user_tmp = tmp_path / "user-tmp"
    user_tmp.mkdir()
    kernel_src = FAKE_TREE
    if phase == "unpack":
        kernel_src = tmp_path / "linux-source-9.9.tar"
        with tarfile.open(kernel_src, "w") as tar:
            tar.add(FAKE_TREE, arcname="linux-source-9.9")
    env = {
        **os.environ,
        "PATH": f"{fake_bin(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}",
        "G_HANG_PHASE": phase,
        "G_HANG_STARTED": str(started),
        "G_RUN_MARKER": marker,
        "TMPDIR": str(user_tmp),
        "LTO_CONFORMANCE_CACHE": str(tmp_path / "cache"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LC_ALL": "C",
        "LTO_CONFORMANCE_MEASURE_RSS": "1" if measure_rss else "0",  # with and without the RSS shim
    }
    env.pop("CC", None)
    env.pop("PYTEST_TIMEOUT", None)
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "conformance/", "-m", "kernel", "-q"]
    argv += [*PHASES[phase], "--cc", str(CLANG), "--fuse-ld", "lld", "--kernel-src", str(kernel_src), *extra]
    log = open(tmp_path / "run.log", "w")  # noqa: SIM115 - closed by the caller's wait
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while not started.exists():
        if may_miss and proc.poll() is not None:
            return None
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run never reached the {phase} phase:\n{(tmp_path / 'run.log').read_text()[-3000:]}")
        time.sleep(0.1)
    time.sleep(0.5)  # let every child of the hanging tool start
    return proc, user_tmp


def is_pytest(pid: int) -> bool:
    """The run's own interpreters: the pytest controller and its xdist workers."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"pytest" in argv or any(a.startswith(b"import sys;exec(eval(") for a in argv)


def describe(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        with contextlib.suppress(OSError):
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return out


def finish(proc: subprocess.Popen, marker: str, tmp_path: Path, user_tmp: Path, before: set[str]) -> str:
    """Every tool of the run is gone within 5 s; pytest itself ends soon after (it still writes its summary)."""
    deadline = time.monotonic() + 5.0
    tools = [p for p in alive_with(marker) if not is_pytest(p)]
    while tools and time.monotonic() < deadline:
        time.sleep(0.05)
        tools = [p for p in alive_with(marker) if not is_pytest(p)]
    everything = tools or gone_within(marker, 60.0)
    log = (tmp_path / "run.log").read_text()
    if everything:
        details = describe(everything)
        for pid in everything:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pytest.fail(f"still alive: {details}\n{log[-3000:]}")
    proc.wait(timeout=30)
    assert [p.name for p in user_tmp.iterdir() if not p.name.startswith("pytest-of-")] == []
    assert tree_files() == before, "the run wrote into the working tree"
    assert "Traceback (most recent call last)" not in log, log[-3000:]
    return log


@pytest.fixture
def marker() -> str:
    return f"G_RUN_{uuid.uuid4().hex}"


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_leaves_nothing_running(phase: str, signum: int, marker: str, tmp_path: Path) -> None:
    before = tree_files()
    proc, user_tmp = start_run(phase, tmp_path, marker)
    assert alive_with(marker)
    proc.send_signal(signum)
    log = finish(proc, marker, tmp_path, user_tmp, before)
    assert proc.returncode == 2, log[-3000:]  # pytest's "interrupted"
    assert "KeyboardInterrupt" in log


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_pytest_timeout_leaves_nothing_running(phase: str, marker: str, tmp_path: Path) -> None:
    before = tree_files()
    proc, user_tmp, workdir = start_timed_run(phase, tmp_path, marker)
    log = finish(proc, marker, workdir, user_tmp, before)
    assert proc.returncode == 1 and "Timeout" in log, log[-3000:]


def start_timed_run(phase: str, tmp_path: Path, marker: str, *extra: str) -> tuple[subprocess.Popen, Path, Path]:
    """A --timeout that expires in the phase: on a loaded machine reaching it may take longer, so grow it."""
    for seconds in (15, 45, 120):
        workdir = tmp_path / f"timeout-{seconds}"
        started = start_run(phase, workdir, marker, "--timeout", str(seconds), *extra, may_miss=True)
        if started is not None:
            proc, user_tmp = started
            proc.wait(timeout=seconds + 90)  # the timeout fails the test; the run then ends by itself
            return proc, user_tmp, workdir
    pytest.fail(f"the {phase} phase was never reached within 120 s")


def test_sigterm_to_the_xdist_controller_stops_every_worker(marker: str, tmp_path: Path) -> None:
    before = tree_files()
    proc, user_tmp = start_run("link", tmp_path, marker, "-n", "2", measure_rss=True)
    proc.send_signal(signal.SIGTERM)
    finish(proc, marker, tmp_path, user_tmp, before)


def test_the_thread_timeout_method_kills_the_steps_before_os_exit(marker: str, tmp_path: Path) -> None:
    """pytest-timeout's thread method ends the process with os._exit: no handler or finally runs."""
    before = tree_files()
    proc, user_tmp, workdir = start_timed_run("link", tmp_path, marker, "--timeout-method", "thread")
    log = finish(proc, marker, workdir, user_tmp, before)
    assert proc.returncode == 1 and "Timeout" in log, log[-3000:]
