"""pytest glue: toolchains as parameters, verdicts as outcomes, reports.

The harness decides; this module only maps its answers onto pytest: every
``--toolchain`` (or the single --cc/$CC toolchain) and every case of a
property become parameters, a ``Verdict`` becomes pass/skip/fail with its
message, and known toolchain defects become xfails (strict unless the entry says not).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import platform
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest

from .harness import baseline, handoff, known_failures, process, profile, report, resolution_cache, schedule, startup
from .harness.build import StepCache
from .harness.errors import CaseError, UsageError
from .harness.process import SCRATCH_ENV
from .harness.properties import Context, evaluate, load_all, property_names
from .harness.toolchain import (
    PROBE_TIMEOUT_ENV,
    Toolchain,
    ToolchainSpec,
    load_toolchains_file,
    resolve,
    spec_from_preset,
    split_command,
)
from .harness.verdict import ERROR, FAIL, SKIP

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CASES_ROOT = PROJECT_ROOT / "cases"
CONFORMANCE_DIR = Path(__file__).resolve().parent
TOOLCHAINS = pytest.StashKey[list[Toolchain]]()
WORKER_TOOLCHAINS = "lto_conformance_toolchains"
WORKER_HOST = "lto_conformance_host"
WORKER_LABELS = "lto_conformance_labels"
WORKER_HANDOFF = "lto_conformance_handoff"
WORKER_CONTROLLER = "lto_conformance_controller"
RESOLVING = pytest.StashKey[handoff.Resolution]()
SPACE_CHECKED = pytest.StashKey[bool]()
CACHE_ROOT = pytest.StashKey[Path]()
KNOWN = pytest.StashKey[list[known_failures.KnownFailure]]()
KNOWN_ENTRY = pytest.StashKey[known_failures.KnownFailure]()


def _wants_conformance(config: pytest.Config) -> bool:
    """Resolve toolchains only when conformance tests are going to run."""
    args = config.args or [str(config.rootpath / p) for p in config.getini("testpaths")]
    for arg in args:
        path = Path(arg.split("::")[0]).resolve()
        if path == CONFORMANCE_DIR or CONFORMANCE_DIR in path.parents or path in CONFORMANCE_DIR.parents:
            return True
    return False


def _specs(config: pytest.Config) -> list[ToolchainSpec]:
    opt = config.getoption
    cflags, ldflags = shlex.split(opt("cflags") or ""), shlex.split(opt("ldflags") or "")
    presets = opt("toolchain")
    explicit = {name: opt(name) for name in ("cc", "ar", "nm", "ranlib", "strip", "objcopy", "fuse_ld") if opt(name)}
    listed = opt("toolchains")
    from_file: list[ToolchainSpec] = []
    if listed:
        given = sorted(explicit)
        if given:
            option = "--" + given[0].replace("_", "-")
            raise UsageError(f"--toolchains and {option} conflict: give each toolchain its tools in the file")
        path = Path(listed)
        if not path.is_file():
            raise UsageError(f"--toolchains {listed}: no such file")
        from_file = load_toolchains_file(path, cflags=cflags, ldflags=ldflags)
        if not presets:
            return from_file
    if presets:
        if "cc" in explicit:
            raise UsageError("--toolchain and --cc conflict: name the toolchain one way")
        specs = list(from_file)
        for name in presets:
            spec = spec_from_preset(name, cflags=cflags, ldflags=ldflags)
            tools = ("ar", "nm", "ranlib", "strip", "objcopy")
            overrides = {k: split_command(v) for k, v in explicit.items() if k in tools}
            if "fuse_ld" in explicit:
                overrides["fuse_ld"] = explicit["fuse_ld"]
            specs.append(dataclasses.replace(spec, **overrides))
        return specs
    cc_text = opt("cc") or os.environ.get("CC") or "cc"
    origin = "--cc" if opt("cc") else ("$CC" if os.environ.get("CC") else "--cc (default cc)")
    cc = split_command(cc_text)
    if cc is None:
        raise UsageError(f"{origin}: empty compiler command")
    return [
        ToolchainSpec(
            cc=cc,
            ar=split_command(opt("ar")),
            nm=split_command(opt("nm")),
            ranlib=split_command(opt("ranlib")),
            strip=split_command(opt("strip")),
            objcopy=split_command(opt("objcopy")),
            fuse_ld=opt("fuse_ld"),
            cflags=tuple(cflags),
            ldflags=tuple(ldflags),
            origin=origin,
        )
    ]


def pytest_configure(config: pytest.Config) -> None:
    profile.event("process", started=profile.process_started())
    config.stash[TOOLCHAINS] = []
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(ResultCollector(config), "lto-conformance-results")
    if not _wants_conformance(config):
        return
    toolchains: list[Toolchain] | None = None
    try:
        scratch = cache_root(config) / "scratch"
        scratch.mkdir(exist_ok=True)
        os.environ[SCRATCH_ENV] = str(scratch)
        if config.getoption("lto_report") and not hasattr(config, "workerinput"):
            startup.check_report_dir(config.getoption("lto_report"))
        _set_probe_timeout(config.getoption("probe_timeout"))
        if starts_local_workers(config):
            # Resolved while xdist starts the workers; joined in pytest_sessionstart (handoff).
            specs = _specs(config)
            handoff_file = cache_root(config) / "runs" / f"{process.session_token()}.toolchains"
            config.stash[RESOLVING] = handoff.Resolution(
                lambda: _timed(lambda: resolve_specs(config, specs)), cache_root(config), handoff_file
            )
        else:
            toolchains = _timed(lambda: toolchains_here(config))
        _check_kernel_options(config)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    if toolchains is not None:
        _accept_toolchains(config, toolchains)
    for option in ("known_failures", "baseline"):
        value = config.getoption(option)
        if value and not Path(value).is_file():
            raise pytest.UsageError(f"--{option.replace('_', '-')} {value}: no such file")
    listed = config.getoption("known_failures")
    try:
        config.stash[KNOWN] = known_failures.load(Path(listed), property_names()) if listed else []
        _check_baseline(config)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    # The property modules (and pyelftools) are imported where tests are collected: not on an xdist controller.
    profile.event("configured")


def _timed(resolve):
    resolving = time.monotonic()
    toolchains = resolve()
    profile.event("resolved", seconds=time.monotonic() - resolving)
    return toolchains


def _accept_toolchains(config: pytest.Config, toolchains: list[Toolchain]) -> None:
    """Checks that need the resolved labels, then the toolchains become the run's."""
    labels = [t.label for t in toolchains]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise pytest.UsageError(f"--toolchain: {', '.join(duplicates)} named more than once")
    _check_baseline_map(config, labels)
    config.stash[TOOLCHAINS] = toolchains


def starts_local_workers(config: pytest.Config) -> bool:
    """This controller's pytest-xdist will start workers on this machine (``-n N``, popen only)."""
    option = config.option
    if hasattr(config, "workerinput") or not getattr(option, "numprocesses", None):
        return False
    if getattr(option, "dist", "no") == "no" or option.collectonly or getattr(option, "looponfail", False):
        return False
    return all(tx == "popen" for tx in getattr(option, "tx", None) or ["?"])


@pytest.hookimpl(wrapper=True)
def pytest_sessionstart(session: pytest.Session):
    """Join a resolution started in pytest_configure once xdist has started its workers.

    xdist starts them in the last ``pytest_sessionstart``, after the terminal
    has printed the header, so the toolchain lines of the header follow here.
    A resolution that failed is the usage error it would have been at once
    (exit 4); the workers started meanwhile are stopped first.
    """
    result = yield
    config = session.config
    resolution = config.stash.get(RESOLVING, None)
    if resolution is None:
        return result
    try:
        _accept_toolchains(config, resolution.result())
    except (UsageError, pytest.UsageError) as exc:
        _stop_workers(config)
        raise pytest.UsageError(str(exc)) from None
    except BaseException:
        _stop_workers(config)
        raise
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and getattr(reporter, "showheader", True) and not getattr(reporter, "no_header", False):
        reporter.ensure_newline()
        for line in _header_lines(config):
            reporter.write_line(line)
    return result


def _stop_workers(config: pytest.Config) -> None:
    """End the xdist workers of a run that stops before its first test.

    They have started no tool (they wait for the toolchains, or are still
    starting), so they are killed: execnet gives a worker that is still
    starting five seconds to finish before it interrupts it, and xdist's
    teardown would wait that long. The teardown then only collects them.
    """
    process.signal_children(signal.SIGKILL)
    manager = getattr(config.pluginmanager.get_plugin("dsession"), "nodemanager", None)
    if manager is not None:
        with contextlib.suppress(Exception):
            manager.teardown_nodes()


def pytest_unconfigure(config: pytest.Config) -> None:
    resolution = config.stash.get(RESOLVING, None)
    if resolution is not None:
        resolution.abandon()


def _set_probe_timeout(value: str | None) -> None:
    """--probe-timeout wins over $LTO_CONFORMANCE_PROBE_TIMEOUT; the harness reads the variable."""
    if value is None:
        return
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise UsageError(f"--probe-timeout {value!r}: give a positive number of seconds")
    os.environ[PROBE_TIMEOUT_ENV] = str(seconds)


def _check_baseline(config: pytest.Config) -> None:
    """--baseline must be a results.json this suite can read, found before the run, not after it."""
    path = config.getoption("baseline")
    if not path or hasattr(config, "workerinput"):
        return
    try:
        report.load(Path(path))
    except report.ResultsError as exc:
        raise UsageError(f"--baseline {exc}") from None
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise UsageError(f"--baseline {path}: not an lto-conformance results.json ({exc})") from None


def _check_baseline_map(config: pytest.Config, labels: list[str]) -> None:
    """--baseline-map OLD=NEW must name a baseline toolchain and one of this run."""
    values, path = config.getoption("baseline_map"), config.getoption("baseline")
    if not values or hasattr(config, "workerinput"):
        return
    try:
        if not path:
            raise UsageError("--baseline-map needs --baseline FILE")
        baseline.check_map(baseline.parse_map(values), report.load(Path(path)), labels)
    except report.ResultsError as exc:
        raise pytest.UsageError(f"--baseline {exc}") from None
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist: hand the validated toolchains to each worker instead of probing again."""
    config = node.config
    node.workerinput[WORKER_HOST] = host_identity()
    resolution = config.stash.get(RESOLVING, None)
    if resolution is not None:
        # Resolving meanwhile: the worker waits for the file (handoff.wait_for) while it starts.
        node.workerinput[WORKER_HANDOFF] = str(resolution.handoff)
        node.workerinput[WORKER_CONTROLLER] = os.getpid()
        return
    toolchains = config.stash.get(TOOLCHAINS, [])
    node.workerinput[WORKER_TOOLCHAINS] = pickle.dumps(toolchains)
    node.workerinput[WORKER_LABELS] = [t.label for t in toolchains]


def host_identity() -> str:
    """This machine, as a worker compares it with the controller's (--tx ssh=HOST runs elsewhere)."""
    try:
        machine = Path("/etc/machine-id").read_text().strip()
    except OSError:
        machine = ""
    return f"{platform.node()}:{machine}"


def toolchains_here(config: pytest.Config) -> list[Toolchain]:
    """The controller resolves; a worker on the same host takes its toolchains, one elsewhere resolves again.

    Paths, versions and identities are this host's: a worker on another host
    (``--tx ssh=...``) probes its own tools, and must end up with the same
    labels, or the hosts are not identical and the run stops naming it.
    """
    workerinput = getattr(config, "workerinput", {})
    here = workerinput.get(WORKER_HOST) == host_identity()
    shipped = workerinput.get(WORKER_TOOLCHAINS)
    if shipped is not None and here:
        return pickle.loads(shipped)
    if WORKER_HANDOFF in workerinput and here:
        return handoff.wait_for(Path(workerinput[WORKER_HANDOFF]), workerinput[WORKER_CONTROLLER], load_all)
    toolchains = resolve_specs(config, _specs(config))
    expected = workerinput.get(WORKER_LABELS)
    labels = [t.label for t in toolchains]
    if expected is not None and labels != expected:
        raise UsageError(
            f"xdist worker on {platform.node()}: the toolchains resolve to {', '.join(labels)} here but to "
            f"{', '.join(expected)} on the controller; --tx hosts must have the same toolchains"
        )
    return toolchains


def resolve_specs(config: pytest.Config, specs: list[ToolchainSpec]) -> list[Toolchain]:
    root = cache_root(config)
    return [resolution_cache.resolve_cached(spec, root, resolve, CASES_ROOT) for spec in specs]


def _check_kernel_options(config: pytest.Config) -> None:
    """A tree that is not a kernel, or an unknown config, is a start-up error."""
    from .harness import kernel_source

    kernel_source.check_options(config.getoption("kernel_src"), config.getoption("kernel_config"), cache_root(config))


def pytest_report_header(config: pytest.Config) -> list[str]:
    if RESOLVING in config.stash:
        return []  # resolved while xdist starts: pytest_sessionstart shows them
    return _header_lines(config)


def _header_lines(config: pytest.Config) -> list[str]:
    lines = [t.header() for t in config.stash.get(TOOLCHAINS, [])]
    if lines:
        lines.append(f"lto-conformance cache: {cache_root(config)}")
    return lines


def cache_root(config: pytest.Config) -> Path:
    """--lto-cache, else $LTO_CONFORMANCE_CACHE, else pytest's own cache (cleared by --cache-clear).

    Prepared (created, proven writable) once per run; every later caller gets the same folder.
    """
    root = config.stash.get(CACHE_ROOT, None)
    if root is None:
        root = config.stash[CACHE_ROOT] = _prepare_cache_root(config)
    return root


def _prepare_cache_root(config: pytest.Config) -> Path:
    chosen = config.getoption("lto_cache") or os.environ.get("LTO_CONFORMANCE_CACHE")
    if chosen:
        shown = f"--lto-cache {chosen}" if config.getoption("lto_cache") else f"$LTO_CONFORMANCE_CACHE {chosen}"
        return startup.prepare_cache(Path(chosen).expanduser().resolve(), shown)
    if getattr(config, "cache", None) is not None:
        return Path(config.cache.mkdir("lto-conformance"))
    fallback = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lto-conformance"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def _cache_label(config: pytest.Config, root: Path) -> str:
    if config.getoption("lto_cache"):
        return f"--lto-cache {config.getoption('lto_cache')}"
    if os.environ.get("LTO_CONFORMANCE_CACHE"):
        return f"$LTO_CONFORMANCE_CACHE {root}"
    return f"the cache {root} (choose another with --lto-cache)"


def _check_cache_space(config: pytest.Config, nodeids: list[str]) -> None:
    """Enough room in the cache for what the selected tests will write, said before any runs."""
    from .harness import kernel_source

    if not _wants_conformance(config) or config.option.collectonly or config.stash.get(SPACE_CHECKED, False):
        return
    config.stash[SPACE_CHECKED] = True
    params = [n.split("[", 1)[1] for n in nodeids if "::test_kernel_b" in n and "[" in n]
    tree: Path | None = None
    root = cache_root(config)
    if params:
        given = config.getoption("kernel_src")
        candidate = Path(given).expanduser() if given else kernel_source.default_tarball()
        if candidate is not None and kernel_source.is_tarball(candidate):
            tree = None if kernel_source.unpack_target(candidate, root).is_dir() else candidate
    need = startup.cache_need(
        toolchains=max(1, len(config.stash.get(TOOLCHAINS, []))),
        kernel_params=params,
        tree_to_unpack=tree,
        kernel_config=config.getoption("kernel_config"),
    )
    try:
        startup.check_cache_space(root, _cache_label(config, root), need)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_collection_finish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput") and session.items:
        _check_cache_space(session.config, [item.nodeid for item in session.items])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """pytest-xdist: the controller sees the selection only as each worker's collected ids."""
    _check_cache_space(node.config, list(ids))


def _property_of(function_name: str) -> str:
    return function_name.removeprefix("test_").replace("_", "-")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "toolchain" in metafunc.fixturenames:
        toolchains = metafunc.config.stash.get(TOOLCHAINS, [])
        metafunc.parametrize("toolchain", toolchains, ids=[t.label for t in toolchains], scope="session")
    if "case" in metafunc.fixturenames:
        try:
            cases = _cases_of(metafunc.function.__name__)
        except CaseError as exc:
            # A broken case is a collection error of its test, one paragraph, no traceback.
            raise pytest.Collector.CollectError(f"broken case: {exc}") from exc
        metafunc.parametrize("case", cases, ids=[c.name for c in cases])


def _cases_of(function_name: str) -> list:
    name = _property_of(function_name)
    prop = load_all().get(name)
    if prop is None:
        raise CaseError(f"{function_name}: no property {name!r} is registered")
    cases = prop.cases(CASES_ROOT)
    if not cases:
        raise CaseError(f"cases/{name}/ holds no case: every property needs at least one")
    return cases


def _user_timeout(config: pytest.Config) -> bool:
    """--timeout or $PYTEST_TIMEOUT given: the person's choice beats the kernel_timeout default."""
    try:
        given = config.getoption("timeout")
    except ValueError:  # pytest-timeout not installed
        return True
    return given is not None or bool(os.environ.get("PYTEST_TIMEOUT"))


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    entries = config.stash.get(KNOWN, [])
    kernel_timeout = None if _user_timeout(config) else float(config.getini("kernel_timeout"))
    for item in items:
        function = getattr(item, "function", None)
        if function is None or not item.nodeid.startswith(("conformance/", "conformance\\")):
            continue
        prop = _property_of(function.__name__)
        item.add_marker(pytest.mark.property(prop))
        callspec = getattr(item, "callspec", None)
        toolchain = callspec.params.get("toolchain") if callspec else None
        case = callspec.params.get("case") if callspec else None
        if toolchain is None:
            continue
        if item.get_closest_marker("kernel") is not None:
            # A mode's build and boot share one worker (the boot reuses the build in memory);
            # the modes and the shared non-LTO control meet in kbuild's file locks.
            item.add_marker(pytest.mark.xdist_group(f"kernel-{toolchain.label}-{getattr(case, 'name', '')}"))
            if kernel_timeout:
                item.add_marker(pytest.mark.timeout(kernel_timeout))
        item.user_properties.append(("toolchain_label", toolchain.label))
        name = getattr(case, "name", None)
        entry = known_failures.match(entries, prop, toolchain.label, toolchain.full_id, name)
        if entry is not None:
            item.stash[KNOWN_ENTRY] = entry
            continue
        expired = known_failures.expired_match(entries, prop, toolchain.label, toolchain.full_id, name)
        if expired is not None:
            item.user_properties.append(("known_failure", f"expired {expired.expires}: {expired.describe()}"))

    _kernel_groups_together(items)


def _kernel_groups_together(items: list[pytest.Item]) -> None:
    """Each mode's kernel build right before its boot, in the kernel tests' own slots.

    xdist's default scheduling hands neighbouring items to a worker in
    chunks: so each worker starts a different build, instead of one
    worker's boot waiting on the lock of the build the other one runs.
    """
    slots = [i for i, item in enumerate(items) if item.get_closest_marker("kernel") and _group(item)]
    first: dict[str, int] = {}
    for i in slots:
        first.setdefault(_group(items[i]), i)
    ordered = sorted((items[i] for i in slots), key=lambda item: first[_group(item)])
    for i, item in zip(slots, ordered, strict=True):
        items[i] = item


def _group(item: pytest.Item) -> str:
    mark = item.get_closest_marker("xdist_group")
    return str(mark.args[0]) if mark and mark.args else ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """A known defect's property failure becomes XFAIL, only if the failure names its cause (``when``).

    Only a property failure is the known defect: an error (a broken case) still shows.

    A pass of a strict entry fails the run (XPASS(strict)): the entry must go.
    A pass of a ``strict = false`` entry is an XPASS reading "fixed?".
    """
    rep = yield
    entry = item.stash.get(KNOWN_ENTRY, None)
    if entry is None or rep.when != "call" or rep.skipped:
        return rep
    if rep.failed:
        text = str(rep.longrepr)
        property_failure = call.excinfo is not None and call.excinfo.errisinstance(PropertyFailure)
        if property_failure and entry.explains(text):
            rep.outcome = "skipped"
            rep.wasxfail = f"known defect: {entry.reason}"
        elif property_failure:
            rep.longrepr = (
                f"{text}\n  note: not the known defect listed for this test ({entry.describe()}): "
                f"its cause {entry.when!r} is not in the failure text"
            )
    elif entry.strict:
        rep.outcome = "failed"
        rep.longrepr = f"[XPASS(strict)] known defect: {entry.reason}\n  (it did not happen: remove the entry)"
    else:
        rep.wasxfail = f"fixed? known defect (strict = false) did not happen here: {entry.reason}"
    return rep


@pytest.fixture(scope="session")
def lto_cache(pytestconfig: pytest.Config) -> Path:
    """The suite's cache root (builds, unpacked kernel trees)."""
    return cache_root(pytestconfig)


class ProgressPrinter:
    """Live progress past pytest's capture: fd-level capture also swallows sys.__stderr__.

    Each message goes on its own line after the test's name; ``finish`` ends
    the last one so pytest's verdict does not stick to it.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.capture = config.pluginmanager.getplugin("capturemanager")
        self.written = False

    def _write(self, text: str) -> None:
        stream = sys.__stderr__
        if stream is None:
            return
        with self.capture.global_and_fixture_disabled() if self.capture else contextlib.nullcontext():
            stream.write(text)
            stream.flush()

    def __call__(self, message: str) -> None:
        self._write(f"\n{message}")
        self.written = True

    def finish(self) -> None:
        if self.written:
            self._write("\n")
            self.written = False


@pytest.fixture(scope="session")
def lto_context(
    toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory, lto_cache: Path, pytestconfig: pytest.Config
) -> Context:
    """One context per toolchain: facts about prerequisites are shared by its tests."""
    return Context(
        toolchain,
        tmp_path_factory.mktemp("builds"),
        StepCache(lto_cache),
        CASES_ROOT,
        progress=ProgressPrinter(pytestconfig),
        kernel_src=pytestconfig.getoption("kernel_src"),
        kernel_config=pytestconfig.getoption("kernel_config"),
        skew_cc=tuple(pytestconfig.getoption("skew_cc") or ()),
        worker_index=worker_index(pytestconfig),
    )


def worker_index(config: pytest.Config) -> int:
    """This xdist worker's number (gw1 -> 1), 0 in a run without workers."""
    workerid = str(getattr(config, "workerinput", {}).get("workerid", "gw0"))
    digits = workerid.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


class PropertyFailure(pytest.fail.Exception):
    """A FAIL verdict: the toolchain lacks the property (the only failure a known defect stands for)."""


# As pytest does for its own outcomes: the short summary then reads "PropertyFailure: <property> ...".
PropertyFailure.__module__ = "builtins"


@pytest.fixture
def check_property(request: pytest.FixtureRequest, lto_context: Context, case, record_property):
    """Evaluate the calling test's property on its case and turn the verdict into an outcome.

    The verdict is reached during setup, so an ERROR (broken case, infrastructure
    failure) is a pytest error with its one paragraph, never a test failure;
    calling the returned function gives the pass, skip or fail.
    """
    name = _property_of(request.function.__name__)
    try:
        verdict = evaluate(lto_context, name, case)
    finally:
        if isinstance(lto_context.progress, ProgressPrinter):
            lto_context.progress.finish()
    record_property("property", name)
    record_property("toolchain", verdict.toolchain)
    record_property("case", case.path_for_humans)
    for key, value in verdict.info.items():
        record_property(key, value)
    if verdict.notes:
        record_property("notes", verdict.notes)
    if verdict.blocked_by is not None:
        record_property("blocked_by", verdict.blocked_by.property)
    if verdict.outcome == ERROR:
        pytest.fail(verdict.message(), pytrace=False)

    def check() -> None:
        __tracebackhide__ = True
        if verdict.outcome == SKIP:
            pytest.skip(verdict.reason)
        if verdict.outcome == FAIL:
            raise PropertyFailure(verdict.message(), pytrace=False)

    return check


def report_entry(rep: pytest.TestReport) -> dict:
    return report.entry_from(
        nodeid=rep.nodeid,
        when=rep.when,
        outcome=rep.outcome,
        duration=rep.duration,
        wasxfail=getattr(rep, "wasxfail", None),
        longrepr=str(rep.longrepr) if rep.longrepr else "",
        user_properties=rep.user_properties,
        keywords=rep.keywords,
    )


class ResultCollector:
    """Gathers every test's outcome on the controller and writes the reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.entries: list[dict] = []
        # property/case -> seconds of setup, call and teardown, for the next run's order (schedule).
        self.durations: dict[str, float] = {}
        self.written: list[Path] = []
        self._diff: baseline.Diff | None = None
        self._compared = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.entries.append(report_entry(report))
        props = dict(report.user_properties)
        if "property" in props and "case" in props:
            key = f"{props['property']}/{str(props['case']).rsplit('/', 1)[-1]}"
            self.durations[key] = self.durations.get(key, 0.0) + report.duration

    def _results(self) -> dict:
        return report.collate(self.entries, self.config.stash.get(TOOLCHAINS, []))

    def _baseline_diff(self, results: dict) -> baseline.Diff | None:
        if not self._compared:
            self._compared = True
            path = self.config.getoption("baseline")
            if path:
                mapping = baseline.parse_map(self.config.getoption("baseline_map"))
                self._diff = baseline.compare(report.load(Path(path)), results, mapping)
        return self._diff

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.durations and self.config.stash.get(TOOLCHAINS, []):
            schedule.remember(cache_root(self.config), self.durations.items())
        target = self.config.getoption("lto_report")
        if target:
            results = self._results()
            self.written = report.write(Path(target), results, self._baseline_diff(results))

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.config.stash.get(TOOLCHAINS, []):
            return
        results = self._results()
        diff = self._baseline_diff(results)
        if diff is not None:
            terminalreporter.write_sep("=", "lto-conformance: against the baseline")
            for line in baseline.diff_lines(diff, verbose=self.config.getoption("verbose") > 0):
                terminalreporter.write_line(line)
        terminalreporter.write_sep("=", "lto-conformance: per toolchain")
        for path in self.written:
            terminalreporter.write_line(f"report: {path}")
        for line in report.verdict_lines(results):
            terminalreporter.write_line(line)
        expired = sorted(
            {value for entry in self.entries for key, value in entry["properties"].items() if key == "known_failure"}
        )
        if expired:
            terminalreporter.write_sep("=", "lto-conformance: known failures past their expiry date (not applied)")
            for line in expired:
                terminalreporter.write_line(line)
