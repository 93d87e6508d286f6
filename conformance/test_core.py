"""Core LTO properties: IR, the linker plugin, archives and nm (see cases/)."""


def test_lto_ir(check_property):
    check_property()


def test_linker_plugin(check_property):
    check_property()


def test_nm_symbols(check_property):
    check_property()


def test_archive_index(check_property):
    check_property()


def test_thin_archive(check_property):
    check_property()


def test_system_binutils(check_property):
    check_property()
