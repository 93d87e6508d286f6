"""What LTO is for: cross-file inlining and dead-function removal (see cases/)."""


def test_cross_file_inlining(check_property):
    check_property()


def test_dead_function_removal(check_property):
    check_property()
