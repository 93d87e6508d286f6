"""Fault injection for kernel-image: each fake toolchain breaks one idiom of the image.

A wrapper around the system gcc breaks the image the way a real defect
would: it hands the final LTO link its objects in reverse order (so the
no_reorder initcalls come out against link order), it links with a linker
script whose initcall table lost KEEP, or it drops the per-file -fno-lto.
The healthy gcc passes (tests/test_kernel_image.py checks the pieces; the
conformance run checks the real toolchains); each fake must fail
kernel-image with the message that names the idiom.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conformance.harness.build import StepCache
from conformance.harness.properties import Context, evaluate, load_all
from conformance.harness.verdict import FAIL, Verdict
from tests.fakes import CASES_ROOT, toolchain, wrapper

pytestmark = [
    pytest.mark.boot,
    pytest.mark.skipif(shutil.which("gcc") is None, reason="needs the system gcc"),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu-system-x86_64"),
]

FINAL_LTO_LINK = (
    'lto = any(a.startswith("-flto") and a != "-flto-partition" for a in args)\n'
    'final = "-c" not in args and lto and "-r" not in args and any(a.startswith("-Wl,-T,") for a in args)\n'
)

FAULTS = {
    "reversed-link": {
        "purpose": "the final LTO link gets its objects in reverse order, so no_reorder follows the wrong order",
        "extra": FINAL_LTO_LINK
        + "if final:\n"
        + '    objs = [a for a in args if a.endswith(".o") and not a.startswith("-")]\n'
        + "    rev = iter(reversed(objs))\n"
        + '    args = [next(rev) if (a.endswith(".o") and not a.startswith("-")) else a for a in args]\n',
        "message": "ran before",
    },
    "no-keep": {
        "purpose": "links with a copy of the linker script whose initcall table lost KEEP()",
        "extra": "for i, a in enumerate(list(args)):\n"
        + '    if a.startswith("-Wl,-T,") and a.endswith("image.lds"):\n'
        + "        import re\n"
        + "        text = open(a[7:]).read()\n"
        + '        text = re.sub(r"KEEP\\((\\*\\(\\.initcall[^)]*\\))\\)", r"\\1", text)\n'
        + '        open(a[7:] + ".nokeep", "w").write(text)\n'
        + '        args[i] = a + ".nokeep"\n',
        "message": "KEEP() missing",
    },
    "drops-fno-lto": {
        "purpose": "drops -fno-lto, so the file kbuild opts out of LTO gets IR",
        "drop": ["-fno-lto"],
        "message": "arch/early.o holds gcc-slim IR, expected machine code (-fno-lto after -flto was lost)",
    },
}


def _fake(label: str, folder: Path):
    fault = FAULTS[label]
    cc = wrapper(
        folder / "bin", "gcc", "gcc", purpose=fault["purpose"], drop=fault.get("drop", ()), extra=fault.get("extra", "")
    )
    return toolchain(cc=cc, label=f"gcc-{label}")


def _verdict(tc, folder: Path, cache: Path) -> Verdict:
    """The full image only (case multiboot): the other cases show toolchain defects, not these faults."""
    load_all()
    ctx = Context(tc, folder / "work", StepCache(cache), CASES_ROOT)
    (case,) = [c for c in ctx.cases("kernel-image") if c.name == "multiboot"]
    return evaluate(ctx, "kernel-image", case)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory, step_cache_root: Path) -> dict[str, Verdict]:
    """All fakes at once: each builds and boots the image twice; threads share the 2 cores.

    The wrappers are written before any thread runs: a child forked while
    another thread still holds a wrapper open for writing makes its exec fail
    (ETXTBSY).
    """
    base = tmp_path_factory.mktemp("kernel-image-faults")
    fakes = {label: _fake(label, base / label) for label in FAULTS}
    with ThreadPoolExecutor(max_workers=len(FAULTS)) as pool:
        futures = {label: pool.submit(_verdict, tc, base / label, step_cache_root) for label, tc in fakes.items()}
        return {label: future.result() for label, future in futures.items()}


@pytest.mark.parametrize("label", list(FAULTS))
def test_fault_fails_kernel_image_naming_the_idiom(label: str, verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts[label]
    assert verdict.outcome == FAIL, f"{label}: {verdict.outcome} {verdict.reason}\n{verdict.message()}"
    assert FAULTS[label]["message"] in verdict.message(), verdict.message()


def test_reversed_link_fails_only_the_lto_build(verdicts: dict[str, Verdict]) -> None:
    """The wrapper touches only -flto links: the control is the baseline that still passes."""
    problems = verdicts["reversed-link"].problems
    assert problems and all(p.where == "lto" for p in problems), verdicts["reversed-link"].message()
