"""Kernel idioms under LTO as fast probes: asm, sections, initcalls, -r links, per-file flags (see cases/)."""


def test_toplevel_asm(check_property):
    check_property()


def test_section_placement(check_property):
    check_property()


def test_initcall_order(check_property):
    check_property()


def test_incremental_link(check_property):
    check_property()


def test_per_file_flags(check_property):
    check_property()
