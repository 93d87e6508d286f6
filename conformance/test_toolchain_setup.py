"""toolchain-setup: the LTO components the driver runs belong to the toolchain under test."""


def test_toolchain_setup(check_property):
    check_property()
