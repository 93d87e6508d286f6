"""kernel-build and kernel-boot: a real Linux kernel built with LTO, proven, booted.

The checks are ``harness/properties/kernel_build.py`` and ``kernel_boot.py``,
the cases ``cases/kernel-build/`` and ``cases/kernel-boot/``. The plugin puts
each toolchain's build and boot of one mode in one xdist group and gives them
the ``kernel_timeout`` ini value unless ``--timeout`` is on the command line.
"""

import pytest

pytestmark = pytest.mark.kernel


def test_kernel_build(check_property):
    check_property()


def test_kernel_boot(check_property):
    check_property()
