"""The case loader: every shipped case is valid; every mistake names file and key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.harness.cases import CASE_FIELDS, load_case
from conformance.harness.errors import CaseError
from conformance.harness.properties import (
    REGISTRY,
    evidence,
    generated_docs,
    load_all,
    property_modules,
    property_names,
    replace_generated,
)
from conformance.harness.schema import Field, Int, ListOf, OneOf, PerFamily, Str

ROOT = Path(__file__).resolve().parent.parent / "cases"
SCHEMA = {"inlined": list, "absent": list}


def test_every_shipped_case_loads_and_every_property_has_one():
    load_all()
    for name, prop in REGISTRY.items():
        cases = prop.cases(ROOT)
        assert cases, f"property {name} has no case under cases/{name}/"
        for case in cases:
            assert case.why.strip(), f"{case.id} does not say why"
    on_disk = {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert on_disk <= set(REGISTRY) | {"kernel-build", "kernel-boot"}, on_disk - set(REGISTRY)


def write_case(folder: Path, toml: str, sources: tuple[str, ...] = ("a.c",)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        (folder / source).write_text("int a;\n")
    (folder / "case.toml").write_text(toml)
    return folder


GOOD = 'why = "w"\nsources = ["a.c"]\n'


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ('sources = ["a.c"]\n', "why", "is required"),
        ('why = "w"\nsources = []\n', "sources", "at least one"),
        ('why = "w"\nsources = ["b.c"]\n', "sources[0]", "'b.c' does not exist"),
        (GOOD + "cflags = '-O2'\n", "cflags", "must be a list"),
        (GOOD + "clfags = ['-O2']\n", "clfags", "not a known key"),
        (GOOD + 'link = "shared"\n', "link", "must be one of"),
        (GOOD + '[files."z.c"]\ncflags = []\n', "files.z.c", "not in 'sources'"),
        (GOOD + '[files."a.c"]\nlto = "no"\n', "files.a.c.lto", "must be a bool"),
        (GOOD + '[archive]\nmembers = ["q.c"]\n', "archive.members[0]", "not in 'sources'"),
        (GOOD + '[requires]\nfamily = "icc"\n', "requires.family", "must be one of"),
        (GOOD + '[requires]\nmin_version = "x.y"\n', "requires.min_version", "Invalid version"),
        (GOOD + "[expect]\ninlinde = []\n", "expect.inlinde", "not an expectation this property knows"),
        (GOOD + '[expect]\nabsent = "callee"\n', "expect.absent", "must be a list"),
        (GOOD + "[run]\nexit = true\n", "run.exit", "must be an integer, not bool"),
    ],
)
def test_schema_errors_name_file_and_key(tmp_path, toml, key, problem):
    folder = write_case(tmp_path / "prop" / "broken", toml)
    with pytest.raises(CaseError) as err:
        load_case(folder, "prop", SCHEMA)
    text = str(err.value)
    assert text.startswith(f"{folder / 'case.toml'}: key '{key}'"), text
    assert problem in text


INLINED = evidence.CONTENT_SCHEMA
NESTED = GOOD.replace('["a.c"]', '["a.c", "b.c"]')


@pytest.mark.parametrize(
    ("schema", "toml", "key", "problem"),
    [
        # a typo inside a nested expectation
        (
            INLINED,
            '[expect]\ninlined = [{ calee = "f", from_file = "b.c", into = "g" }]\n',
            "expect.inlined[0].calee",
            "not a known key",
        ),
        # a cross-reference that names no source of the case
        (
            INLINED,
            '[expect]\ninlined = [{ callee = "f", from_file = "nosuch.c", into = "g" }]\n',
            "expect.inlined[0].from_file",
            "'nosuch.c' names a file that is not in 'sources'",
        ),
        # a wrong type, nested and at the top of the table
        (
            INLINED,
            '[expect]\ninlined = [{ callee = 1, from_file = "b.c", into = "g" }]\n',
            "expect.inlined[0].callee",
            "must be a string, not integer",
        ),
        (INLINED, "[expect]\nabsent = [1]\n", "expect.absent[0]", "must be a string"),
        # a missing required key, in a nested table and in [expect]
        (INLINED, '[expect]\ninlined = [{ callee = "f", into = "g" }]\n', "expect.inlined[0].from_file", "is required"),
        ({"ir": Field(PerFamily(OneOf(("none", "gcc-slim"))), required=True)}, "", "expect.ir", "is required"),
        # enums and per-family tables
        (
            {"ir": PerFamily(OneOf(("none", "gcc-slim")))},
            '[expect]\nir = { gcc = "slim" }\n',
            "expect.ir.gcc",
            "must be one of none, gcc-slim",
        ),
        ({"ir": PerFamily(Str)}, '[expect]\nir = { icc = "x" }\n', "expect.ir.icc", "is not a compiler family"),
        # a key that belongs in [expect] only
        ({"record": Field(Str, expect_only=True)}, '[control]\nrecord = "x"\n', "control.record", "[expect] only"),
    ],
)
def test_nested_schema_errors_name_file_and_key_path(tmp_path, schema, toml, key, problem):
    folder = write_case(tmp_path / "prop" / "broken", NESTED + toml, ("a.c", "b.c"))
    with pytest.raises(CaseError) as err:
        load_case(folder, "prop", schema)
    text = str(err.value)
    assert text.startswith(f"{folder / 'case.toml'}: key '{key}': "), text
    assert problem in text, text


def test_defaults_come_from_the_schema(tmp_path):
    schema = {"jobs": Field(Int, default=2), "variants": Field(PerFamily(ListOf(Str), default=[""]), default={})}
    case = load_case(write_case(tmp_path / "p" / "c", GOOD + '[expect]\nvariants = { gcc = ["-x"] }\n'), "p", schema)
    assert case.expect == {"jobs": 2, "variants": {"gcc": ["-x"], "clang": [""]}}
    assert case.control == {"jobs": 2, "variants": {}}


def test_property_needs_are_checked_on_load(tmp_path):
    folder = write_case(tmp_path / "p" / "c", GOOD)
    with pytest.raises(CaseError, match=re.escape("key 'archive.thin': p cases need it")):
        load_case(folder, "p", {}, needs={"archive.thin": True})
    with pytest.raises(CaseError, match=re.escape("key 'link': p cases need 'relocatable' (not 'exe')")):
        load_case(folder, "p", {}, needs={"link": "relocatable"})


@pytest.mark.parametrize(
    ("shipped", "old", "new", "key", "problem"),
    [
        # a typo in a nested item, caught by the enum of operations
        ("post-link-tools/objects", '"strip-unneeded"', '"strip-unneded"', "expect.operations[1]", "must be one of"),
        # a conditional need: target = "archive" without an [archive]
        ("post-link-tools/objects", 'target = "objects"', 'target = "archive"', "archive", "with expect.target"),
        ("reproducible-output/rebuild", '["-flto-partition=max"]', "[1]", "expect.job_flags.gcc[0]", "a string"),
        ("reproducible-output/rebuild", "jobs = 4", "jobs = 1", "expect.jobs", "at least 2"),
        ("symbol-versioning/symver", '["versioned.c"]', '["versoned.c"]', "expect.library_sources[0]", "'sources'"),
        ("version-skew/library", "timeout_seconds = 60", "timeout_secs = 60", "expect.timeout_secs", "not an"),
    ],
)
def test_shipped_case_with_a_nested_mistake_fails_to_load(tmp_path, shipped, old, new, key, problem):
    """The typed schemas of the post-link properties: a broken case is a CaseError, not an ERROR at run time."""
    load_all()
    folder = tmp_path / shipped
    shutil.copytree(ROOT / shipped, folder)
    text = (folder / "case.toml").read_text()
    assert old in text
    (folder / "case.toml").write_text(text.replace(old, new, 1))
    prop = REGISTRY[shipped.split("/")[0]]
    with pytest.raises(CaseError) as err:
        load_case(folder, prop.name, prop.expect_schema, prop.needs)
    assert str(err.value).startswith(f"{folder / 'case.toml'}: key '{key}': "), err.value
    assert problem in str(err.value), err.value


def test_toml_syntax_error_names_the_file(tmp_path):
    folder = write_case(tmp_path / "p" / "c", "why = \n")
    with pytest.raises(CaseError, match=str(folder / "case.toml")):
        load_case(folder, "p", SCHEMA)


def test_full_case_round_trip(tmp_path):
    toml = GOOD.replace('["a.c"]', '["a.c", "b.c"]') + (
        'cflags = ["-O2"]\nlto_flags = { clang = ["-flto=thin"] }\nlink = "relocatable"\n'
        '[files."b.c"]\ncflags = ["-pg"]\nlto = false\n'
        '[archive]\nmembers = ["b.c"]\nthin = true\n'
        '[requires]\nfamily = "gcc"\nmin_version = "11"\nlinkers = ["bfd"]\n'
        '[run]\nstdout = "ok\\n"\n[expect]\nabsent = ["x"]\n[control]\ninlined = []\n'
    )
    case = load_case(write_case(tmp_path / "p" / "c", toml, ("a.c", "b.c")), "p", SCHEMA)
    assert case.lto_flags_for("clang") == ("-flto=thin",)
    assert case.lto_flags_for("gcc") == ("-flto",)
    assert case.file_flags("b.c").cflags == ("-pg",) and not case.file_flags("b.c").lto
    assert case.archive.thin and case.link == "relocatable" and case.run_stdout == "ok\n"
    clang = SimpleNamespace(family="clang", version=case.requires.min_version, linker="bfd", arch="x86_64")
    assert case.requires.unmet(clang) == "needs a gcc toolchain"
    assert case.expect == {"absent": ["x"]} and case.control == {"inlined": []}


def test_one_property_one_module_named_after_it():
    """``test_x_y`` -> ``properties/x_y.py`` -> ``cases/x-y/``: one hop each."""
    load_all()
    package = "conformance.harness.properties"
    homes = {name: prop.check.__module__ for name, prop in REGISTRY.items()}
    wrong = {name: home for name, home in homes.items() if home != f"{package}.{name.replace('-', '_')}"}
    assert not wrong, f"properties registered outside the module named after them: {wrong}"
    assert {m.rsplit(".", 1)[-1] for m in homes.values()} == set(property_modules())
    assert property_names() == set(homes), "property_names() (no imports) must name exactly the registered ones"


def test_readme_key_tables_match_the_schemas():
    """cases/README.md: the generated tables are current, the top-level table names every key."""
    text = (ROOT / "README.md").read_text()
    assert replace_generated(text, generated_docs()) == text, "cases/README.md is stale: run scripts/case_docs.py"
    top = text.split("## Top-level keys", 1)[1].split("##", 1)[0]
    rows = [row for row in top.splitlines() if row.startswith("| `")]
    documented = {row.split("|")[1].strip().strip("`[]").split(".")[0] for row in rows}
    assert documented == set(CASE_FIELDS), documented ^ set(CASE_FIELDS)
