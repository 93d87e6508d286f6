"""Compile, archive and link probes, with a content-addressed step cache.

Each step (one compiler, archiver or linker call) is keyed by the identity
of the tool that runs it, its argv, its environment and the content of the
files it reads. On a hit the files the step produced are written into the
build folder and its original record (exit code, output, time, peak RSS)
is returned, so a rerun on an unchanged toolchain runs no tool at all while
reports still carry the figures that were really measured. An entry is one
file (the record as a JSON line, then the produced files' bytes), written
under a private name and renamed into place: concurrent ``pytest -n``
workers never see half an entry, and a store costs a create and a rename
(a folder per entry cost ten filesystem operations, a millisecond a step
on this machine kind). Build folders get copies, never links, so no tool
that rewrites its output in place can reach into the cache.
Steps reach the cache only when their result reflects the toolchain: a
step that timed out, was killed by a signal, or failed because the machine
did (no space left, an I/O error) is never stored, and a store that itself
runs out of space is dropped without breaking the run. A step that exits 0
without writing the file it names (``-o X``, the archive of ``ar rcs``) is a
failed step ("gcc-ar exited 0 but wrote no archive libprobe.a"), so every
caller handles it like any other failure instead of tripping over the
missing file later.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import verdict_cache
from .cache_files import write_atomically
from .cases import Case
from .process import DEFAULT_TIMEOUT, run
from .step import Step, low_on_space
from .toolchain import Tool, Toolchain

BUILD_PLACEHOLDER = "@BUILD@"
CACHE_FORMAT = "2"
ENTRY_SUFFIX = ".step"
# An ar operation with modifiers (rcs, rcsT, qc, ...) that writes the archive named next.
AR_WRITES = re.compile(r"^-?[cDlNoPSsTuUv]*[rq][cDlNoPSsTuUv]*$")


# Digests of inputs already read, by the file's stat identity (see _file_digest).
_digests: dict[tuple[int, int, int, int], str] = {}
# How old a file's last change must be before its stat identity is trusted to name its content:
# timestamps move in clock ticks, and a file rewritten within one keeps its mtime (git's "racy" case).
SETTLED_SECONDS = 2.0


def _file_digest(path: Path) -> str:
    """The SHA-256 of a file, read again only when its stat identity changed.

    Every compile of a case lists all of the case's files as inputs, and the
    build folders hard-link them: the same inode is hashed again and again.
    A digest is reused only for a file whose inode, size and mtime are
    unchanged and whose mtime had settled when it was read; a file written
    moments ago (a step's output) is read every time. Not ctime: staging
    hard-links the case's files, and each link moves their ctime. What this
    cannot see, like git with ``core.trustctime`` off, is a rewrite in place
    that keeps the size and puts the old mtime back.
    """
    st = os.stat(path)
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    known = _digests.get(identity)
    if known is not None:
        return known
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    if time.time_ns() - st.st_mtime_ns > SETTLED_SECONDS * 1e9:
        _digests[identity] = digest
    return digest


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` by relative path, with its mtime and size (what a step changed)."""
    out: dict[str, tuple[int, int]] = {}
    pending = [("", str(folder))]
    while pending:
        prefix, directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                name = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append((name + "/", entry.path))
                elif entry.is_file():
                    st = entry.stat()
                    out[name] = (st.st_mtime_ns, st.st_size)
    return out


def written_by(args: Sequence[str]) -> list[str]:
    """The files a command line says it writes: ``-o X``, or the archive of ``ar rcs X``."""
    out = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-o"]
    if not out and len(args) >= 2 and AR_WRITES.match(args[0]):
        out.append(args[1])
    return out


@dataclass
class StepCache:
    """Where step results live; ``None`` root disables caching."""

    root: Path | None

    def key(
        self,
        tool: Tool,
        argv: Sequence[str],
        folder: Path,
        inputs: Iterable[str],
        env: Mapping[str, str],
        *,
        rss: bool = False,
    ) -> str:
        def norm(text: str) -> str:
            return text.replace(str(folder), BUILD_PLACEHOLDER)

        h = hashlib.sha256()
        parts = [CACHE_FORMAT, *(["--rss--"] if rss else []), tool.identity, *map(norm, argv), "--env--"]
        parts += [f"{k}={norm(v)}" for k, v in sorted(env.items())]
        parts.append("--inputs--")
        for name in sorted(set(inputs)):
            parts.append(f"{name}={_file_digest(folder / name)}")
        h.update("\0".join(parts).encode())
        return h.hexdigest()

    def entry(self, key: str) -> Path:
        assert self.root is not None
        return self.root / "steps" / key[:2] / f"{key}{ENTRY_SUFFIX}"

    def load(self, key: str, folder: Path) -> Step | None:
        if self.root is None:
            return None
        try:
            blob = self.entry(key).read_bytes()
        except OSError:
            return None
        entry = read_entry(blob)
        if entry is None:
            return None  # a torn or unreadable entry is a miss, never an error
        data, files = entry
        for name, mode, content in files:
            _write_file(folder / name, content, mode)
        data["argv"] = tuple(a.replace(BUILD_PLACEHOLDER, str(folder)) for a in data["argv"])
        data["cwd"] = folder
        data["env"] = {k: v.replace(BUILD_PLACEHOLDER, str(folder)) for k, v in data["env"].items()}
        data["output"] = data["output"].replace(BUILD_PLACEHOLDER, str(folder))
        return Step(**data, cached=True)

    def store(self, key: str, step: Step, folder: Path, produced: Iterable[str]) -> bool:
        """Keep the step unless the environment caused its outcome; True if it is stored now."""
        if self.root is None or step.environment_failure is not None:
            return False
        short = low_on_space([self.root, folder, step.temp_dir]) if not step.ok else None
        if short:
            verdict_cache.saw_machine(short)  # nor is a verdict reached on it
            return False
        final = self.entry(key)
        if final.exists():
            return False
        try:
            entry = _entry_bytes(step, folder, sorted(produced))
        except OSError:
            return False
        # False when the cache filled up (or went read-only): the run goes on uncached.
        return write_atomically(self.root, final, entry)

    def records(self) -> Iterator[dict]:
        """The record of every stored step (what bench.py sums up)."""
        if self.root is None:
            return
        for path in self.root.glob(f"steps/*/*{ENTRY_SUFFIX}"):
            with contextlib.suppress(OSError, ValueError), path.open("rb") as handle:
                yield json.loads(handle.readline())


def _entry_bytes(step: Step, folder: Path, names: list[str]) -> bytes:
    """The record as one JSON line, the produced files' names, sizes and modes in it, then their bytes."""
    contents, files = [], []
    for name in names:
        path = folder / name
        content = path.read_bytes()
        contents.append(content)
        files.append([name, len(content), stat.S_IMODE(path.stat().st_mode)])
    record = {f.name: getattr(step, f.name) for f in dataclasses.fields(step) if f.name != "cached"}
    record["cwd"] = BUILD_PLACEHOLDER
    record["argv"] = [a.replace(str(folder), BUILD_PLACEHOLDER) for a in step.argv]
    record["env"] = {k: v.replace(str(folder), BUILD_PLACEHOLDER) for k, v in step.env.items()}
    record["output"] = step.output.replace(str(folder), BUILD_PLACEHOLDER)
    record["files"] = files
    return b"".join([json.dumps(record).encode(), b"\n", *contents])


def read_entry(blob: bytes) -> tuple[dict, list[tuple[str, int, bytes]]] | None:
    """(record, [(name, mode, content)]) of an entry; None when it is torn or not an entry."""
    header, newline, payload = blob.partition(b"\n")
    try:
        data = json.loads(header) if newline else None
        listed = [(str(name), int(size), int(mode)) for name, size, mode in data.pop("files")]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if sum(size for _, size, _ in listed) != len(payload):
        return None
    files, offset = [], 0
    for name, size, mode in listed:
        files.append((name, mode, payload[offset : offset + size]))
        offset += size
    return data, files


def _write_file(target: Path, content: bytes, mode: int) -> None:
    """A fresh file (never one a build folder shares with another), with the mode the step gave it."""
    target.unlink(missing_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        os.fchmod(handle.fileno(), mode)


@dataclass
class Builder:
    """Runs steps in one build folder; every step is kept for the reproducer."""

    folder: Path
    cache: StepCache
    steps: list[Step] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT
    # Peak RSS costs a shim process per step (about 20 ms, more than a small compile):
    # measured only where a figure is read (cost), and part of the key where it is.
    measure_rss: bool = False

    def step(
        self,
        tool: Tool,
        args: Sequence[str],
        *,
        inputs: Iterable[str],
        env: Mapping[str, str] | None = None,
        cacheable: bool = True,
        timeout: float | None = None,
    ) -> Step:
        """Run ``tool args`` in the folder, or take its result from the cache.

        An input that is not there (an earlier tool wrote nothing) makes the
        step uncacheable: the tool runs and says so itself.
        """
        argv = [*tool.argv, *args]
        env = {**dict(tool.env), **(env or {})}
        inputs = list(inputs)
        cacheable = cacheable and all((self.folder / name).is_file() for name in inputs)
        key = self.cache.key(tool, argv, self.folder, inputs, env, rss=self.measure_rss) if cacheable else ""
        result = self.cache.load(key, self.folder) if cacheable else None
        if result is None:
            before = _snapshot(self.folder)
            ran = run(argv, cwd=self.folder, env=env, timeout=timeout or self.timeout, measure_rss=self.measure_rss)
            result = _check_outputs(ran, args)
            after = _snapshot(self.folder)
            produced = [name for name, stamp in after.items() if before.get(name) != stamp]
            if cacheable:
                self.cache.store(key, result, self.folder, produced)
        else:
            result = _check_outputs(result, args)
        self.steps.append(result)
        return result


def _check_outputs(step: Step, args: Sequence[str]) -> Step:
    """Exit 0 without the file the command line names is a failure of that step."""
    if step.returncode != 0 or step.timed_out:
        return step
    missing = [name for name in written_by(args) if not (step.cwd / name).exists()]
    return dataclasses.replace(step, missing_output=missing[0]) if missing else step


@dataclass
class CaseBuild:
    """The outcome of building one case in one variant (``lto`` or ``control``)."""

    case: Case
    variant: str
    folder: Path
    steps: list[Step]
    objects: dict[str, str]
    archive: str | None
    output: str | None
    failed: Step | None

    @property
    def ok(self) -> bool:
        return self.failed is None

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def link(self) -> Step | None:
        """The link step, once the build got that far and succeeded."""
        return self.steps[-1] if self.ok and self.output else None

    def reproducer(self, directory: str | None = None) -> str:
        """The commands, from the case folder (or ``directory`` for generated sources)."""
        return "\n".join([f"$ cd {directory or self.case.path_for_humans}", *(s.shell() for s in self.steps)])


def object_name(source: str) -> str:
    return Path(source).with_suffix(".o").name


def stage_case(case: Case, folder: Path) -> None:
    """Hard-link the case's files into a fresh build folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in case.directory.iterdir():
        if item.is_file() and item.name != "case.toml":
            target = folder / item.name
            if not target.exists():
                real = item.resolve()  # cases share identical sources through symlinks
                try:
                    os.link(real, target)
                except OSError:
                    shutil.copy2(real, target)


def case_inputs(case: Case) -> list[str]:
    """Every file of the case folder: sources and the headers they include."""
    return sorted(p.name for p in case.directory.iterdir() if p.is_file() and p.name != "case.toml")


def build_case(
    case: Case,
    toolchain: Toolchain,
    variant: str,
    workspace: Path,
    cache: StepCache,
    *,
    link_flags: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    archiver: Tool | None = None,
    cacheable: bool = True,
    tag: str = "",
    timeout: float = DEFAULT_TIMEOUT,
    measure_rss: bool = False,
) -> CaseBuild:
    """Compile each source, archive if asked, link; stop at the first failure.

    ``variant`` is ``lto`` (the case's LTO flags at compile and link) or
    ``control`` (the same build without them), so every property can compare.
    ``timeout`` bounds every step (generated probes can blow LTO up);
    ``measure_rss`` records each step's peak RSS (a figure only cost reads).
    """
    lto = variant == "lto"
    suffix = f"-{tag}" if tag else ""
    folder = workspace / f"{toolchain.identity}-{case.property}-{case.name}-{variant}{suffix}"
    if folder.exists():
        shutil.rmtree(folder)
    stage_case(case, folder)
    builder = Builder(folder, cache, timeout=timeout, measure_rss=measure_rss)
    lto_flags = case.lto_flags_for(toolchain.family) if lto else ()
    objects: dict[str, str] = {}
    base_inputs = case_inputs(case)

    def finish(failed: Step | None, archive: str | None = None, output: str | None = None) -> CaseBuild:
        return CaseBuild(case, variant, folder, builder.steps, objects, archive, output, failed)

    for source in case.sources:
        per_file = case.file_flags(source)
        obj = object_name(source)
        flags = [*toolchain.cflags, *case.cflags, *(lto_flags if per_file.lto else ()), *per_file.cflags]
        step = builder.step(
            toolchain.cc, [*flags, "-c", source, "-o", obj], inputs=base_inputs, env=env, cacheable=cacheable
        )
        if not step.ok:
            return finish(step)
        objects[source] = obj
    link_inputs = [objects[s] for s in case.sources]
    archive = None
    if case.archive:
        archive = case.archive.name
        members = [objects[s] for s in case.archive.members]
        ops = "rcsT" if case.archive.thin else "rcs"
        step = builder.step(archiver or toolchain.ar, [ops, archive, *members], inputs=members, cacheable=cacheable)
        if not step.ok:
            return finish(step, archive)
        link_inputs = [o for o in link_inputs if o not in members] + [archive]
    if case.link == "none":
        return finish(None, archive)
    output = "prog" if case.link == "exe" else "combined.o"
    kind = ["-r"] if case.link == "relocatable" else []
    archive_inputs = [objects[s] for s in case.archive.members] if case.archive else []
    args = link_arguments(toolchain, case, variant, link_inputs, output, [*link_flags, *kind])
    step = builder.step(toolchain.cc, args, inputs=[*link_inputs, *archive_inputs], env=env, cacheable=cacheable)
    return finish(None if step.ok else step, archive, output)


def link_arguments(
    toolchain: Toolchain,
    case: Case,
    variant: str,
    inputs: Sequence[str],
    output: str,
    extra: Sequence[str] = (),
) -> list[str]:
    """The driver's arguments for linking ``inputs``: the one place that knows the flag order.

    The compile flags come again (GCC and clang take code-generation flags
    at link time, where LTO generates the code), then the LTO flags in the
    ``lto`` variant, the linker choice, the user's and the case's link flags,
    the caller's ``extra`` flags, the inputs and the output.
    """
    lto = case.lto_flags_for(toolchain.family) if variant == "lto" else ()
    return [
        *toolchain.cflags,
        *case.cflags,
        *lto,
        *toolchain.linker_flags,
        *toolchain.ldflags,
        *case.ldflags,
        *extra,
        *inputs,
        "-o",
        output,
    ]
