"""What a booted kernel-style image reports on its console, and what its initcall order breaks.

The image prints ``KIMAGE ...`` lines (initcalls in the order they ran,
the export table, CRCs, selftests, fentry calls, the boot magic); these
are parsed into plain values, and the observed initcall sequence is
compared with the one the case declares, each difference named as the
kernel idiom it breaks (levels, source order, link order, KEEP()).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any


def parse_report(lines: Sequence[str]) -> dict[str, Any]:
    """The image's ``KIMAGE ...`` lines as plain values."""
    out: dict[str, Any] = {"initcalls": [], "exports": {}, "crcs": {}, "selftests": {}, "done": False}
    for line in lines:
        words = line.split()
        if not words:
            continue
        kind, rest = words[0], words[1:]
        if kind == "initcall" and len(rest) == 2:
            out["initcalls"].append((int(rest[0]), rest[1]))
        elif kind == "initcall_table" and len(rest) == 2:
            out["initcall_table"] = (int(rest[0]), int(rest[1]))
        elif kind == "ksymtab" and rest:
            out["ksymtab"] = int(rest[0])
        elif kind == "ksym" and len(rest) == 2:
            out["exports"][rest[0]] = None if rest[1] == "missing" else int(rest[1])
        elif kind == "crc" and len(rest) == 2:
            out["crcs"][rest[0]] = int(rest[1], 16)
        elif kind == "selftest" and len(rest) == 2:
            out["selftests"][rest[0]] = int(rest[1], 16)
        elif kind == "fentry_calls" and rest:
            out["fentry_calls"] = int(rest[0])
        elif kind == "boot" and len(rest) == 4:
            out["magic"], out["init_sections"] = int(rest[1], 16), rest[3] == "1"
        elif kind == "done":
            out["done"] = True
    return out


def initcall_problems(expected: Sequence[Mapping[str, Any]], observed: Sequence[tuple[int, str]]) -> list[str]:
    """Every way the observed initcall sequence breaks the declared one, named as the idiom it breaks."""
    if not observed:
        return [
            "no initcall ran: the initcall table is empty (its .initcall<level>.init sections were dropped; "
            "is KEEP() missing from the linker script under --gc-sections?)"
        ]
    declared = {e["fn"]: e for e in expected}
    position = {e["fn"]: i for i, e in enumerate(expected)}
    names = [fn for _, fn in observed]
    problems = [
        f"initcall {e['fn']} (level {e['level']}, {e['file']}) never ran" for e in expected if e["fn"] not in names
    ]
    for level, fn in observed:
        if fn not in declared:
            problems.append(f"unexpected initcall {fn} ran at level {level}")
        elif declared[fn]["level"] != level:
            problems.append(f"{fn} ran in the table of level {level}, declared at level {declared[fn]['level']}")
    known = [fn for fn in names if fn in declared]
    for before, after in itertools.pairwise(known):
        a, b = declared[before], declared[after]
        if a["level"] > b["level"]:
            problems.append(f"initcall level {a['level']} ran before level {b['level']} ({before} before {after})")
        elif a["level"] == b["level"] and position[before] > position[after]:
            if a["file"] == b["file"]:
                problems.append(f"{before} ran before {after} (source order in {a['file']}: {after}, {before})")
            else:
                problems.append(f"{before} ran before {after} (link order {b['file']}, {a['file']})")
    return problems
