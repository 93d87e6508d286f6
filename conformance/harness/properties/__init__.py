"""The property registry: one entry per stable property name.

A ``Property`` names what it proves, which other properties it stands on
(``requires``: when one of those fails for a toolchain, this one is skipped
with ``blocked_by`` naming it, so one root cause gives one failure), which
expectation keys its cases may use, and the function that checks one case.
``evaluate`` is the single entry point used by the pytest layer and by the
self-tests. A check that trips over its case (a ``CaseError``, a missing key,
a failed ``assert`` on the case) or over the machine (``InfrastructureError``)
gives an ERROR verdict, never a FAIL: a broken case is not a broken toolchain.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..build import StepCache
from ..cases import Case, load_cases
from ..errors import CaseError, InfrastructureError
from ..schema import Field, Spec, expectations
from ..toolchain import Toolchain
from ..verdict import ERROR, FAIL, PASS, SKIP, Blocker, Findings, Verdict
from ..verdict_cache import VerdictCache, watching

CheckFunction = Callable[["Context", Case, Findings], str]


@dataclass(frozen=True)
class Property:
    """``expect_schema``: the ``[expect]``/``[control]`` keys (schema Fields); ``needs``: what
    its cases must be besides (``{"archive.thin": True}``), checked when they load.

    ``requires`` names properties, or one case of one (``"nm-symbols/symbols"``:
    the plain listing, not the known inline-asm gap, is what the check uses)."""

    name: str
    summary: str
    check: CheckFunction
    expect_schema: Mapping[str, Field]
    requires: tuple[str, ...] = ()
    needs: Mapping[str, Any] = field(default_factory=dict)
    # False where a verdict depends on more than the verdict cache's key covers (a kernel tree).
    cache_verdicts: bool = True

    def cases(self, root: Path) -> list[Case]:
        return load_cases(root, self.name, self.expect_schema, self.needs)


REGISTRY: dict[str, Property] = {}


def register(
    name: str,
    summary: str,
    schema: Mapping[str, Field | Spec | type],
    requires: tuple[str, ...] = (),
    needs: Mapping[str, Any] | None = None,
    cache_verdicts: bool = True,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a property: ``schema`` maps expectation keys to a Field, a Spec or a plain type."""

    def wrap(function: CheckFunction) -> CheckFunction:
        REGISTRY[name] = Property(
            name, summary, function, expectations(schema), requires, dict(needs or {}), cache_verdicts
        )
        return function

    return wrap


@dataclass
class Context:
    """Everything a check needs besides the case: toolchain, folders, cache.

    ``progress`` shows a line to the person while a long step runs (a kernel
    build); the pytest layer fills it with a printer that writes past its
    capture. ``kernel_src``/``kernel_config`` are those options, unchecked.
    """

    toolchain: Toolchain
    workspace: Path
    cache: StepCache
    cases_root: Path
    facts: dict[str, Verdict | None] = field(default_factory=dict)
    progress: Callable[[str], None] | None = None
    kernel_src: str | None = None
    kernel_config: str | None = None
    # --skew-cc: other versions of the compiler family, for version-skew (default: discovered).
    skew_cc: tuple[str, ...] = ()
    # Which xdist worker runs the checks (gw1 -> 1; 0 without xdist): see prerequisite_failure.
    worker_index: int = 0

    def cases(self, property_name: str) -> list[Case]:
        return REGISTRY[property_name].cases(self.cases_root)


class Skip(Exception):
    """Raised inside a check when the toolchain cannot have the property."""


def _applies(ctx: Context, case: Case) -> str | None:
    return case.requires.unmet(ctx.toolchain)


def prerequisite_failure(ctx: Context, name: str, case_name: str | None = None) -> Verdict | None:
    """The first verdict of property ``name`` for this toolchain that keeps it from holding, if any.

    A failure does, and so does a skip because of its own prerequisite or
    an error: either way nothing shows that ``name`` holds here. When
    ``name`` has a case called ``case_name`` only that case counts:
    kernel-boot's ``thin`` stands on kernel-build's ``thin``, not on ``full``.
    """
    cases = ctx.cases(name)
    same = [c for c in cases if c.name == case_name]
    key = f"{name}/{case_name}" if same else name
    if key not in ctx.facts:
        ctx.facts[key] = None
        ctx.facts[key] = _first_failure(ctx, name, same or cases)
    return ctx.facts[key]


def _keeps_from_holding(verdict: Verdict) -> bool:
    return verdict.outcome in (FAIL, ERROR) or verdict.blocked_by is not None


def _first_failure(ctx: Context, name: str, cases: list[Case]) -> Verdict | None:
    """The verdict of the first of ``cases``, in their order, that keeps ``name`` from holding, if any.

    At the start of a ``-n 2`` run both workers' first tests stand on the
    same prerequisites and check them at once; a verdict one worker stored
    is read back by the other. So odd-numbered workers check the cases from
    the last one: the two meet in the middle instead of building every case
    twice. The answer is the same either way, the first failure in the
    cases' order; walking from the front stops at it, walking from the back
    checks every case (each one a test of the run anyway).
    """
    verdicts: dict[int, Verdict] = {}
    order = range(len(cases)) if ctx.worker_index % 2 == 0 else range(len(cases) - 1, -1, -1)
    for index in order:
        verdicts[index] = evaluate(ctx, name, cases[index])
        for known in range(len(cases)):
            if known not in verdicts:
                break
            if _keeps_from_holding(verdicts[known]):
                return verdicts[known]
    return None


def evaluate(ctx: Context, name: str, case: Case) -> Verdict:
    """Check one case of one property for ctx's toolchain, or read the verdict back from the cache."""
    prop = REGISTRY[name]
    unmet = _applies(ctx, case)
    if unmet:
        verdict = Verdict(PASS, name, ctx.toolchain.full_id, case.path_for_humans, why=case.why)
        verdict.outcome, verdict.reason = SKIP, f"case does not apply: {unmet}"
        return verdict
    root = getattr(ctx.cache, "root", None) if prop.cache_verdicts else None
    if root is None:
        return _evaluate(ctx, prop, case)
    verdicts = VerdictCache(root)
    key = verdicts.key(name, case.path_for_humans, _context_parts(ctx), ctx.cases_root)
    kept = verdicts.load(key)
    if kept is not None:
        return kept
    with watching() as observation:
        verdict = _evaluate(ctx, prop, case)
    verdicts.store(key, verdict, observation, ctx.workspace)
    return verdict


def _context_parts(ctx: Context) -> list[str]:
    """What of the context a verdict depends on: the whole toolchain (every tool's identity) and the options."""
    return [repr(ctx.toolchain), repr((ctx.kernel_src, ctx.kernel_config, ctx.skew_cc))]


def _evaluate(ctx: Context, prop: Property, case: Case) -> Verdict:
    verdict = Verdict(PASS, prop.name, ctx.toolchain.full_id, case.path_for_humans, why=case.why)
    for required in prop.requires:
        required_name, _, only_case = required.partition("/")
        failed = prerequisite_failure(ctx, required_name, only_case or case.name)
        if failed is not None:
            verdict.outcome = SKIP
            verdict.blocked_by = Blocker(required_name, failed.first_problem)
            verdict.reason = verdict.blocked_by.describe()
            return verdict
    findings = Findings()
    try:
        verdict.reproducer = prop.check(ctx, case, findings)
    except Skip as exc:
        verdict.outcome, verdict.reason = SKIP, str(exc)
        verdict.info = findings.info
        return verdict
    except (CaseError, KeyError, AssertionError) as exc:
        verdict.outcome, verdict.reason = ERROR, f"broken case, not checked: {_broken(exc)}"
        return verdict
    except InfrastructureError as exc:
        verdict.outcome, verdict.reason = ERROR, f"infrastructure failure, not checked: {_paragraph(str(exc))}"
        return verdict
    verdict.problems = findings.problems
    verdict.info = findings.info
    verdict.notes = findings.notes
    if findings.problems:
        verdict.outcome = FAIL
    return verdict


def _broken(exc: BaseException) -> str:
    """What about the case the check tripped over, and where in the check."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    where = f"{Path(frame.filename).name}:{frame.lineno}"
    if isinstance(exc, CaseError):
        return _paragraph(str(exc))
    if isinstance(exc, KeyError):
        return f"the check reads key {exc.args[0]!r}, which the case does not give ({where})"
    return f"{_paragraph(str(exc)) or 'a condition on the case does not hold'} ({where}: {frame.line})"


def _paragraph(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


# Modules of this package that hold evidence shared by several properties, not a property.
# Every other module is one property, named after it (``cross_file_inlining.py``).
SHARED_MODULES = frozenset({"evidence"})


def property_modules() -> list[str]:
    """The names of the property modules, one per registered property."""
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in SHARED_MODULES)


def property_names() -> frozenset[str]:
    """The registered names without importing the modules: each property lives in the module named after it."""
    return frozenset(name.replace("_", "-") for name in property_modules())


def load_all() -> dict[str, Property]:
    """Import every property module so the registry is complete."""
    import importlib

    for name in property_modules():
        importlib.import_module(f"{__name__}.{name}")
    return REGISTRY


GENERATED_BEGIN = "<!-- generated from the schemas by scripts/case_docs.py: do not edit by hand -->"
GENERATED_END = "<!-- end of generated tables -->"


def generated_docs() -> str:
    """The key tables of cases/README.md: the sub-tables of a case.toml and every property's expectations."""
    from .. import cases, schema

    parts = []
    for title, fields in (
        ('`[files."x.c"]`', cases.FILE_FIELDS),
        ("`[archive]`", cases.ARCHIVE_FIELDS),
        ("`[run]`", cases.RUN_FIELDS),
        ("`[requires]`", cases.REQUIRES_FIELDS),
    ):
        parts += [f"{title} keys:", "", schema.key_table(fields), ""]
    load_all()
    props = [(name, REGISTRY[name].expect_schema) for name in sorted(REGISTRY)]
    parts += ["Expectation keys (`[expect]`, `[control]`) by property:", "", schema.markdown_table(props)]
    return "\n".join(parts)


def replace_generated(text: str, generated: str) -> str:
    """``text`` with what lies between the generated-table markers replaced."""
    head, _, rest = text.partition(GENERATED_BEGIN)
    _, _, tail = rest.partition(GENERATED_END)
    return f"{head}{GENERATED_BEGIN}\n{generated}\n{GENERATED_END}{tail}"
