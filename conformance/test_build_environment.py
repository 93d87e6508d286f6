"""LTO in a build environment: make's jobserver, $TMPDIR, debug info and cost (see cases/)."""


def test_jobserver(check_property):
    check_property()


def test_tmpdir(check_property):
    check_property()


def test_debug_info(check_property):
    check_property()


def test_cost(check_property):
    check_property()
