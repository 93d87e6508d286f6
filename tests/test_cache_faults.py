"""The step cache holds only what the toolchain did, never what a full disk or a signal did."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conformance.harness.build import Builder, StepCache
from conformance.harness.process import SCRATCH_ENV
from tests import fakes

PROPERTIES = ["cross-file-inlining"]


def outcomes(results) -> list[tuple[str, str, str]]:
    return sorted((name, v.case, v.outcome) for name, verdicts in results.items() for v in verdicts)


def stored_steps(root: Path) -> int:
    return sum(1 for _ in (root / "steps").glob("*/*")) if (root / "steps").is_dir() else 0


@pytest.fixture(scope="module")
def clean_outcomes(system_gcc, tmp_path_factory):
    cache = tmp_path_factory.mktemp("clean-cache")
    return outcomes(fakes.evaluate_properties(system_gcc, cache, tmp_path_factory.mktemp("ws"), PROPERTIES))


@pytest.mark.parametrize(
    "failure",
    [
        "sys.stderr.write('lto1: fatal error: write: No space left on device\\n'); sys.exit(1)",
        "sys.stderr.write('ld: final link failed: Input/output error\\n'); sys.exit(1)",
        "os.kill(os.getpid(), 9)",
    ],
    ids=["enospc", "eio", "sigkill"],
)
def test_environment_failures_are_not_replayed(failure, system_gcc, clean_outcomes, tmp_path):
    """A link that failed from the machine fails this run; once the machine is fine, verdicts match a clean run."""
    flag = tmp_path / "broken"
    extra = f"if linking and os.path.exists({str(flag)!r}):\n    {failure}"
    cc = fakes.wrapper(tmp_path / "bin", "gcc", "gcc", purpose="fails at link time on request", extra=extra)
    tc = fakes.toolchain(cc=cc)
    cache = tmp_path / "cache"
    flag.touch()
    broken = outcomes(fakes.evaluate_properties(tc, cache, tmp_path / "ws1", PROPERTIES))
    assert broken != clean_outcomes
    flag.unlink()
    healed = outcomes(fakes.evaluate_properties(tc, cache, tmp_path / "ws2", PROPERTIES))
    assert healed == clean_outcomes


@contextlib.contextmanager
def tiny_tmpfs(where: Path, size: str = "32m"):
    where.mkdir(parents=True, exist_ok=True)
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Write until the filesystem is full; the ballast file is returned to be removed later."""
    ballast = folder / "ballast"
    chunk = b"\0" * (1 << 20)
    with open(ballast, "wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(chunk)
            handle.flush()
    with contextlib.suppress(OSError), open(folder / "ballast-small", "wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()
    return ballast


@pytest.mark.parametrize("layout", ["cache-and-tmpdir-full", "tmpdir-full"])
def test_a_full_filesystem_breaks_nothing_and_caches_nothing(layout, clean_outcomes, tmp_path, monkeypatch):
    """The tools' TMPDIR (and the cache) on a full tmpfs: the run goes on; with space back, verdicts are clean.

    With only TMPDIR full the cache could store the failures, and GNU ld's
    message ("could not close arguments file") does not say why it failed.
    """
    # -pipe: compiles need no temporaries, so the links are what fails.
    tc = fakes.toolchain(
        cc=fakes.wrapper(tmp_path / "bin", "gcc", "gcc", purpose="compiles with -pipe", add_when_compiling=["-pipe"])
    )
    with tiny_tmpfs(tmp_path / "fs") as fs:
        cache = fs / "cache" if layout == "cache-and-tmpdir-full" else tmp_path / "cache"
        scratch = fs / "scratch"
        scratch.mkdir()
        monkeypatch.setenv(SCRATCH_ENV, str(scratch))
        fill(fs)
        full = outcomes(fakes.evaluate_properties(tc, cache, tmp_path / "ws1", PROPERTIES))
        assert full != clean_outcomes, "a full TMPDIR should break the LTO links"
        assert not any((cache / "tmp").glob("*")), "a failed store leaves no scratch entry"
        (fs / "ballast").unlink()
        (fs / "ballast-small").unlink()
        healed = outcomes(fakes.evaluate_properties(tc, cache, tmp_path / "ws2", PROPERTIES))
        assert healed == clean_outcomes


def test_a_store_that_runs_out_of_space_is_dropped(system_gcc, tmp_path):
    """The step ran and succeeded; only keeping it failed: the caller gets its result anyway."""
    with tiny_tmpfs(tmp_path / "fs", size="1m") as fs:
        cache = StepCache(fs / "cache")
        folder = tmp_path / "build"
        folder.mkdir()
        (folder / "big.c").write_text("char blob[4 << 20] = {1};\nint main(void) { return blob[0] - 1; }\n")
        step = Builder(folder, cache).step(system_gcc.cc, ["-c", "big.c", "-o", "big.o"], inputs=["big.c"])
        assert step.ok, step.describe_failure()
        assert stored_steps(fs / "cache") == 0
        assert not any((fs / "cache" / "tmp").glob("*"))


def _stored_copy(tmp_path: Path) -> tuple[StepCache, Path, str, object]:
    """One step (cp, an executable input) run and stored; the cache, its build folder, key and tool."""
    from conformance.harness.toolchain import Tool

    cp = shutil.which("cp")
    assert cp is not None
    tool = Tool(argv=(cp,), path=Path(cp), identity="cp-for-the-test")
    cache, folder = StepCache(tmp_path / "cache"), tmp_path / "build"
    folder.mkdir()
    (folder / "in").write_bytes(b"\x7fELF pretend")
    (folder / "in").chmod(0o755)
    assert Builder(folder, cache).step(tool, ["-p", "in", "out"], inputs=["in"]).ok
    key = cache.key(tool, [cp, "-p", "in", "out"], folder, ["in"], {})
    return cache, folder, key, tool


def test_a_torn_entry_is_a_miss(tmp_path):
    """An entry cut short (a crash mid-write without the rename's atomicity) reruns the step, no error."""
    cache, folder, key, tool = _stored_copy(tmp_path)
    entry = cache.entry(key)
    whole = entry.read_bytes()
    for cut in (len(whole) - 1, whole.index(b"\n"), 10, 0):
        entry.write_bytes(whole[:cut])
        assert cache.load(key, folder) is None, f"an entry cut at byte {cut} was read back"
    (folder / "out").unlink()
    step = Builder(folder, cache).step(tool, ["-p", "in", "out"], inputs=["in"])
    assert step.ok and not step.cached


def test_a_loaded_file_shares_nothing_with_the_cache(tmp_path):
    """A tool that rewrites a loaded output in place (GNU as truncates its -o file) cannot change the entry."""
    cache, folder, key, _ = _stored_copy(tmp_path)
    (folder / "out").unlink()
    loaded = cache.load(key, folder)
    assert loaded is not None and loaded.cached
    assert (folder / "out").read_bytes() == b"\x7fELF pretend"
    assert os.access(folder / "out", os.X_OK), "the stored file's mode comes back"
    with (folder / "out").open("r+b") as handle:
        handle.write(b"clobbered")
    again = cache.load(key, folder)
    assert again is not None and (folder / "out").read_bytes() == b"\x7fELF pretend"


def test_an_input_is_hashed_again_once_it_changes(tmp_path):
    """The digest memo trusts a settled file's (inode, size, mtime); a fresh file is read every time."""
    from conformance.harness import build

    source = tmp_path / "a.c"
    source.write_text("int a = 1;\n")
    long_ago = time.time() - 60
    os.utime(source, (long_ago, long_ago))
    first = build._file_digest(source)
    assert (source.stat().st_ino, first) in {(key[1], digest) for key, digest in build._digests.items()}
    source.write_text("int a = 2;\n")  # same size, same inode, mtime now
    assert build._file_digest(source) != first
    os.link(source, tmp_path / "staged.c")  # staging moves ctime, not mtime: the memo still holds
    fresh = tmp_path / "b.c"
    fresh.write_text("int b;\n")
    build._file_digest(fresh)
    assert not any(key[1] == fresh.stat().st_ino for key in build._digests), "a fresh file is not memoised"
