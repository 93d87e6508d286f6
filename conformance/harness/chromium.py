"""Headless Chromium for report.html: the rendered DOM for tests, a screenshot for CI.

Chromium runs in its own session with a fresh profile, no network services
(no sync, component updates, QUIC or background fetches) and a hard timeout
after which its whole process group is killed. As root it needs
``--no-sandbox``. ``$LTO_CONFORMANCE_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .process import child_env

NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
QUIET = (
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)


class ChromiumError(Exception):
    """Chromium missing, crashed or timed out; the message says which, with its output tail."""


def find() -> str | None:
    chosen = os.environ.get("LTO_CONFORMANCE_CHROMIUM")
    if chosen:
        return shutil.which(chosen)
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _run(extra: list[str], page: Path | str, timeout: float) -> str:
    browser = find()
    if browser is None:
        raise ChromiumError(f"no Chromium found ({', '.join(NAMES)} or $LTO_CONFORMANCE_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="lto-chromium-") as profile:
        argv = [browser, *QUIET, f"--user-data-dir={profile}", f"--crash-dumps-dir={profile}", *extra]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")
        argv.append(_uri_with_fragment(page))
        env = child_env({"HOME": profile})
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc.pid)
            proc.communicate()
            raise ChromiumError(f"{browser} timed out after {timeout:.0f} s on {page}") from None
        finally:
            _kill(proc.pid)
    if proc.returncode != 0:
        tail = "\n".join(err.decode(errors="replace").strip().splitlines()[-8:])
        raise ChromiumError(f"{browser} exited {proc.returncode} on {page}:\n{tail}")
    return out.decode(errors="replace")


def _uri_with_fragment(page: Path | str) -> str:
    path, sep, fragment = str(page).partition("#")
    return Path(path).resolve().as_uri() + sep + fragment


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def dump_dom(page: Path | str, timeout: float = 90) -> str:
    """The DOM after the page loaded (``--dump-dom``)."""
    return _run(["--dump-dom", "--virtual-time-budget=2000"], page, timeout)


def screenshot(page: Path | str, png: Path, width: int = 1600, height: int = 1200, timeout: float = 90) -> Path:
    """A PNG of the page; ``page`` may end in ``#d-ROW-COL`` to show one cell's cases."""
    png = png.resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        png.unlink()
    _run([f"--screenshot={png}", f"--window-size={width},{height}", "--virtual-time-budget=2000"], page, timeout)
    if not png.is_file() or png.stat().st_size == 0:
        raise ChromiumError(f"Chromium wrote no screenshot to {png}")
    return png
