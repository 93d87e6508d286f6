"""pytest glue for speed: the order tests run in, and where a profiled run's time goes.

Under xdist the workers order the conformance tests longest first
(``harness.schedule``) and the controller deals them round robin
(``xdist_schedule``); with ``$LTO_CONFORMANCE_PROFILE`` each test's span and
the harness's own CPU are recorded for ``scripts/bench.py --profile``.
"""

from __future__ import annotations

import time

import pytest

from .harness import profile, schedule
from .plugin import TOOLCHAINS, _property_of, cache_root


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
