"""Known failures that stay true: causes, non-strict entries, expiry, validation, manifests."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.harness import known_failures
from conformance.harness.errors import UsageError
from conformance.harness.properties import load_all

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "known.toml"
    path.write_text(text)
    return path


def test_the_shipped_files_are_valid():
    for path in (ROOT / "known-failures").glob("*.toml"):
        assert known_failures.load(path, set(load_all())), path


def test_when_requires_the_cause_in_the_failure_text(tmp_path):
    path = _write(
        tmp_path,
        '[[failure]]\nproperty = "system-binutils"\ntoolchain = "clang-*"\nreason = "stale plugin"\n'
        'when = "claim the file: LLVMgold-14"\nstrict = false\n',
    )
    (entry,) = known_failures.load(path, set(load_all()))
    assert not entry.strict
    assert entry.explains("... First to claim the file: LLVMgold-14.so, which does not read it")
    assert not entry.explains("First to claim the file: LLVMgold-19.so, which does not read it")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[failure]]\nproperty = "sytem-binutils"\ntoolchain = "*"\nreason = "x"\n',
            "unknown property 'sytem-binutils'",
        ),
        ('[[failures]]\nproperty = "lto-ir"\ntoolchain = "*"\nreason = "x"\n', "unknown table or key 'failures'"),
        ('[[failure]]\nproperty = "lto-ir"\ntoolchain = "*"\nreason = "x"\nwhy = "y"\n', "unknown key 'why'"),
        ('[[failure]]\nproperty = "lto-ir"\ntoolchain = "*"\nreason = "x"\nstrict = "no"\n', "'strict' must be a bool"),
        ('[[failure]]\nproperty = "lto-ir"\ntoolchain = "*"\nreason = "x"\nexpires = "soon"\n', "a TOML date"),
        ('[[failure]]\nproperty = "lto-ir"\ntoolchain = "*"\n', "missing key 'reason'"),
    ],
)
def test_a_broken_file_is_a_usage_error(tmp_path, text, message):
    with pytest.raises(UsageError, match=r"^--known-failures ") as err:
        known_failures.load(_write(tmp_path, text), set(load_all()))
    assert message in str(err.value)


def test_an_expired_entry_is_found_as_expired(tmp_path):
    text = '[[failure]]\nproperty = "lto-ir"\ntoolchain = "gcc*"\nreason = "old"\nexpires = 2020-01-01\n'
    path = _write(tmp_path, text)
    entries = known_failures.load(path)
    assert known_failures.match(entries, "lto-ir", "gcc", "gcc-12.2.0+bfd", "slim") is None
    expired = known_failures.expired_match(entries, "lto-ir", "gcc", "gcc-12.2.0+bfd", "slim")
    assert expired is not None and expired.expires == dt.date(2020, 1, 1)


def _results(tmp_path: Path) -> Path:
    data = {
        "created": "2026-12-01T00:00:00+00:00",
        "tests": [
            {
                "property": "incremental-link",
                "toolchain": "gcc+mold",
                "case": "cases/incremental-link/nolto-rel",
                "outcome": "failed",
                "message": 'incremental-link [gcc-12.2.0+mold] x\n  expected: an object\n  found:    an empty "object"',
            },
            {"property": "lto-ir", "toolchain": "gcc", "case": "cases/lto-ir/slim", "outcome": "passed"},
        ],
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return path


def test_a_manifest_from_a_run_lists_its_failures(tmp_path):
    text = known_failures.manifest(json.loads(_results(tmp_path).read_text()), expires=dt.date(2027, 1, 31))
    entries = known_failures.load(_write(tmp_path, text), set(load_all()))
    assert [(e.property, e.toolchain, e.case) for e in entries] == [("incremental-link", "gcc+mold", "nolto-rel")]
    assert 'an empty "object"' in entries[0].reason and entries[0].expires == dt.date(2027, 1, 31)


def test_python_m_known_failures_writes_the_manifest(tmp_path):
    out = tmp_path / "manifest.toml"
    result = subprocess.run(
        [sys.executable, "-m", "conformance.known_failures", "--from", str(_results(tmp_path)), "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert known_failures.load(out)[0].property == "incremental-link"


@pytest.mark.skipif(not os.path.exists("/usr/bin/gcc"), reason="needs gcc")
def test_non_strict_pass_reads_fixed_and_expired_entries_are_reported(tmp_path):
    known = _write(
        tmp_path,
        '[[failure]]\nproperty = "cross-file-inlining"\ntoolchain = "gcc"\ncase = "simple"\nreason = "flaky"\n'
        'strict = false\n\n[[failure]]\nproperty = "dead-function-removal"\ntoolchain = "gcc"\nreason = "old"\n'
        "expires = 2020-01-01\n",
    )
    env = {**os.environ, "LTO_CONFORMANCE_CACHE": str(tmp_path / "cache"), "LC_ALL": "C"}
    env.pop("CC", None)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "conformance/test_optimization.py"),
            *("--toolchain", "gcc", "--known-failures", str(known), "-rA"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "XPASS" in result.stdout and "fixed?" in result.stdout
    assert "past their expiry date" in result.stdout and "expired 2020-01-01" in result.stdout
