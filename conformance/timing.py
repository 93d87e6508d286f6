"""pytest glue for speed: the order tests run in, and where a profiled run's time goes.

Under xdist the workers order the conformance tests longest first
(``harness.schedule``) and the controller deals them round robin
(``xdist_schedule``); a rerun whose last run started no command runs in the
controller without workers (``harness.warm_run``); what start-up leaves
alive is frozen out of the garbage collector; with
``$LTO_CONFORMANCE_PROFILE`` each test's span and the harness's own CPU are
recorded for ``scripts/bench.py --profile``.
"""

from __future__ import annotations

import gc
import time

import pytest

from .harness import process, profile, schedule, warm_run
from .harness.errors import UsageError
from .plugin import (
    CASES_ROOT,
    CONFORMANCE_DIR,
    PROJECT_ROOT,
    TOOLCHAINS,
    _property_of,
    _wants_conformance,
    cache_root,
    starts_local_workers,
)

WARM_KEY = pytest.StashKey[str]()
IN_PROCESS = pytest.StashKey[bool]()
WORKERS_STARTED = pytest.StashKey[list]()  # commands each finished worker started; None for one that crashed
STARTED_OUTPUT = "lto_conformance_commands_started"


def pytest_configure(config: pytest.Config) -> None:
    """``-n N`` again after a run of the same command that started no command: run it here (harness.warm_run).

    A plain hook: after the cache provider's (tryfirst) has set up the cache,
    before xdist's (trylast) decides whether to start workers.
    """
    if hasattr(config, "workerinput") or not _asks_for_local_workers(config) or not _wants_conformance(config):
        return
    try:
        root = cache_root(config)
    except UsageError:
        return  # the plugin says what is wrong with the cache
    test_files = [*CONFORMANCE_DIR.glob("*.py"), PROJECT_ROOT / "conftest.py", PROJECT_ROOT / "pyproject.toml"]
    key = warm_run.invocation_key(config.invocation_params.args, config.invocation_params.dir, CASES_ROOT, test_files)
    config.stash[WARM_KEY] = key
    config.stash[WORKERS_STARTED] = []
    if warm_run.last_started_nothing(root, key):
        config.option.numprocesses, config.option.dist, config.option.tx = 0, "no", []
        config.stash[IN_PROCESS] = True


def _asks_for_local_workers(config: pytest.Config) -> bool:
    option = config.option
    if not starts_local_workers(config) or getattr(option, "dist", "no") != "load":
        return False
    return not getattr(option, "cacheclear", False) and warm_run.enabled()


def pytest_report_header(config: pytest.Config) -> list[str]:
    if config.stash.get(IN_PROCESS, False):
        return [
            "lto-conformance: the last run of this command started no tool, so this one runs in one process "
            f"without xdist workers (${warm_run.WARM_IN_PROCESS_ENV}=0 keeps them)"
        ]
    return []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    started = getattr(node, "workeroutput", {}).get(STARTED_OUTPUT)
    node.config.stash.setdefault(WORKERS_STARTED, []).append(None if error else started)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        config.workeroutput[STARTED_OUTPUT] = process.commands_started()
        return
    key = config.stash.get(WARM_KEY, None)
    if key is None:
        return
    workers = config.stash.get(WORKERS_STARTED, [])
    started = [process.commands_started(), *workers]
    finished = exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and session.testscollected > 0
    warm = finished and all(n == 0 for n in started)
    warm_run.remember(cache_root(config), key, warm)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Start-up's objects (modules, plugins, collected items) live to the end: keep them out of the collector.

    Each full collection walked every one of them again, and the checks that
    parse ELF and DWARF allocate enough to set off several: in a cold run
    that was about 0.55 s of CPU over the controller and two workers, 0.25 s
    with them frozen. On the controller of ``-n N`` and on each worker alike,
    as their test loop starts.
    """
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput") and config.stash.get(TOOLCHAINS, []):
        _longest_first(items, schedule.history(cache_root(config)))


def _schedule_key(item: pytest.Item) -> str | None:
    """``property/case`` of a conformance test: what its expected duration is known by."""
    callspec = getattr(item, "callspec", None)
    function = getattr(item, "function", None)
    case = callspec.params.get("case") if callspec else None
    if function is None or case is None or "toolchain" not in callspec.params:
        return None
    return f"{_property_of(function.__name__)}/{case.name}"


def _longest_first(items: list[pytest.Item], seen: dict[str, float]) -> None:
    """Under xdist, the conformance tests in their own slots, longest expected first (see schedule).

    Not with real kernel tests selected: their build and boot of one mode must
    meet on one worker in order, which the plugin's _kernel_groups_together
    arranges for xdist's own chunked scheduling.
    """
    if any(item.get_closest_marker("kernel") is not None for item in items):
        return
    keyed = [(i, key) for i, item in enumerate(items) if (key := _schedule_key(item)) is not None]
    slots, keys = [i for i, _ in keyed], [key for _, key in keyed]
    ordered = [items[slots[j]] for j in schedule.longest_first(keys, seen)]
    for i, item in zip(slots, ordered, strict=True):
        items[i] = item


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if profile.enabled():
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF)
        profile.event("finished", cpu=own.ru_utime + own.ru_stime)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``-n N`` (``--dist load``): deal the longest-first order round robin (see xdist_schedule)."""
    if config.getoption("dist", "load") != "load" or not config.stash.get(TOOLCHAINS, []):
        return None
    from .xdist_schedule import LongestFirstScheduling

    return LongestFirstScheduling(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """With $LTO_CONFORMANCE_PROFILE: each test's start and end, for scripts/bench.py --profile."""
    if not profile.enabled():
        return (yield)
    started, cpu = time.time(), time.process_time()
    try:
        return (yield)
    finally:
        function = getattr(item, "function", None)
        name = _property_of(function.__name__) if function else item.name
        own = time.process_time() - cpu
        profile.event("test", nodeid=item.nodeid, property=name, start=started, end=time.time(), harness_cpu=own)
