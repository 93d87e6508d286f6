"""Fixtures for the harness self-tests: one shared step cache per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# The fakes run hundreds of tiny steps; peak RSS is not what they test, and
# the RSS shim costs ~15 ms a step. tests/test_process.py turns it back on.
os.environ.setdefault("LTO_CONFORMANCE_MEASURE_RSS", "0")


@pytest.fixture(scope="session")
def step_cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every self-test so a healthy toolchain's steps build once."""
    return tmp_path_factory.mktemp("step-cache")


@pytest.fixture(scope="session")
def system_gcc():
    from tests import fakes

    if not shutil.which("gcc"):
        pytest.skip("no gcc on PATH")
    return fakes.toolchain(cc="gcc")
