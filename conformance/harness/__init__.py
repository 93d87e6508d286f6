"""The library behind the suite: toolchains, probes, inspection, reports.

Nothing in this package imports pytest, so it can be driven from a script,
a notebook or another test runner; the pytest layer is thin glue over it.
"""
