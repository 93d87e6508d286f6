"""What changed against a previous run: by toolchain, property and case.

Toolchains of the baseline pair with those of this run by ``--baseline-map
OLD=NEW`` first, then by column key (label, or label@host), then by label,
then by family, version, linker and target. A baseline of one toolchain
compares with a run of one toolchain whatever their labels, and says so.
Within a pair, tests match by property and parameters without the
toolchain's label, so renaming a toolchain or moving a test file does not
turn every test into NEW and GONE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError
from .report import case_key, is_bad

DRIFT = 0.25
# Below these absolute changes a figure is noise, whatever the ratio (a 0.05 s link that took 0.08 s).
NOISE = {"_seconds": 0.2, "_mib": 8.0, "_pct": 1.0}


@dataclass(frozen=True)
class Pair:
    before: str
    after: str
    how: str


@dataclass(frozen=True)
class Change:
    key: str
    property: str
    case: str
    before: str
    after: str

    def where(self) -> str:
        return f"{self.key}  {self.property}  {self.case}".rstrip()


@dataclass(frozen=True)
class Drift:
    key: str
    property: str
    case: str
    figure: str
    before: float
    after: float

    def text(self) -> str:
        change = (self.after - self.before) / abs(self.before) * 100
        where = f"{self.key}  {self.property}  {self.case}  {self.figure}"
        return f"{where}: {self.before:g} -> {self.after:g} ({change:+.0f} %)"


@dataclass
class Diff:
    pairs: list[Pair] = field(default_factory=list)
    regressed: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    gone: list[Change] = field(default_factory=list)
    figures: list[Drift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def marks(self) -> dict[tuple[str, str], set[str]]:
        """(property, key of this run) -> {"regressed", "fixed", "drift"}: what the matrix marks."""
        out: dict[tuple[str, str], set[str]] = {}
        for kind, changes in (("regressed", self.regressed), ("fixed", self.fixed), ("drift", self.figures)):
            for c in changes:
                out.setdefault((c.property, c.key), set()).add(kind)
        return out


def parse_map(values: Iterable[str]) -> dict[str, str]:
    """``--baseline-map OLD=NEW`` (repeatable) as {OLD: NEW}."""
    out: dict[str, str] = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UsageError(f"--baseline-map {value!r}: expected OLD=NEW (a baseline toolchain = one of this run)")
        if old.strip() in out:
            raise UsageError(f"--baseline-map: {old.strip()} is mapped twice")
        out[old.strip()] = new.strip()
    return out


def check_map(mapping: Mapping[str, str], before: dict, labels: Sequence[str]) -> None:
    """Both sides of every OLD=NEW must name a toolchain, or the map is a usage error."""
    known = {name for t in before["toolchains"] for name in (t["label"], t["key"])}
    for old, new in mapping.items():
        if old not in known:
            raise UsageError(
                f"--baseline-map {old}={new}: the baseline has no toolchain {old} (it has {', '.join(sorted(known))})"
            )
        if new not in labels:
            raise UsageError(
                f"--baseline-map {old}={new}: this run has no toolchain {new} (it has {', '.join(labels)})"
            )


def pair(before: Sequence[dict], after: Sequence[dict], mapping: Mapping[str, str] | None = None) -> list[Pair]:
    old, new = list(before), list(after)
    pairs: list[Pair] = []

    def take(o: dict, n: dict, how: str) -> None:
        pairs.append(Pair(o["key"], n["key"], how))
        old.remove(o)
        new.remove(n)

    for o_name, n_name in (mapping or {}).items():
        o = next((t for t in old if o_name in (t["key"], t["label"])), None)
        n = next((t for t in new if n_name in (t["key"], t["label"])), None)
        if o is not None and n is not None:
            take(o, n, "--baseline-map")
    for field_name, how in (
        (lambda t: t["key"], "same toolchain"),
        (lambda t: t["label"], "same label"),
        (lambda t: (t["family"], t["version"], t["linker_flavour"], t["target"]), "same compiler, linker and target"),
    ):
        for o in list(old):
            value = field_name(o)
            if not value or value == ("", "", "", ""):
                continue
            olds = [t for t in old if field_name(t) == value]
            news = [t for t in new if field_name(t) == value]
            if len(olds) == 1 and len(news) == 1:
                take(o, news[0], how)
    if len(before) == 1 and len(after) == 1 and old and new:
        take(old[0], new[0], "the only toolchain on each side")
    return pairs


def compare(before: dict, after: dict, mapping: Mapping[str, str] | None = None) -> Diff:
    """Verdict changes and figure drifts (over 25 %, above noise) per paired toolchain."""
    diff = Diff(pairs=pair(before["toolchains"], after["toolchains"], mapping))
    partner = {p.before: p.after for p in diff.pairs}
    paired_after = set(partner.values())
    old_tests = {(partner[t["key"]], t["property"], case_key(t)): t for t in before["tests"] if t["key"] in partner}
    new_tests = {(t["key"], t["property"], case_key(t)): t for t in after["tests"]}
    for ident, test in new_tests.items():
        prior = old_tests.get(ident)
        if prior is None:
            diff.new.append(_change(test, "", test["outcome"]))
            continue
        change = _change(test, prior["outcome"], test["outcome"])
        if not is_bad(prior) and is_bad(test):
            diff.regressed.append(change)
        elif is_bad(prior) and not is_bad(test):
            diff.fixed.append(change)
        earlier = flatten(prior.get("figures", {}))
        for figure, value in flatten(test.get("figures", {})).items():
            was = earlier.get(figure)
            if _number(value) and _number(was) and _drifted(figure, float(was), float(value)):
                diff.figures.append(Drift(test["key"], test["property"], _case(test), figure, float(was), float(value)))
    for ident, test in old_tests.items():
        if ident not in new_tests:
            diff.gone.append(_change(test, test["outcome"], "", key=ident[0]))
    for test in before["tests"]:
        if test["key"] not in partner:
            diff.gone.append(_change(test, test["outcome"], ""))
    for p in diff.pairs:
        if p.how not in ("same toolchain", "same label"):
            diff.notes.append(f"baseline {p.before} compared with {p.after} ({p.how})")
    for t in before["toolchains"]:
        if t["key"] not in partner:
            diff.notes.append(
                f"baseline {t['key']} ({t.get('id', '?')}) has no partner in this run: "
                f"pair it with --baseline-map {t['key']}=NEW"
            )
    for t in after["toolchains"]:
        if t["key"] not in paired_after:
            diff.notes.append(f"{t['key']} ({t.get('id', '?')}) has no partner in the baseline")
    return diff


def _case(test: dict) -> str:
    return test.get("case") or case_key(test)


def _change(test: dict, before: str, after: str, key: str | None = None) -> Change:
    return Change(key or test["key"], test["property"], _case(test), before, after)


def _drifted(figure: str, was: float, now: float) -> bool:
    if not was or abs(now - was) / abs(was) <= DRIFT:
        return False
    floor = next((v for suffix, v in NOISE.items() if figure.endswith(suffix)), 0.0)
    return abs(now - was) >= floor


def flatten(figures: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested figures ({"cost": {"lto_link_seconds": 1}}) as dotted keys, so every number is compared."""
    out: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _by_key(changes: Sequence[Change]) -> str:
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.key] = counts.get(c.key, 0) + 1
    return ", ".join(f"{k}: {n}" for k, n in counts.items())


def diff_lines(diff: Diff, verbose: bool = False) -> list[str]:
    lines = [
        f"regressed: {len(diff.regressed)}  fixed: {len(diff.fixed)}  new: {len(diff.new)}  "
        f"gone: {len(diff.gone)}  cost drifts: {len(diff.figures)}"
    ]
    lines += [f"  note: {n}" for n in diff.notes]
    lines += [f"  REGRESSED {c.where()}: {c.before} -> {c.after}" for c in diff.regressed]
    lines += [f"  FIXED     {c.where()}: {c.before} -> {c.after}" for c in diff.fixed]
    if verbose:
        lines += [f"  NEW       {c.where()}: {c.after}" for c in diff.new]
        lines += [f"  GONE      {c.where()} (was {c.before})" for c in diff.gone]
    else:
        if diff.new:
            lines.append(f"  NEW       {len(diff.new)} tests ({_by_key(diff.new)}); -v lists them")
        if diff.gone:
            lines.append(f"  GONE      {len(diff.gone)} tests ({_by_key(diff.gone)}); -v lists them")
    lines += [f"  DRIFT     {d.text()}" for d in diff.figures]
    return lines
