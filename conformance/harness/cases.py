"""Load ``cases/<property>/<case>/case.toml`` into validated ``Case`` objects.

Cases are data: what to build (sources, per-file flags, archive, link kind),
what the LTO build must show (``[expect]``), what the same build without LTO
must not show (``[control]``), and why the property matters. Every key is
checked on load so a typo is a ``CaseError`` naming the file and the key,
not a probe that silently checks nothing. The format is documented in
``cases/README.md``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from .errors import CaseError

if TYPE_CHECKING:
    from .toolchain import Toolchain

LINK_KINDS = ("exe", "relocatable", "none")
FAMILIES = ("gcc", "clang")


@dataclass(frozen=True)
class FileFlags:
    """Per-file build settings: the kernel builds files with different flags."""

    cflags: tuple[str, ...] = ()
    lto: bool = True


@dataclass(frozen=True)
class Archive:
    members: tuple[str, ...]
    thin: bool = False
    name: str = "libprobe.a"


@dataclass(frozen=True)
class Requires:
    """Facts a toolchain must have for the case to apply (lit's REQUIRES).

    Evaluated against the facts detected once per toolchain (family,
    version, linker, target CPU, whether its programs run here); ``because``
    is the case's explanation, shown with the skip.
    """

    family: str | None = None
    min_version: Version | None = None
    linkers: tuple[str, ...] = ()
    arch: tuple[str, ...] = ()
    native: bool = False
    runs: bool = False
    because: str = ""

    def unmet(self, toolchain: Toolchain) -> str | None:
        """Why the case does not apply to this toolchain, or None."""
        reason = self._unmet(toolchain)
        if reason and self.because:
            return f"{reason} ({self.because})"
        return reason

    def _unmet(self, t: Toolchain) -> str | None:
        if self.family and self.family != t.family:
            return f"needs a {self.family} toolchain"
        if self.min_version and t.version < self.min_version:
            return f"needs {t.family} >= {self.min_version}"
        if self.linkers and t.linker not in self.linkers:
            return f"needs one of the linkers {', '.join(self.linkers)} (this one uses {t.linker})"
        if self.arch and t.arch not in self.arch:
            return f"needs a target CPU among {', '.join(self.arch)} (target is {t.target})"
        if self.native and not t.runs_natively:
            return "needs to run its program on this machine (cross toolchain)"
        if self.runs and not t.runs:
            return f"needs to run its program, and programs for {t.target} do not run here: {t.run_note}"
        return None


@dataclass(frozen=True)
class Case:
    property: str
    name: str
    directory: Path
    why: str
    sources: tuple[str, ...]
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    lto_flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    files: Mapping[str, FileFlags] = field(default_factory=dict)
    archive: Archive | None = None
    link: str = "exe"
    run_stdout: str | None = None
    run_exit: int = 0
    requires: Requires = field(default_factory=Requires)
    expect: Mapping[str, Any] = field(default_factory=dict)
    control: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.property}/{self.name}"

    @property
    def path_for_humans(self) -> str:
        return f"cases/{self.property}/{self.name}"

    def lto_flags_for(self, family: str) -> tuple[str, ...]:
        return self.lto_flags.get(family, ("-flto",))

    def file_flags(self, source: str) -> FileFlags:
        return self.files.get(source, FileFlags())


class _Reader:
    """Typed access to one TOML table that reports file and key on error."""

    def __init__(self, path: Path, table: Mapping[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix
        self.seen: set[str] = set()

    def fail(self, key: str, problem: str) -> CaseError:
        return CaseError(f"{self.path}: key '{self.prefix}{key}': {problem}")

    def get(self, key: str, kind: type, default: Any = None, *, required: bool = False) -> Any:
        self.seen.add(key)
        if key not in self.table:
            if required:
                raise self.fail(key, "is required")
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be a {kind.__name__}, not {type(value).__name__}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(key, list, None)
        if value is None:
            return default
        if not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return tuple(value)

    def sub(self, key: str) -> _Reader | None:
        table = self.get(key, dict, None)
        return None if table is None else _Reader(self.path, table, f"{self.prefix}{key}.")

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        if unknown:
            raise self.fail(unknown[0], "is not a known key (typo?)")


def _check_expectations(reader: _Reader, schema: Mapping[str, type]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in reader.table:
        if key not in schema:
            known = ", ".join(sorted(schema)) or "none"
            raise reader.fail(key, f"is not an expectation this property knows (known: {known})")
        out[key] = reader.get(key, schema[key])
    return out


def load_case(directory: Path, property_name: str, schema: Mapping[str, type]) -> Case:
    """Read one case folder; raise CaseError naming file and key on any problem."""
    path = directory / "case.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CaseError(f"{path}: {exc}") from exc
    top = _Reader(path, data)
    why = top.get("why", str, required=True)
    sources = top.strings("sources")
    if not sources and "sources" in top.table:  # omitted: the property builds no probe (the kernel)
        raise top.fail("sources", "must list at least one source file")
    for source in sources:
        if not (directory / source).is_file():
            raise top.fail("sources", f"{source!r} does not exist in {directory}")
    lto_flags: dict[str, tuple[str, ...]] = {}
    raw_lto = top.table.get("lto_flags")
    top.seen.add("lto_flags")
    if isinstance(raw_lto, list):
        flags = top.strings("lto_flags")
        lto_flags = {family: flags for family in FAMILIES}
    elif isinstance(raw_lto, dict):
        lto_reader = _Reader(path, raw_lto, "lto_flags.")
        lto_flags = {family: lto_reader.strings(family) for family in FAMILIES if family in raw_lto}
        lto_reader.finish()
    elif raw_lto is not None:
        raise top.fail("lto_flags", "must be a list or a table {gcc = [...], clang = [...]}")
    files: dict[str, FileFlags] = {}
    file_table = top.sub("files")
    if file_table:
        for name in file_table.table:
            if name not in sources:
                raise file_table.fail(name, "names a file that is not in 'sources'")
            one = file_table.sub(name)
            assert one is not None
            files[name] = FileFlags(cflags=one.strings("cflags"), lto=one.get("lto", bool, True))
            one.finish()
    archive = None
    archive_table = top.sub("archive")
    if archive_table:
        members = archive_table.strings("members")
        for member in members:
            if member not in sources:
                raise archive_table.fail("members", f"{member!r} is not in 'sources'")
        archive = Archive(
            members=members,
            thin=archive_table.get("thin", bool, False),
            name=archive_table.get("name", str, "libprobe.a"),
        )
        archive_table.finish()
    link = top.get("link", str, "exe")
    if link not in LINK_KINDS:
        raise top.fail("link", f"must be one of {', '.join(LINK_KINDS)}")
    run_stdout, run_exit = None, 0
    run_table = top.sub("run")
    if run_table:
        run_stdout = run_table.get("stdout", str)
        run_exit = run_table.get("exit", int, 0)
        run_table.finish()
    requires = Requires()
    req = top.sub("requires")
    if req:
        family = req.get("family", str)
        if family is not None and family not in FAMILIES:
            raise req.fail("family", f"must be one of {', '.join(FAMILIES)}")
        raw_version = req.get("min_version", str)
        try:
            min_version = Version(raw_version) if raw_version else None
        except InvalidVersion as exc:
            raise req.fail("min_version", str(exc)) from exc
        requires = Requires(
            family,
            min_version,
            linkers=req.strings("linkers"),
            arch=req.strings("arch"),
            native=req.get("native", bool, False),
            runs=req.get("runs", bool, False),
            because=req.get("because", str, ""),
        )
        req.finish()
    expect_reader = top.sub("expect")
    control_reader = top.sub("control")
    expect = _check_expectations(expect_reader, schema) if expect_reader else {}
    control = _check_expectations(control_reader, schema) if control_reader else {}
    case = Case(
        property=property_name,
        name=directory.name,
        directory=directory,
        why=why,
        sources=sources,
        cflags=top.strings("cflags"),
        ldflags=top.strings("ldflags"),
        lto_flags=lto_flags,
        files=files,
        archive=archive,
        link=link,
        run_stdout=run_stdout,
        run_exit=run_exit,
        requires=requires,
        expect=expect,
        control=control,
    )
    top.finish()
    return case


def load_cases(root: Path, property_name: str, schema: Mapping[str, type]) -> list[Case]:
    """All cases of one property, sorted by name so ids are stable."""
    folder = root / property_name
    if not folder.is_dir():
        return []
    return [load_case(d, property_name, schema) for d in sorted(folder.iterdir()) if (d / "case.toml").is_file()]
