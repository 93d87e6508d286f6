"""The shape of a case.toml, declared once: types down to nested tables, required keys, defaults, enums.

A schema is data, the way Meson's ``test.schema.json`` is: the loader checks
every value against it (``check``), fills in the defaults, and the key
tables of ``cases/README.md`` are generated from it (``describe``), so the
documentation cannot drift from what is accepted. A mistake anywhere is a
``SchemaError`` carrying the key path (``expect.inlined[0].calee``) and what
is wrong; the loader adds the file.

Plain Python types (``list``, ``dict``, ``str``, ``int``, ``float``,
``bool``) stay accepted where a spec is expected and mean "any list", "any
table" or that scalar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAMILIES = ("gcc", "clang")
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class SchemaError(Exception):
    """A value that does not fit its spec: ``key`` is the path to it, ``problem`` says why."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"key '{key}': {problem}")
        self.key, self.problem = key, problem


@dataclass
class Scope:
    """What a check may refer to besides the value: the case's folder and its sources."""

    directory: Path | None = None
    sources: tuple[str, ...] = ()


class Spec:
    """One kind of value; ``check`` returns it normalised or raises SchemaError."""

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


_NAMES = {str: "string", int: "integer", float: "number", bool: "bool", list: "list", dict: "table"}


def _kind(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Scalar(Spec):
    kind: type

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, self.kind) or (self.kind is not bool and isinstance(value, bool)):
            article = "an" if _NAMES[self.kind][0] in "aeiou" else "a"
            raise SchemaError(key, f"must be {article} {_NAMES[self.kind]}, not {_kind(value)}")
        return value

    def describe(self) -> str:
        return _NAMES[self.kind]


Str, Int, Float, Bool = Scalar(str), Scalar(int), Scalar(float), Scalar(bool)


@dataclass(frozen=True)
class Anything(Spec):
    """What a plain ``list`` or ``dict`` in a schema means: that container, items unchecked."""

    container: type

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        if not isinstance(value, self.container):
            raise SchemaError(key, f"must be a {_NAMES[self.container]}, not {_kind(value)}")
        return value

    def describe(self) -> str:
        return _NAMES[self.container]


@dataclass(frozen=True)
class OneOf(Spec):
    """A string from a closed set (IR kinds, link kinds, families)."""

    choices: tuple[str, ...]

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        Str.check(value, key, scope)
        if value not in self.choices:
            raise SchemaError(key, f"must be one of {', '.join(self.choices)} (not {value!r})")
        return value

    def describe(self) -> str:
        return " \\| ".join(f'`"{c}"`' for c in self.choices)


@dataclass(frozen=True)
class Source(Spec):
    """A file name that must be one of the case's ``sources`` (or, with ``exists``, in its folder)."""

    exists: bool = False

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        Str.check(value, key, scope)
        if self.exists:
            if scope.directory is not None and not (scope.directory / value).is_file():
                raise SchemaError(key, f"{value!r} does not exist in {scope.directory}")
        elif value not in scope.sources:
            raise SchemaError(key, f"{value!r} names a file that is not in 'sources'")
        return value

    def describe(self) -> str:
        return "file" if self.exists else "source file"


@dataclass(frozen=True)
class Converted(Spec):
    """A value read by ``spec`` and turned into something richer (a Version); ``convert`` may raise ValueError."""

    spec: Spec
    convert: Callable[[Any], Any]
    name: str

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        value = self.spec.check(value, key, scope)
        try:
            return self.convert(value)
        except ValueError as exc:
            raise SchemaError(key, str(exc)) from exc

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec
    min_items: int = 0

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        if not isinstance(value, list):
            raise SchemaError(key, f"must be a list of {_plural(self.item)}, not {_kind(value)}")
        if len(value) < self.min_items:
            what = f"one {self.item.describe()}" if self.min_items == 1 else f"{self.min_items} {_plural(self.item)}"
            raise SchemaError(key, f"must list at least {what}")
        return [self.item.check(v, f"{key}[{i}]", scope) for i, v in enumerate(value)]

    def describe(self) -> str:
        return f"list of {_plural(self.item)}"


def _plural(spec: Spec) -> str:
    text = spec.describe()
    if isinstance(spec, Record):
        return "tables " + text.removeprefix("table ")
    if isinstance(spec, Scalar | Source):
        return text + "s"
    return text


@dataclass(frozen=True)
class TableOf(Spec):
    """A table of any keys (symbol names, sources) to values of one spec."""

    value: Spec
    keys: Spec = Str
    key_name: str = "name"

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        if not isinstance(value, dict):
            raise SchemaError(key, f"must be a table, not {_kind(value)}")
        out = {}
        for name, item in value.items():
            self.keys.check(name, f"{key}.{name}", scope)
            out[name] = self.value.check(item, f"{key}.{name}", scope)
        return out

    def describe(self) -> str:
        return f"table {{{self.key_name} = {self.value.describe()}}}"


@dataclass(frozen=True)
class PerFamily(Spec):
    """``{gcc = ..., clang = ...}``: one value per compiler family; ``default`` fills a family not named."""

    value: Spec
    default: Any = MISSING

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        if not isinstance(value, dict):
            raise SchemaError(key, f"must be a table {{gcc = ..., clang = ...}}, not {_kind(value)}")
        for name in value:
            if name not in FAMILIES:
                raise SchemaError(f"{key}.{name}", f"is not a compiler family ({', '.join(FAMILIES)})")
        out = {name: self.value.check(item, f"{key}.{name}", scope) for name, item in value.items()}
        if self.default is not MISSING:
            for name in FAMILIES:
                out.setdefault(name, _copy(self.default))
        return out

    def describe(self) -> str:
        text = f"`{{gcc = ..., clang = ...}}` of {self.value.describe()}"
        return text if self.default is MISSING else f"{text} (a family not named: `{_toml(self.default)}`)"


@dataclass(frozen=True)
class Either(Spec):
    """The first of ``choices`` that fits (``lto_flags``: a list, or a table per family)."""

    choices: tuple[Spec, ...]

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        for choice in self.choices:
            try:
                return choice.check(value, key, scope)
            except SchemaError as exc:
                if exc.key != key:  # it had the right shape and a wrong item: that is the error
                    raise
        raise SchemaError(key, f"must be a {' or a '.join(c.describe() for c in self.choices)}, not {_kind(value)}")

    def describe(self) -> str:
        return ", or ".join(c.describe() for c in self.choices)


@dataclass(frozen=True)
class Field:
    """One key of a table: its spec, whether it must be given, its default, where it may appear."""

    spec: Spec
    required: bool = False
    default: Any = MISSING
    expect_only: bool = False


@dataclass(frozen=True)
class Record(Spec):
    """A table with a fixed set of keys; anything else is a typo."""

    fields: Mapping[str, Field]
    unknown: str = "is not a known key (typo?)"

    def check(self, value: Any, key: str, scope: Scope) -> Any:
        if not isinstance(value, dict):
            raise SchemaError(key, f"must be a table, not {_kind(value)}")
        return check_table(self.fields, value, key, scope, unknown=self.unknown)

    def describe(self) -> str:
        return "table {" + ", ".join(self.fields) + "}"


def check_table(
    fields: Mapping[str, Field],
    table: Mapping[str, Any],
    prefix: str,
    scope: Scope,
    *,
    unknown: str = "is not a known key (typo?)",
    control: bool = False,
) -> dict[str, Any]:
    """Check every key of ``table`` in declaration order; fill defaults; ``control`` tables need nothing."""
    where = f"{prefix}." if prefix else ""
    for name in table:
        if name not in fields:
            raise SchemaError(where + name, unknown.format(known=", ".join(fields) or "none"))
        if control and fields[name].expect_only:
            raise SchemaError(where + name, "belongs in [expect] only")
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if name in table:
            out[name] = spec.spec.check(table[name], where + name, scope)
        elif spec.required and not control:
            raise SchemaError(where + name, "is required")
        elif spec.default is not MISSING and not (control and spec.expect_only):
            out[name] = _copy(spec.default)
    return out


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, list | dict) else value


PLAIN: dict[type, Spec] = {
    str: Str,
    int: Int,
    float: Float,
    bool: Bool,
    list: Anything(list),
    dict: Anything(dict),
}


def as_field(value: Field | Spec | type) -> Field:
    """A schema entry as written by a property: a Field, a Spec, or a plain Python type."""
    if isinstance(value, Field):
        return value
    if isinstance(value, Spec):
        return Field(value)
    if value in PLAIN:
        return Field(PLAIN[value])
    raise TypeError(
        f"not a schema entry: {value!r} (use a Field, a Spec or one of {', '.join(t.__name__ for t in PLAIN)})"
    )


def expectations(schema: Mapping[str, Field | Spec | type]) -> dict[str, Field]:
    return {name: as_field(value) for name, value in schema.items()}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


def markdown_rows(fields: Mapping[str, Field]) -> list[str]:
    """``| key | type | default | in |`` rows for a key table of cases/README.md."""
    rows = []
    for name, f in fields.items():
        default = "required" if f.required else ("" if f.default is MISSING else f"`{_toml(f.default)}`")
        rows.append(
            f"| `{name}` | {f.spec.describe()} | {default} | {'expect' if f.expect_only else 'expect, control'} |"
        )
    return rows


def markdown_table(properties: Sequence[tuple[str, Mapping[str, Field]]]) -> str:
    """The expectation keys of every property, one table, as cases/README.md shows them."""
    lines = ["| property | key | type | default | in |", "|---|---|---|---|---|"]
    for prop, fields in properties:
        lines += [f"| `{prop}` " + row for row in markdown_rows(fields)] or [f"| `{prop}` | | | | |"]
    return "\n".join(lines)


def key_table(fields: Mapping[str, Field]) -> str:
    """The top-level keys of a case.toml, as cases/README.md shows them."""
    lines = ["| key | type | default |", "|---|---|---|"]
    for row in markdown_rows(fields):
        lines.append(row.rsplit(" | ", 1)[0] + " |")
    return "\n".join(lines)
