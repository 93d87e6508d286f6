"""The kernel source: find it, unpack it once, and lock what workers share.

``--kernel-src`` is a tree used in place or a tarball unpacked once into the
cache, keyed by its path, size and mtime; without the option, the newest
Debian ``linux-source-X.Y`` tarball under ``/usr/src``. ``--kernel-config``
is a kbuild config target or a file to start from. Both are validated at
start-up without unpacking anything. The ``fcntl`` locks here make
pytest-xdist workers (and concurrent sessions) wait for each other instead
of unpacking or building the same thing twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InfrastructureError, Unsupported, UsageError
from .process import run

Progress = Callable[[str], None]

CONFIG_TARGETS = ("tinyconfig", "defconfig", "allnoconfig")
UNPACK_TIMEOUT = 1800.0
# A full test read of a gzip/bzip2 tarball takes seconds; past this, the unpack will tell.
TARBALL_CHECK_TIMEOUT = 30.0
CONFIG_LINE = re.compile(r"^(?:CONFIG_\w+=|# CONFIG_\w+ is not set)", re.MULTILINE)
# Unpacks that failed in this process: every later test gets the same one error at once.
_UNPACK_FAILED: dict[str, str] = {}


# --------------------------------------------------------------------------- locks and small files


@contextlib.contextmanager
def file_lock(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Exclusive flock: xdist workers and concurrent sessions wait instead of racing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_json_atomic(path: Path, data: object) -> None:
    """Readers see the old file or the complete new one, never half of it."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text)


# --------------------------------------------------------------------------- source


@dataclass(frozen=True)
class KernelSource:
    """A kernel tree ready for ``make -C``; ``identity`` keys every build of it."""

    root: Path
    identity: str
    origin: str
    unpack_seconds: float = 0.0
    immutable: bool = True

    @property
    def unpacked_now(self) -> bool:
        return self.unpack_seconds > 0


def default_tarball(pattern: str = "/usr/src/linux-source-*.tar.*") -> Path | None:
    """Debian's ``linux-source-X.Y`` package; the newest version wins."""
    found = [Path(p) for p in glob.glob(pattern)]
    if not found:
        return None

    def version_key(path: Path) -> tuple[int, ...]:
        match = re.search(r"linux-source-([\d.]+?)\.tar", path.name)
        return tuple(int(x) for x in match.group(1).split(".")) if match else ()

    return max(found, key=lambda p: (version_key(p), p.stat().st_mtime))


def is_kernel_tree(path: Path) -> bool:
    """The files kbuild needs at the top of any Linux tree."""
    return (path / "Makefile").is_file() and (path / "Kconfig").is_file() and (path / "arch").is_dir()


def is_tarball(path: Path) -> bool:
    return path.is_file() and re.search(r"\.(tar(\.\w+)?|tgz|tbz2?|txz)$", path.name) is not None


def check_options(kernel_src: str | None, kernel_config: str | None, cache: Path | None = None) -> None:
    """Validate --kernel-src/--kernel-config at start-up, cheaply (nothing is unpacked).

    With ``cache``, a tarball not unpacked there yet is also checked to be
    readable to its end (``check_tarball``).
    """
    resolve_config(kernel_config)
    if kernel_src is None:
        return
    path = Path(kernel_src).expanduser()
    if path.is_dir():
        if not is_kernel_tree(path):
            raise UsageError(
                f"--kernel-src {kernel_src}: not a Linux kernel tree (no Makefile, Kconfig and arch/ at its top)"
            )
    elif not path.exists():
        raise UsageError(f"--kernel-src {kernel_src}: no such file or directory")
    elif not is_tarball(path):
        raise UsageError(f"--kernel-src {kernel_src}: neither a kernel tree nor a source tarball (.tar.*)")
    elif cache is not None and not (unpack_target(path, cache)).is_dir():
        check_tarball(path, kernel_src)


def _tail_is_tar_end(path: Path) -> bool:
    """An uncompressed tar ends on a 512-byte boundary with two zero blocks."""
    size = path.stat().st_size
    if size < 1024 or size % 512:
        return False
    with path.open("rb") as handle:
        handle.seek(-1024, os.SEEK_END)
        return handle.read() == bytes(1024)


def check_tarball(path: Path, shown: str | None = None, timeout: float = TARBALL_CHECK_TIMEOUT) -> None:
    """A truncated or damaged tarball is a usage error before the run, not an unpack failure per test.

    xz keeps an index at the end (``xz --list`` reads only that); gzip,
    bzip2 and zstd are test-read for up to ``timeout`` seconds, after which
    the unpack itself decides (and fails once for the session).
    """
    shown = shown or str(path)
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise UsageError(f"--kernel-src {shown}: cannot read it ({exc.strerror})") from None
    name = path.name
    tester = None
    if name.endswith((".xz", ".txz")):
        tester = ["xz", "--robot", "--list", str(path)]
    elif name.endswith((".gz", ".tgz")):
        tester = ["gzip", "-t", str(path)]
    elif name.endswith((".bz2", ".tbz", ".tbz2")):
        tester = ["bzip2", "-t", str(path)]
    elif name.endswith(".zst"):
        tester = ["zstd", "-q", "-t", str(path)]
    elif name.endswith(".tar"):
        if not _tail_is_tar_end(path):
            raise UsageError(f"--kernel-src {shown}: truncated tar archive (it does not end with two zero blocks)")
        return
    if tester is None or shutil.which(tester[0]) is None:
        return
    step = run(tester, cwd=path.parent, timeout=timeout, measure_rss=False)
    if step.timed_out or step.ok:
        return
    lines = step.output.strip().splitlines()
    said = (
        [line for line in lines if line.startswith(f"{tester[0]}:")] or lines or [f"{tester[0]} exit {step.returncode}"]
    )
    detail = said[-1]
    raise UsageError(f"--kernel-src {shown}: damaged or truncated tarball ({detail.strip()})")


def resolve_source(given: str | None, cache: Path, *, on_progress: Progress | None = None) -> KernelSource:
    """Turn ``--kernel-src`` (or the Debian default) into a usable tree.

    A tarball is unpacked once into the cache, keyed by its path, size and
    mtime; a directory is used in place. No default source is a skip, a bad
    option is a UsageError.
    """
    if given is None:
        tarball = default_tarball()
        if tarball is None:
            raise Unsupported(
                "no kernel source: pass --kernel-src, or install a Debian linux-source-X.Y package "
                "(tarball under /usr/src)"
            )
        return unpack_tarball(tarball, cache, on_progress=on_progress)
    check_options(given, None)
    path = Path(given).expanduser()
    if path.is_dir():
        root = path.resolve()
        makefile = (root / "Makefile").stat()
        identity = digest(str(root), str(makefile.st_size), str(makefile.st_mtime_ns))
        return KernelSource(root, identity, str(root), immutable=False)
    return unpack_tarball(path, cache, on_progress=on_progress)


def _tree_in(folder: Path) -> Path | None:
    if is_kernel_tree(folder):
        return folder
    children = [c for c in folder.iterdir() if c.is_dir()]
    if len(children) == 1 and is_kernel_tree(children[0]):
        return children[0]
    return None


def _tarball_identity(tarball: Path) -> str:
    st = tarball.stat()
    return digest(str(tarball), str(st.st_size), str(st.st_mtime_ns))


def unpack_target(tarball: Path, cache: Path) -> Path:
    """Where the tree of this tarball (path, size, mtime) lives once unpacked."""
    tarball = tarball.resolve()
    return cache / "kernel" / "src" / f"{slug(tarball.name)}-{_tarball_identity(tarball)}"


def _remove_stale_unpacks(src_dir: Path, final: Path) -> None:
    """Half-written unpacks of this tarball (a killed run) go; so does any older than an unpack may take."""
    for leftover in src_dir.glob(".unpack-*"):
        mine = leftover.name.startswith(f".unpack-{final.name}-")
        try:
            old = time.time() - leftover.stat().st_mtime > 2 * UNPACK_TIMEOUT
        except OSError:
            continue
        if mine or old:
            shutil.rmtree(leftover, ignore_errors=True)


def unpack_tarball(tarball: Path, cache: Path, *, on_progress: Progress | None = None) -> KernelSource:
    """Unpack once per tarball identity; a second run or a parallel worker reuses it.

    Unpacking goes to a temporary folder inside the cache and is renamed into
    place, so a crash never leaves a half tree that looks finished; a killed
    run's temporary folder is removed by the next unpack of the same tarball
    (under the same lock). A failed unpack fails once: later tests of the
    session get the same error without trying again.
    """
    tarball = tarball.resolve()
    identity = _tarball_identity(tarball)
    if identity in _UNPACK_FAILED:
        raise InfrastructureError(_UNPACK_FAILED[identity])
    final = unpack_target(tarball, cache)
    src_dir = final.parent
    src_dir.mkdir(parents=True, exist_ok=True)

    def waiting() -> None:
        if on_progress:
            on_progress(f"waiting for another worker unpacking {tarball}")

    with file_lock(src_dir / f"{final.name}.lock", waiting):
        if final.is_dir():
            tree = _tree_in(final)
            if tree is not None:
                return KernelSource(tree, identity, str(tarball))
            shutil.rmtree(final)
        _remove_stale_unpacks(src_dir, final)
        if on_progress:
            on_progress(f"unpacking {tarball} into {final}")
        tmp = Path(tempfile.mkdtemp(prefix=f".unpack-{final.name}-", dir=src_dir))
        try:
            step = run(["tar", "-xf", str(tarball), "-C", str(tmp)], cwd=src_dir, timeout=UNPACK_TIMEOUT)
            if not step.ok:
                message = f"cannot unpack kernel source {tarball}\n{step.describe_failure()}"
                if step.environment_failure is None:
                    _UNPACK_FAILED[identity] = message
                raise InfrastructureError(message)
            if _tree_in(tmp) is None:
                raise UsageError(f"--kernel-src {tarball}: the tarball holds no Linux kernel tree")
            os.rename(tmp, final)
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # An interrupt (Ctrl-C, SIGTERM, a pytest-timeout) leaves tmp to the next unpack of this
        # tarball, which removes it under the lock: removing 1.7 GB here held the run up a minute.
        tree = _tree_in(final)
        assert tree is not None
        return KernelSource(tree, identity, str(tarball), unpack_seconds=max(step.seconds, 1e-6))


# --------------------------------------------------------------------------- configuration request


def _read_config_file(path: Path, shown: str) -> bytes:
    """A config file must be readable and look like a .config: Kconfig accepts anything, line by line."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--kernel-config {shown}: cannot read it ({exc.strerror})") from None
    if not CONFIG_LINE.search(content.decode(errors="replace")):
        raise UsageError(
            f"--kernel-config {shown}: not a kernel config (no CONFIG_...= or '# CONFIG_... is not set' line)"
        )
    return content


@dataclass(frozen=True)
class ConfigSpec:
    """``--kernel-config``: a kbuild config target or a config file to start from."""

    name: str
    target: str | None
    path: Path | None
    identity: str


def resolve_config(value: str | None) -> ConfigSpec:
    """Accept tinyconfig/defconfig/allnoconfig, any ``*_defconfig``, or an existing file."""
    value = value or "tinyconfig"
    if value in CONFIG_TARGETS or re.fullmatch(r"[A-Za-z0-9_.-]+_defconfig", value):
        return ConfigSpec(value, value, None, value)
    path = Path(value).expanduser()
    if path.is_file():
        content = _read_config_file(path, value)
        return ConfigSpec(path.name, None, path.resolve(), "file:" + hashlib.sha256(content).hexdigest()[:16])
    raise UsageError(
        f"--kernel-config {value}: not a config file and not a known target ({', '.join(CONFIG_TARGETS)}, *_defconfig)"
    )
