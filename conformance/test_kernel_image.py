"""kernel-image: a kernel-style LTO image built like kbuild links a kernel and booted in QEMU (marker boot)."""

import pytest

pytestmark = pytest.mark.boot


def test_kernel_image(check_property):
    check_property()
