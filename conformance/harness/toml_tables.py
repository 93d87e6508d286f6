"""The one shape of the suite's TOML input files: an array of tables, each checked against its keys.

``--known-failures`` holds ``[[failure]]`` tables, ``--toolchains``
``[[toolchain]]`` tables. Both are read the same way: a file that does not
parse, a table or key beside the array, an entry with an unknown or a
missing key is one ``UsageError`` naming the option, the file and the entry.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .errors import UsageError


def read_entries(path: Path, where: str, table: str, *, allow_empty: bool = True) -> list[dict[str, Any]]:
    """The ``[[table]]`` entries of ``path``; ``where`` names the option and file in messages."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{where}: {exc}") from None
    extra = sorted(set(data) - {table})
    if extra:
        raise UsageError(f"{where}: unknown table or key {extra[0]!r}; entries are [[{table}]] tables")
    entries = data.get(table, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"{where}: {table!r} must be an array of tables ([[{table}]])")
    if not entries and not allow_empty:
        raise UsageError(f"{where}: no [[{table}]] entry")
    return entries


def check_keys(raw: dict[str, Any], where: str, allowed: Collection[str], required: Collection[str]) -> None:
    """An entry's keys: none unknown (the known ones listed), none of ``required`` missing."""
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(allowed)}")
    missing = [key for key in required if key not in raw]
    if missing:
        raise UsageError(f"{where}: missing key {missing[0]!r}")
