"""The two kinds of error a person can meet, kept apart on purpose.

A ``UsageError`` is the user's to fix (a bad option, a missing binary); it is
shown once at start-up. An ``InfrastructureError`` means a tool the suite
drives crashed or hung where the property under test was not the question.
"""

from __future__ import annotations


class UsageError(Exception):
    """A bad option value: names the option and what is wrong with it."""


class InfrastructureError(Exception):
    """A tool failed in a way that says nothing about the property under test."""


class CaseError(Exception):
    """A case file that does not follow the schema: names the file and key."""


class Unsupported(Exception):
    """The tree, toolchain or host cannot run this at all (no GCC LTO in the tree, no QEMU): a skip."""
