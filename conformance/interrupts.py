"""pytest glue that makes sure no tool outlives the test that ran it.

The harness (``harness/process.py``) kills a step's whole process group when
anything interrupts it. This plugin makes every way a run can end reach that
code: SIGTERM becomes the same orderly stop as Ctrl-C (pytest still writes
its summary and reports, exit 2); the controller passes SIGINT/SIGTERM on to
its xdist workers and kills every step of the session at once; a worker that
went down hard (SIGKILL, ``os._exit``) has its leftovers killed by marker;
pytest-timeout's ``thread`` method, which ends the process with
``os._exit``, first kills the running steps. Its default ``signal`` method
raises inside the step, which kills the group on its way out.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import uuid

import pytest

from .harness import process

SESSION = "lto_conformance_session"
_HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """The handlers of one pytest process; the first signal stops the run, later ones only kill."""

    def __init__(self, controller: bool) -> None:
        self.controller = controller
        self.previous: dict[int, object] = {}
        self.stopping = False

    def install(self) -> None:
        for signum in _HANDLED:
            try:
                self.previous[signum] = signal.signal(signum, self.handle)
            except ValueError:  # not the main thread: nothing to install
                return

    def uninstall(self) -> None:
        for signum, handler in self.previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)  # type: ignore[arg-type]
        self.previous.clear()

    def handle(self, signum: int, frame) -> None:
        process.kill_all()
        if self.controller:
            # The workers stop their own steps and end their sessions; what is left after a
            # moment (a worker stuck elsewhere) is killed by the session marker.
            process.signal_children(signal.SIGTERM)
            process.sweep(patience=1.0)
        if self.stopping and not self.controller:
            return
        self.stopping = True
        raise KeyboardInterrupt(f"interrupted by {signal.Signals(signum).name}")


_KEY = pytest.StashKey[Interrupts]()
_FULL_TRACE = False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and SESSION in workerinput:
        process.set_session(workerinput[SESSION], str(workerinput.get("workerid", "worker")))
    else:
        process.set_session(uuid.uuid4().hex, "main")
        atexit.register(process.sweep)
    global _FULL_TRACE
    _FULL_TRACE = bool(getattr(config.option, "fulltrace", False))
    interrupts = Interrupts(controller=workerinput is None)
    interrupts.install()
    config.stash[_KEY] = interrupts


def pytest_unconfigure(config: pytest.Config) -> None:
    interrupts = config.stash.get(_KEY, None)
    if interrupts is not None:
        interrupts.uninstall()
        if interrupts.controller:
            process.sweep()


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo) -> None:
    """Report where the run was interrupted, not the whole stack: rendering ~60 frames with their
    arguments and source takes seconds on a loaded machine, while the run should end at once."""
    if not _FULL_TRACE and len(excinfo.traceback) > 2:
        excinfo.traceback = excinfo.traceback[-2:]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist: workers tag their steps with the controller's session."""
    node.workerinput[SESSION] = process.session_token()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist: a worker that died took no cleanup with it; kill what its steps left."""
    if error is not None:
        process.sweep(worker=str(node.workerinput.get("workerid", "")))


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings) -> bool | None:
    """pytest-timeout's thread method ends the process with os._exit: kill the steps first."""
    import threading

    import pytest_timeout

    method = settings.method
    if method == "signal" and threading.current_thread() is not threading.main_thread():
        method = "thread"
    if method != "thread":
        return None

    def expire() -> None:
        process.kill_all()
        pytest_timeout.timeout_timer(item, settings)

    timer = threading.Timer(settings.timeout, expire)
    timer.daemon = True
    timer.name = f"lto-conformance timeout {item.nodeid}"

    def cancel() -> None:
        timer.cancel()
        timer.join()

    item.cancel_timeout = cancel  # type: ignore[attr-defined]
    timer.start()
    return True
