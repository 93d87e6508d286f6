"""kernel-image: the image's report parser, the initcall-order judge and the kbuild-style order script.

The fault-injection self-tests (a toolchain that breaks the image one idiom
at a time) are in ``tests/test_kernel_image_faults.py``; these are the fast
checks of the pieces the messages come from.
"""

from __future__ import annotations

from conformance.harness.image import initcall_order_script
from conformance.harness.image_report import initcall_problems, parse_report

DECLARED = [
    {"level": 4, "fn": "bus_init", "file": "drivers/bus.c"},
    {"level": 6, "fn": "a_init", "file": "drivers/a.c"},
    {"level": 6, "fn": "a_init2", "file": "drivers/a.c"},
    {"level": 6, "fn": "b_init", "file": "drivers/b.c"},
]


def test_the_declared_order_has_no_problem():
    assert initcall_problems(DECLARED, [(4, "bus_init"), (6, "a_init"), (6, "a_init2"), (6, "b_init")]) == []


def test_order_problems_name_the_idiom():
    problems = initcall_problems(DECLARED, [(6, "b_init"), (6, "a_init2"), (6, "a_init"), (4, "bus_init")])
    assert "b_init ran before a_init2 (link order drivers/a.c, drivers/b.c)" in problems
    assert "a_init2 ran before a_init (source order in drivers/a.c: a_init, a_init2)" in problems
    assert "initcall level 6 ran before level 4 (a_init before bus_init)" in problems
    assert "bus_init ran in the table of level 6, declared at level 4" not in problems


def test_a_lost_table_and_a_missing_initcall():
    assert "KEEP() missing" in initcall_problems(DECLARED, [])[0]
    problems = initcall_problems(DECLARED, [(4, "bus_init"), (6, "a_init"), (6, "a_init2")])
    assert problems == ["initcall b_init (level 6, drivers/b.c) never ran"]


def test_report_lines_become_values():
    report = parse_report(
        [
            "boot magic 2badb002 init 1",
            "initcall 1 ksyms_init",
            "initcall_table 1 1",
            "ksym kimage_add 5",
            "ksym kimage_gone missing",
            "crc kimage_add 1234abcd",
            "selftest bulk_selftest 510e3860",
            "fentry_calls 4",
            "done",
        ]
    )
    assert report["magic"] == 0x2BADB002 and report["init_sections"]
    assert report["initcalls"] == [(1, "ksyms_init")]
    assert report["exports"] == {"kimage_add": 5, "kimage_gone": None}
    assert report["crcs"] == {"kimage_add": 0x1234ABCD}
    assert report["selftests"] == {"bulk_selftest": 0x510E3860}
    assert report["fentry_calls"] == 4 and report["done"]


def test_order_script_follows_link_order_then_line():
    nm = (
        "\nb.o:\n-------- d __initcall__8_6_b_init\n         U initcall_ran\n"
        "\na.o:\n-------- d __initcall__15_6_a_init2\n-------- d __initcall__8_6_a_init\n"
        "-------- d __initcall__3_4_a_bus\n"
    )
    script = initcall_order_script(nm, ["a.o", "b.o"])
    body = [line.strip() for line in script.splitlines() if line.strip().startswith("*(")]
    assert body == [
        "*(.initcall4.init..__initcall__3_4_a_bus)",
        "*(.initcall6.init..__initcall__8_6_a_init)",
        "*(.initcall6.init..__initcall__15_6_a_init2)",
        "*(.initcall6.init..__initcall__8_6_b_init)",
    ]
