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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InfrastructureError, Unsupported, UsageError
from .process import run

Progress = Callable[[str], None]

CONFIG_TARGETS = ("tinyconfig", "defconfig", "allnoconfig")
UNPACK_TIMEOUT = 1800.0


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


def check_options(kernel_src: str | None, kernel_config: str | None) -> None:
    """Validate --kernel-src/--kernel-config at start-up, cheaply (nothing is unpacked)."""
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


def unpack_tarball(tarball: Path, cache: Path, *, on_progress: Progress | None = None) -> KernelSource:
    """Unpack once per tarball identity; a second run or a parallel worker reuses it.

    Unpacking goes to a temporary folder inside the cache and is renamed into
    place, so a crash never leaves a half tree that looks finished.
    """
    tarball = tarball.resolve()
    st = tarball.stat()
    identity = digest(str(tarball), str(st.st_size), str(st.st_mtime_ns))
    src_dir = cache / "kernel" / "src"
    src_dir.mkdir(parents=True, exist_ok=True)
    final = src_dir / f"{slug(tarball.name)}-{identity}"

    def waiting() -> None:
        if on_progress:
            on_progress(f"waiting for another worker unpacking {tarball}")

    with file_lock(src_dir / f"{final.name}.lock", waiting):
        if final.is_dir():
            tree = _tree_in(final)
            if tree is not None:
                return KernelSource(tree, identity, str(tarball))
            shutil.rmtree(final)
        if on_progress:
            on_progress(f"unpacking {tarball} into {final}")
        tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=src_dir))
        try:
            step = run(["tar", "-xf", str(tarball), "-C", str(tmp)], cwd=src_dir, timeout=UNPACK_TIMEOUT)
            if not step.ok:
                raise InfrastructureError(f"cannot unpack kernel source {tarball}\n{step.describe_failure()}")
            if _tree_in(tmp) is None:
                raise UsageError(f"--kernel-src {tarball}: the tarball holds no Linux kernel tree")
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        tree = _tree_in(final)
        assert tree is not None
        return KernelSource(tree, identity, str(tarball), unpack_seconds=max(step.seconds, 1e-6))


# --------------------------------------------------------------------------- configuration request


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
        content = path.read_bytes()
        return ConfigSpec(path.name, None, path.resolve(), "file:" + hashlib.sha256(content).hexdigest()[:16])
    raise UsageError(
        f"--kernel-config {value}: not a config file and not a known target ({', '.join(CONFIG_TARGETS)}, *_defconfig)"
    )
