"""Drive kbuild end to end: find the source, configure with LTO, build, prove it.

A kernel LTO build is the property users care about most and the easiest to
get silently wrong: Kconfig drops ``CONFIG_LTO_CLANG_*`` without a word when
the toolchain fails ``HAS_LTO_CLANG``, and a build that "succeeds" may not
have used LTO at all. So this module never trusts the request: it reads the
final ``.config``, explains a dropped option from the tree's own ``depends
on`` lines, and proves LTO from the build output (bitcode inputs, the
LTO-only ``.tmp_initcalls.lds``, an IR-free ``vmlinux``, cross-file effects
against a non-LTO build of the same config).

Sources, configurations and builds are cached under one directory keyed by
identity (tarball path+size+mtime, toolchain identity, config), guarded by
``fcntl`` locks so that pytest-xdist workers share instead of racing.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from .errors import InfrastructureError, UsageError
from .kconfig import KconfigIndex, edit_config, explain_dropped, read_config, read_kconfig
from .process import Step, run
from .toolchain import Toolchain

Progress = Callable[[str], None]

LTO_MODES = ("thin", "full")
BOOT_OPTIONS = ("64BIT", "PRINTK", "TTY", "SERIAL_8250", "SERIAL_8250_CONSOLE", "BLK_DEV_INITRD", "BINFMT_ELF")
CONFIG_TARGETS = ("tinyconfig", "defconfig", "allnoconfig")
UNPACK_TIMEOUT = 1800.0
CONFIG_TIMEOUT = 600.0
BUILD_TIMEOUT = 4 * 3600.0
PROGRESS_INTERVAL = 10.0
BITCODE_MAGIC = b"BC\xc0\xde"
RESULT_FILE = "lto-conformance-result.json"
PROMOTED_LOCAL = re.compile(r"\.llvm\.\d+$")

# Kernel ARCH from the first field of the target triple; SRCARCH is the arch/ folder.
_ARCH_BY_CPU = {
    "x86_64": "x86_64",
    "i386": "i386",
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "aarch64": "arm64",
    "arm": "arm",
    "riscv64": "riscv",
    "riscv32": "riscv",
    "powerpc64le": "powerpc",
    "powerpc64": "powerpc",
    "powerpc": "powerpc",
    "s390x": "s390",
    "loongarch64": "loongarch",
    "mips": "mips",
    "mipsel": "mips",
    "mips64": "mips",
    "mips64el": "mips",
}
_SRCARCH = {"x86_64": "x86", "i386": "x86"}
_BOOT_IMAGE = {"x86": "arch/x86/boot/bzImage", "arm64": "arch/arm64/boot/Image", "riscv": "arch/riscv/boot/Image"}


class Unsupported(Exception):
    """The tree or toolchain cannot run this property at all: a skip, with the reason."""


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


def _write_json_atomic(path: Path, data: object) -> None:
    """Readers see the old file or the complete new one, never half of it."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _slug(text: str) -> str:
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
        identity = _digest(str(root), str(makefile.st_size), str(makefile.st_mtime_ns))
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
    identity = _digest(str(tarball), str(st.st_size), str(st.st_mtime_ns))
    src_dir = cache / "kernel" / "src"
    src_dir.mkdir(parents=True, exist_ok=True)
    final = src_dir / f"{_slug(tarball.name)}-{identity}"

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


# --------------------------------------------------------------------------- toolchain -> kbuild variables


def kernel_arch(target: str) -> str:
    """kbuild ARCH from the toolchain's triple; always passed, since tinyconfig defaults to 32-bit."""
    cpu = target.split("-")[0]
    if cpu in _ARCH_BY_CPU:
        return _ARCH_BY_CPU[cpu]
    if cpu.startswith("arm"):
        return "arm"
    raise Unsupported(f"no kernel ARCH known for target {target!r}")


def source_arch(arch: str) -> str:
    return _SRCARCH.get(arch, arch)


def make_variables(tc: Toolchain) -> dict[str, str]:
    """The command-line variables that make kbuild use exactly this toolchain.

    clang goes through ``LLVM=`` (``-19`` suffix, ``/x/bin/`` prefix or ``1``)
    so that ld.lld, llvm-ar and llvm-nm of the same LLVM are used, as the
    HAS_LTO_CLANG checks require; gcc through ``CC=`` and ``CROSS_COMPILE``.
    A linker other than the family's kbuild default goes into ``LD=``.
    """
    arch = kernel_arch(tc.target)
    given = tc.cc.argv[0]
    name = Path(given).name
    out = {"ARCH": arch}
    if tc.family == "clang":
        match = re.fullmatch(r"clang(-\d+(?:\.\d+)*)?", name)
        if "/" in given and (match is None or match.group(1) is None):
            out["LLVM"] = str(Path(given).parent) + "/"
            if name != "clang":
                out["CC"] = given
        elif match and match.group(1):
            out["LLVM"] = match.group(1)
            if "/" in given:
                out["CC"] = given
        else:
            out["LLVM"] = "1"
            if name != "clang":
                out["CC"] = given
        if tc.linker != "lld":
            out["LD"] = f"ld.{tc.linker}"
    else:
        head, _, _ = name.rpartition("gcc")
        if head:
            folder = str(Path(given).parent) + "/" if "/" in given else ""
            out["CROSS_COMPILE"] = folder + head
        out["CC"] = given
        if tc.linker != "bfd":
            out["LD"] = f"{head}ld.{tc.linker}"
    return out


def jobs_argument(environ: Mapping[str, str] | None = None) -> list[str]:
    """``-jN`` from our CPU affinity, unless an outer make's jobserver can reach the child.

    A named-pipe jobserver (``fifo:``) survives our close_fds spawning; the
    old fd-pair style does not, so then we fall back to ``-jN``.
    """
    environ = os.environ if environ is None else environ
    flags = environ.get("MAKEFLAGS", "")
    if "--jobserver-auth=fifo:" in flags:
        return []
    return [f"-j{len(os.sched_getaffinity(0))}"]


# --------------------------------------------------------------------------- Kconfig -> LTO options


@dataclass(frozen=True)
class LtoChoice:
    """What to set in ``.config`` for one LTO mode, and what must survive olddefconfig."""

    mode: str
    enable: tuple[str, ...]
    disable: tuple[str, ...]
    required: str

    @property
    def is_lto(self) -> bool:
        return self.mode != "none"


def lto_choice(tc: Toolchain, mode: str, index: KconfigIndex) -> LtoChoice:
    """Map a mode to the options this tree offers for this compiler family; else Unsupported."""
    offered = index.symbols
    all_lto = ("LTO_CLANG_THIN", "LTO_CLANG_FULL", "LTO_GCC")
    if mode == "none":
        return LtoChoice("none", ("LTO_NONE",), tuple(s for s in all_lto if s in offered), "LTO_NONE")
    if tc.family == "clang":
        option = {"thin": "LTO_CLANG_THIN", "full": "LTO_CLANG_FULL"}[mode]
        if option not in offered:
            raise Unsupported(f"this kernel tree offers no CONFIG_{option} (Kconfig has no such symbol)")
        others = tuple(s for s in all_lto if s in offered and s != option)
        return LtoChoice(mode, (option,), ("LTO_NONE", *others), option)
    gcc_offered = [s for s in ("LTO_GCC", "LTO_MENU") if s in offered]
    if not gcc_offered:
        clang = sorted(s for s in ("LTO_CLANG_THIN", "LTO_CLANG_FULL") if s in offered)
        detail = f" (it has Clang LTO only: {', '.join('CONFIG_' + s for s in clang)})" if clang else ""
        raise Unsupported(f"no GCC LTO in this kernel tree: no CONFIG_LTO_GCC or CONFIG_LTO_MENU{detail}")
    if mode == "thin":
        raise Unsupported("GCC has no ThinLTO mode; the tree's GCC LTO runs as the 'full' parameter")
    if "LTO_GCC" in gcc_offered:
        return LtoChoice(
            mode, ("LTO_GCC",), tuple(s for s in ("LTO_NONE", "LTO_CLANG_THIN") if s in offered), "LTO_GCC"
        )
    return LtoChoice(mode, ("LTO_MENU",), ("LTO_DISABLE",), "LTO_MENU")


# A tiny three-valued evaluator of Kconfig dependency expressions against a .config.


def toolchain_hints(
    failed: Sequence[str], config: Mapping[str, str], variables: Mapping[str, str], tc: Toolchain
) -> list[str]:
    """Translate the usual culprits (a false toolchain probe) into what the person must change."""
    text = "\n".join(failed)
    hints = []

    def unmet(symbol: str) -> bool:
        return symbol in text and config.get(symbol, "n") == "n"

    if unmet("LD_IS_LLD"):
        ld = variables.get("LD", "ld.lld from LLVM=")
        hints.append(f"LD_IS_LLD is false: kbuild links with LD={ld} ({tc.linker}), not ld.lld")
    if unmet("CC_IS_CLANG"):
        hints.append(f"CC_IS_CLANG is false: the compiler is {tc.family}")
    if unmet("AS_IS_LLVM"):
        hints.append("AS_IS_LLVM is false: kbuild is not assembling with clang's integrated assembler (LLVM_IAS=0?)")
    return hints


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
class SymbolStats:
    """What the symbol table of vmlinux says about cross-file optimisation."""

    global_functions: int = 0
    local_functions: int = 0
    promoted_locals: int = 0
    text_bytes: int = 0
    ir_sections: list[str] = field(default_factory=list)
    is_elf: bool = False

    @property
    def global_share(self) -> float:
        total = self.global_functions + self.local_functions
        return self.global_functions / total if total else 0.0


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
    elf_objects: int = 0
    initcalls_lds: bool = False
    symbols: SymbolStats | None = None
    harness_seconds: float = 0.0
    image: str = ""
    cached: bool = False

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
        return _digest(
            self.source.identity,
            self.config.identity,
            self.toolchain.identity,
            self.mode,
            json.dumps(self.variables, sort_keys=True),
            " ".join(BOOT_OPTIONS),
        )

    def out_dir(self, cache: Path) -> Path:
        return (
            cache
            / "kernel"
            / "build"
            / f"{_slug(self.toolchain.label)}-{_slug(self.config.name)}-{self.mode}-{self.key}"
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
    choice = lto_choice(req.toolchain, req.mode, index)
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
        started = time.monotonic()
        result = _configure_and_build(req, index, choice, out, on_progress, build_timeout)
        result.harness_seconds = round(time.monotonic() - started, 3)
        if result.ok:
            _write_json_atomic(marker, result.to_json())
        return result


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
    if final.get(choice.required, "n") != "y" or (choice.required == "LTO_MENU" and final.get("LTO_DISABLE") == "y"):
        failed = explain_dropped(choice.required, final, index)
        hints = toolchain_hints(failed, final, req.variables, tc)
        lto_now = [f"CONFIG_{s}=y" for s in ("LTO_NONE", "LTO_CLANG_THIN", "LTO_CLANG_FULL", "LTO_GCC") if final.get(s)]
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
    image = _BOOT_IMAGE.get(source_arch(arch))
    targets = ["vmlinux", *([Path(image).name] if image else [])]
    progress = _ProgressFilter(on_progress, f"make {' '.join(targets)}", out=out)
    say(f"building {' '.join(targets)} ({req.mode}) in {out}")
    step = _make(req, out, targets, jobs=True, on_line=progress, timeout=build_timeout)
    result.steps.append(StepRecord.of(step))
    say(f"make {' '.join(targets)} ({req.mode}) finished in {step.seconds:.0f} s after {progress.count} steps")
    if not step.ok:
        result.message = f"kernel build failed\n{step.describe_failure()}"
        return result
    if not result.vmlinux.is_file():
        result.message = f"make finished but {result.vmlinux} does not exist"
        return result
    result.image = str(out / image) if image and (out / image).is_file() else ""
    result.bitcode_objects, result.elf_objects = count_objects(out)
    result.initcalls_lds = (out / ".tmp_initcalls.lds").is_file()
    result.symbols = symbol_stats(result.vmlinux)
    result.stage = "done"
    result.ok = True
    return result


# --------------------------------------------------------------------------- LTO proofs


def count_objects(out: Path) -> tuple[int, int]:
    """Bitcode vs ELF ``.o`` files under the build dir (the inputs of vmlinux.a)."""
    bitcode = elf = 0
    for root, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.endswith(".o") or name in ("vmlinux.o",):
                continue
            with open(os.path.join(root, name), "rb") as handle:
                magic = handle.read(4)
            if magic == BITCODE_MAGIC:
                bitcode += 1
            elif magic == b"\x7fELF":
                elf += 1
    return bitcode, elf


def symbol_stats(vmlinux: Path) -> SymbolStats:
    """Global vs local functions, ThinLTO-promoted locals, .text size; no IR may remain."""
    stats = SymbolStats()
    with open(vmlinux, "rb") as handle:
        if handle.read(4) != b"\x7fELF":
            return stats
        handle.seek(0)
        elf = ELFFile(handle)
        stats.is_elf = True
        for section in elf.iter_sections():
            if section.name in (".llvmbc", ".llvm.lto", ".llvm.embedded.object") or section.name.startswith(
                ".gnu.lto_"
            ):
                stats.ir_sections.append(section.name)
            if section.name == ".text":
                stats.text_bytes = section["sh_size"]
        symtab = elf.get_section_by_name(".symtab")
        if isinstance(symtab, SymbolTableSection):
            for sym in symtab.iter_symbols():
                if sym["st_info"]["type"] != "STT_FUNC":
                    continue
                if PROMOTED_LOCAL.search(sym.name):
                    stats.promoted_locals += 1
                if sym["st_info"]["bind"] == "STB_LOCAL":
                    stats.local_functions += 1
                else:
                    stats.global_functions += 1
    return stats


@dataclass
class LtoVerdict:
    """Each proof as a line a person can check; ok only if all hold."""

    ok: bool
    found: list[str]
    missing: list[str]


def prove_lto(lto: KernelBuild, baseline: KernelBuild | None) -> LtoVerdict:
    """Inputs carried IR, the output carries none, and the optimiser crossed files.

    The cross-file proof needs the non-LTO build of the same config: ThinLTO
    must leave ``*.llvm.<N>`` promoted locals that the baseline lacks, and
    full LTO must shrink the share of global functions against it.
    """
    found: list[str] = []
    missing: list[str] = []

    def check(ok: bool, text: str) -> None:
        (found if ok else missing).append(text)

    check(lto.bitcode_objects > 0, f"{lto.bitcode_objects} LLVM bitcode objects among the inputs of vmlinux")
    check(lto.initcalls_lds, ".tmp_initcalls.lds exists (written only by LTO builds)")
    sym = lto.symbols or SymbolStats()
    check(sym.is_elf and not sym.ir_sections, f"vmlinux is ELF with no IR sections {sym.ir_sections or ''}".rstrip())
    if baseline is not None and baseline.symbols is not None:
        base = baseline.symbols
        check(
            baseline.bitcode_objects == 0 and not baseline.initcalls_lds,
            f"the non-LTO baseline has {baseline.bitcode_objects} bitcode objects and "
            f"{'a' if baseline.initcalls_lds else 'no'} .tmp_initcalls.lds",
        )
        if lto.mode == "thin":
            check(
                sym.promoted_locals > base.promoted_locals,
                f"{sym.promoted_locals} ThinLTO-promoted *.llvm.<N> functions (baseline {base.promoted_locals})",
            )
        check(
            sym.global_share < base.global_share,
            f"global functions {sym.global_functions}/{sym.global_functions + sym.local_functions} "
            f"= {sym.global_share:.1%} vs baseline {base.global_functions}/"
            f"{base.global_functions + base.local_functions} = {base.global_share:.1%}",
        )
    return LtoVerdict(not missing, found, missing)
