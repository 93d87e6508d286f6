"""Explain known kbuild failures for a person, from a table of signatures.

A failed kernel build says what went wrong in kbuild's words (an unmet
``depends on LD_IS_LLD``, a relocation that "can not be used when making a
PIE object"); what the person must change is a different sentence. The
signatures are data (``kbuild_hints.toml``: stage, pattern, facts that must
hold, explanation), validated when first loaded, each with a recorded log
under ``tests/kbuild_logs/``.
"""

from __future__ import annotations

import functools
import re
import shlex
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .process import run
from .toolchain import Toolchain

TABLE = Path(__file__).with_name("kbuild_hints.toml")
STAGES = ("config", "build")
FACTS = ("cc_defaults_to_pie",)
FIELDS = ("cc", "family", "linker", "ld")
KEYS = ("name", "stage", "pattern", "when", "text")
PROBE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Hint:
    name: str
    stage: str
    pattern: re.Pattern[str]
    when: tuple[str, ...]
    text: str


class HintTableError(ValueError):
    """The hint table does not follow its format: names the file, entry and key."""


def load(path: Path = TABLE) -> tuple[Hint, ...]:
    """Read and check every entry: keys, stage, regex, facts and template fields."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HintTableError(f"{path}: {exc}") from exc
    unknown_top = sorted(set(data) - {"hint"})
    if unknown_top:
        raise HintTableError(f"{path}: key '{unknown_top[0]}' is not known (only [[hint]] entries)")
    hints = []
    for number, entry in enumerate(data.get("hint", []), 1):
        where = f"{path}: hint {number} ({entry.get('name', '?')})"
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise HintTableError(f"{where}: key '{unknown[0]}' is not known ({', '.join(KEYS)})")
        for key in ("name", "stage", "pattern", "text"):
            if not isinstance(entry.get(key), str):
                raise HintTableError(f"{where}: key '{key}' is required and must be a string")
        if entry["stage"] not in STAGES:
            raise HintTableError(f"{where}: key 'stage' must be one of {', '.join(STAGES)}")
        try:
            pattern = re.compile(entry["pattern"])
        except re.error as exc:
            raise HintTableError(f"{where}: key 'pattern': {exc}") from exc
        when = entry.get("when", [])
        if not isinstance(when, list) or not all(isinstance(w, str) for w in when):
            raise HintTableError(f"{where}: key 'when' must be a list of strings")
        for fact in when:
            if fact not in FACTS and not re.fullmatch(r"unset:[A-Z0-9_]+", fact):
                raise HintTableError(f"{where}: key 'when': {fact!r} is not a known fact ({', '.join(FACTS)}, unset:X)")
        fields = {f for _, f, _, _ in string.Formatter().parse(entry["text"]) if f is not None}
        if fields - set(FIELDS):
            raise HintTableError(f"{where}: key 'text': unknown field {{{sorted(fields - set(FIELDS))[0]}}}")
        hints.append(Hint(entry["name"], entry["stage"], pattern, tuple(when), entry["text"]))
    names = [h.name for h in hints]
    if len(set(names)) != len(names):
        raise HintTableError(f"{path}: hint names must be unique")
    return tuple(hints)


@functools.cache
def table() -> tuple[Hint, ...]:
    return load()


def defaults_to_pie(argv: tuple[str, ...]) -> bool:
    """GCC says so in ``-v`` (``--enable-default-pie``); other drivers through ``__PIE__``."""
    step = run([*argv, "-v"], cwd=Path("/"), timeout=PROBE_TIMEOUT, measure_rss=False)
    if "--enable-default-pie" in step.output:
        return True
    if "Configured with:" in step.output:
        return False
    step = run([*argv, "-dM", "-E", "-x", "c", "/dev/null"], cwd=Path("/"), timeout=PROBE_TIMEOUT, measure_rss=False)
    return step.ok and re.search(r"^#define __PIE__ ", step.output, re.M) is not None


def explain(
    stage: str,
    text: str,
    *,
    config: Mapping[str, str],
    variables: Mapping[str, str],
    tc: Toolchain,
    hints: tuple[Hint, ...] | None = None,
    pie: Callable[[tuple[str, ...]], bool] = defaults_to_pie,
) -> list[str]:
    """Every matching hint's explanation, in table order."""
    facts: dict[str, bool] = {}

    def holds(fact: str) -> bool:
        if fact.startswith("unset:"):
            return config.get(fact.removeprefix("unset:"), "n") != "y"
        if fact not in facts:
            facts[fact] = pie(tc.cc.argv)
        return facts[fact]

    fields = {
        "cc": shlex.join(tc.cc.argv),
        "family": tc.family,
        "linker": tc.linker,
        "ld": variables.get("LD", "ld.lld from LLVM=" if tc.family == "clang" else "ld"),
    }
    out = []
    for hint in table() if hints is None else hints:
        if hint.stage == stage and hint.pattern.search(text) and all(holds(f) for f in hint.when):
            out.append(hint.text.format(**fields))
    return out
