"""Let flag options take values that look like options: ``--cflags -m32`` as typed.

argparse reads ``-m32`` after ``--cflags`` as an option of its own (pytest has
``-m``) and rejects the line. This plugin is loaded with ``-p`` from the
project's pytest configuration, early enough for
``pytest_load_initial_conftests`` to join such a value to its option
(``--cflags=-m32``) before the command line is parsed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

FLAG_OPTIONS = ("--cflags", "--ldflags")


def join_flag_values(args: Sequence[str]) -> list[str]:
    """``["--cflags", "-m32"]`` -> ``["--cflags=-m32"]``; everything else as it was."""
    out: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--":
            out.append(arg)
            out.extend(items)
            break
        if arg in FLAG_OPTIONS:
            value = next(items, None)
            out.append(arg if value is None else f"{arg}={value}")
            continue
        out.append(arg)
    return out


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    args[:] = join_flag_values(args)
