"""Toolchains resolved by the controller while its workers start, handed over in a file.

Resolving a toolchain asks the compiler and its tools (about 0.1 s for gcc,
0.5 s for clang-19 with its LLVM tools, on a cold cache). pytest-xdist
starts its workers only once the controller is configured, so both cores
used to idle through the resolution and then again through each worker's
own start (Python, pytest, collection). With local workers the controller
now resolves in a thread (``Resolution``) while xdist starts them; a worker
that needs the toolchains before the thread is done waits for the file the
thread writes when it ends (``wait_for``): the toolchains, or the usage
error that the controller reports as well. The file is pickled data written
by this run's own controller into its cache, read by its own workers only.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cache_files import write_atomically
from .errors import UsageError

OK, FAILED = "ok", "failed"
# How often a waiting worker looks for the file, and checks that its controller still runs.
POLL_SECONDS = 0.005
ALIVE_CHECK_SECONDS = 0.2


class Resolution:
    """``resolve()`` run in a thread; its outcome is also written to ``handoff`` for the workers."""

    def __init__(self, resolve: Callable[[], Any], root: Path, handoff: Path) -> None:
        self._resolve = resolve
        self.root, self.handoff = root, handoff
        self._result: Any = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="lto-conformance-resolution", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._resolve()
            outcome = (OK, self._result)
        except UsageError as exc:
            self._error = exc
            outcome = (FAILED, str(exc))
        except BaseException as exc:  # a harness bug: the controller raises it, the workers stop waiting
            self._error = exc
            outcome = (FAILED, f"the controller could not resolve the toolchains: {exc!r}")
        with self._lock:
            if self._abandoned:
                return
            if not write_atomically(self.root, self.handoff, pickle.dumps(outcome)):
                self._error = self._error or UsageError(f"cannot write {self.handoff} for the xdist workers")

    def abandon(self) -> None:
        """The run is over: its handoff file goes, and a thread still resolving (configure failed
        after it started) writes none later."""
        with self._lock:
            self._abandoned = True
            self.handoff.unlink(missing_ok=True)

    def result(self) -> Any:
        """The resolved value; the thread's exception is raised here, in the caller's thread."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


def wait_for(handoff: Path, controller_pid: int, while_waiting: Callable[[], None] = lambda: None) -> Any:
    """The value a ``Resolution`` handed over; UsageError if it failed or its controller is gone.

    ``while_waiting`` runs once, the first time the file is not there yet:
    work the worker needs later anyway (imports) fills the wait.
    """
    waited = False
    checked = time.monotonic()
    while True:
        try:
            status, value = pickle.loads(handoff.read_bytes())
        except FileNotFoundError:
            if not waited:
                waited = True
                while_waiting()
            if time.monotonic() - checked > ALIVE_CHECK_SECONDS:
                checked = time.monotonic()
                if not _alive(controller_pid):
                    raise UsageError("the xdist controller ended before it resolved the toolchains") from None
            time.sleep(POLL_SECONDS)
            continue
        if status == OK:
            return value
        raise UsageError(str(value))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
