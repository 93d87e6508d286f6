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

from . import schema
from .errors import CaseError
from .schema import (
    FAMILIES,
    Bool,
    Converted,
    Either,
    Field,
    Int,
    ListOf,
    OneOf,
    PerFamily,
    Record,
    SchemaError,
    Scope,
    Source,
    Str,
    TableOf,
)

if TYPE_CHECKING:
    from .toolchain import Toolchain

LINK_KINDS = ("exe", "relocatable", "none")


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


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion as exc:
        raise ValueError(str(exc)) from exc


class _Expectations(schema.Spec):
    """Placeholder for the docs: ``[expect]``/``[control]`` are checked against the property's schema."""

    def describe(self) -> str:
        return "table: the property's keys"


FILE_FIELDS = {"cflags": Field(ListOf(Str), default=[]), "lto": Field(Bool, default=True)}
ARCHIVE_FIELDS = {
    "members": Field(ListOf(Source()), required=True),
    "thin": Field(Bool, default=False),
    "name": Field(Str, default="libprobe.a"),
}
RUN_FIELDS = {"stdout": Field(Str), "exit": Field(Int, default=0)}
REQUIRES_FIELDS = {
    "family": Field(OneOf(FAMILIES)),
    "min_version": Field(Converted(Str, _version, "version")),
    "linkers": Field(ListOf(Str), default=[]),
    "arch": Field(ListOf(Str), default=[]),
    "native": Field(Bool, default=False),
    "runs": Field(Bool, default=False),
    "because": Field(Str, default=""),
}
# The keys of every case.toml, in the order they are checked (sources before what names them).
CASE_FIELDS = {
    "why": Field(Str, required=True),
    "sources": Field(ListOf(Source(exists=True), min_items=1), default=[]),
    "cflags": Field(ListOf(Str), default=[]),
    "ldflags": Field(ListOf(Str), default=[]),
    "lto_flags": Field(Either((ListOf(Str), PerFamily(ListOf(Str), default=["-flto"]))), default=["-flto"]),
    "link": Field(OneOf(LINK_KINDS), default="exe"),
    "files": Field(TableOf(Record(FILE_FIELDS), keys=Source(), key_name='"source.c"'), default={}),
    "archive": Field(Record(ARCHIVE_FIELDS)),
    "run": Field(Record(RUN_FIELDS)),
    "requires": Field(Record(REQUIRES_FIELDS)),
    "expect": Field(_Expectations()),
    "control": Field(_Expectations()),
}
EXPECTATION_UNKNOWN = "is not an expectation this property knows (known: {known})"


def load_case(
    directory: Path,
    property_name: str,
    expectations: Mapping[str, Any],
    needs: Mapping[str, Any] | None = None,
) -> Case:
    """Read one case folder; raise CaseError naming file and key on any problem.

    ``expectations`` is the property's schema of ``[expect]``/``[control]``
    keys (Fields, Specs or plain types); ``needs`` what its cases must be
    (``{"archive.thin": True, "link": "relocatable"}``).
    """
    path = directory / "case.toml"
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CaseError(f"{path}: {exc}") from exc
    fields = schema.expectations(expectations)
    raw_sources = data.get("sources")
    scope = Scope(
        directory, tuple(s for s in raw_sources if isinstance(s, str)) if isinstance(raw_sources, list) else ()
    )
    try:
        top = schema.check_table(
            CASE_FIELDS, {k: v for k, v in data.items() if k not in ("expect", "control")}, "", scope
        )
        if "expect" in data:
            top["expect"] = schema.check_table(
                fields, _table(data, "expect"), "expect", scope, unknown=EXPECTATION_UNKNOWN
            )
        else:
            top["expect"] = schema.check_table(fields, {}, "expect", scope)
        top["control"] = schema.check_table(
            fields, _table(data, "control"), "control", scope, unknown=EXPECTATION_UNKNOWN, control=True
        )
        _check_needs(top, property_name, needs or {})
    except SchemaError as exc:
        raise CaseError(f"{path}: {exc}") from exc
    return _case(directory, property_name, top)


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SchemaError(key, f"must be a table, not {type(value).__name__}")
    return value


@dataclass(frozen=True)
class When:
    """A ``needs`` entry for some cases only: ``{"archive": When("expect.target", "archive")}``."""

    key: str
    value: Any


def _lookup(top: Mapping[str, Any], dotted: str) -> Any:
    value: Any = top
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _check_needs(top: Mapping[str, Any], property_name: str, needs: Mapping[str, Any]) -> None:
    """What a property's cases must be, beyond their keys' types: a thin [archive], a -r link."""
    for dotted, wanted in needs.items():
        value = _lookup(top, dotted)
        if isinstance(wanted, When):
            if _lookup(top, wanted.key) == wanted.value and not value:
                raise SchemaError(dotted, f"{property_name} cases with {wanted.key} = {wanted.value!r} need it")
            continue
        if wanted is True and not value:
            raise SchemaError(dotted, f"{property_name} cases need it")
        if wanted is not True and value != wanted:
            raise SchemaError(dotted, f"{property_name} cases need {wanted!r} (not {value!r})")


def _case(directory: Path, property_name: str, top: Mapping[str, Any]) -> Case:
    lto = top["lto_flags"]
    lto_flags = {f: tuple(lto) for f in FAMILIES} if isinstance(lto, list) else {f: tuple(v) for f, v in lto.items()}
    archive = top.get("archive")
    run_table = top.get("run") or {}
    req = top.get("requires")
    requires = Requires()
    if req is not None:
        requires = Requires(
            req.get("family"),
            req.get("min_version"),
            linkers=tuple(req["linkers"]),
            arch=tuple(req["arch"]),
            native=req["native"],
            runs=req["runs"],
            because=req["because"],
        )
    return Case(
        property=property_name,
        name=directory.name,
        directory=directory,
        why=top["why"],
        sources=tuple(top["sources"]),
        cflags=tuple(top["cflags"]),
        ldflags=tuple(top["ldflags"]),
        lto_flags=lto_flags,
        files={name: FileFlags(tuple(f["cflags"]), f["lto"]) for name, f in top["files"].items()},
        archive=Archive(tuple(archive["members"]), archive["thin"], archive["name"]) if archive else None,
        link=top["link"],
        run_stdout=run_table.get("stdout"),
        run_exit=run_table.get("exit", 0),
        requires=requires,
        expect=top["expect"],
        control=top["control"],
    )


def load_cases(
    root: Path, property_name: str, expectations: Mapping[str, Any], needs: Mapping[str, Any] | None = None
) -> list[Case]:
    """All cases of one property, sorted by name so ids are stable."""
    folder = root / property_name
    if not folder.is_dir():
        return []
    return [
        load_case(d, property_name, expectations, needs)
        for d in sorted(folder.iterdir())
        if (d / "case.toml").is_file()
    ]
