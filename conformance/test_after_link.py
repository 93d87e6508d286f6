"""What happens after the link: post-link tools, symbol versions, version skew, reproducibility (see cases/)."""


def test_post_link_tools(check_property):
    check_property()


def test_symbol_versioning(check_property):
    check_property()


def test_version_skew(check_property):
    check_property()


def test_reproducible_output(check_property):
    check_property()
