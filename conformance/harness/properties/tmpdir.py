"""tmpdir: LTO temporaries go to ``$TMPDIR``.

LTO links write large temporaries (GCC: the resolution file and every
LTRANS partition; LLVMgold: its native object). Build systems and CI point
TMPDIR at a scratch disk; temporaries that ignore it fill /tmp or leak
between concurrent builds. The property watches a fresh ``$TMPDIR`` during
the link only (compile-time temporaries do not count) and records what
happens with a TMPDIR that does not exist (fallback or hard error). lld runs
LTO in process and writes no temporaries, so cases list the other linkers
in ``[requires] linkers``.

Case keys (``[expect]``):

``min_files``
    int, default 1: LTO code-generation temporaries (LTRANS files,
    ``lto-llvm-*.o``) that must appear in the watched ``$TMPDIR``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

from ..build import CaseBuild, link_arguments
from ..cases import Case
from ..ltrans import temp_paths
from ..process import Step
from ..schema import Field, Int
from ..verdict import Findings
from . import Context, register
from .evidence import compile_only, extra_step, succeeded


class DirectoryWatcher:
    """Lists a directory as fast as it can while a link runs: temporaries live only that long."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.seen.update(os.listdir(self.folder))
            self._stop.wait(0.0005)

    def __enter__(self) -> DirectoryWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seen.update(os.listdir(self.folder) if self.folder.is_dir() else [])


def _link_args(ctx: Context, case: Case, result: CaseBuild, output: str) -> tuple[list[str], list[str]]:
    objects = [result.objects[s] for s in case.sources]
    return link_arguments(ctx.toolchain, case, result.variant, objects, output, ["-v"]), objects


def _watched_link(ctx: Context, case: Case, result: CaseBuild, tmpdir: Path, output: str) -> tuple[Step, set[str]]:
    """Link with TMPDIR=tmpdir (fresh) and -v; not cached, since what is watched is the live link."""
    if tmpdir.exists():
        shutil.rmtree(tmpdir)
    tmpdir.mkdir(parents=True)
    args, objects = _link_args(ctx, case, result, output)
    with DirectoryWatcher(tmpdir) as watcher:
        env = {"TMPDIR": str(tmpdir)}
        step = extra_step(ctx, result, ctx.toolchain.cc, args, inputs=objects, env=env, cacheable=False)
    return step, watcher.seen


def _lto_like(names: set[str]) -> list[str]:
    """LTO code-generation temporaries: GCC's LTRANS files, LLVMgold's lto-llvm-*.o.

    GCC's collect2 writes a resolution file (.res) for every link, LTO or
    not, so only LTRANS output proves the LTO stage wrote there.
    """
    return sorted(n for n in names if "ltrans" in n or n.startswith("lto-llvm"))


@register(
    "tmpdir",
    "LTO temporaries go to $TMPDIR",
    {"min_files": Field(Int, default=1, expect_only=True)},
    requires=("linker-plugin",),
)
def tmpdir(ctx: Context, case: Case, findings: Findings) -> str:
    t = ctx.toolchain
    lto = compile_only(ctx, case, "lto")
    control = compile_only(ctx, case, "control")
    if not (succeeded(lto, findings) and succeeded(control, findings)):
        return lto.reproducer()
    fresh = lto.folder / "tmpdir"
    step, seen = _watched_link(ctx, case, lto, fresh, "prog")
    findings.info["seen_in_tmpdir"] = sorted(seen)
    unusable = lto.folder / "no-such-dir" / "tmp"
    bad_step = _unusable_link(ctx, case, lto, unusable)
    findings.info["unusable_tmpdir"] = _describe_unusable(t.family, bad_step, bool(_lto_like(seen)))
    if not findings.expect(step.ok, "the LTO link with TMPDIR set to succeed", step.describe_failure()):
        return lto.reproducer()
    minimum = case.expect["min_files"]
    shown = ", ".join(sorted(seen)) or "nothing"
    paths = temp_paths(step.output) if t.family == "gcc" else []
    elsewhere = [p for p in paths if not p.startswith(str(fresh) + "/")]
    findings.expect(
        len(_lto_like(seen)) >= minimum and not elsewhere,
        f"LTO code-generation temporaries (LTRANS files, lto-llvm-*.o) in the fresh $TMPDIR ({fresh.name}/) "
        "during the link",
        f"watched {fresh.name}/ saw {shown}"
        + (f"; {t.cc.name} -v names temporaries outside it: {', '.join(elsewhere)}" if elsewhere else ""),
    )
    control_step, control_seen = _watched_link(ctx, case, control, control.folder / "tmpdir", "prog")
    if findings.expect(control_step.ok, "the non-LTO link to succeed", control_step.describe_failure(), "control"):
        lto_names = _lto_like(control_seen)
        findings.expect(
            not lto_names,
            "no LTO code-generation temporaries in $TMPDIR without -flto (else the watch proves nothing)",
            ", ".join(lto_names),
            where="control",
        )
    return lto.reproducer()


def _unusable_link(ctx: Context, case: Case, result: CaseBuild, unusable: Path) -> Step:
    """The same link with a TMPDIR that does not exist: fallback or hard error is reported, not judged."""
    args, objects = _link_args(ctx, case, result, "prog-unusable-tmpdir")
    return extra_step(ctx, result, ctx.toolchain.cc, args, inputs=objects, env={"TMPDIR": str(unusable)})


def _describe_unusable(family: str, step: Step, writes_temporaries: bool) -> str:
    if not step.ok:
        error = next((ln.strip() for ln in step.output.splitlines() if "error" in ln.lower()), "")
        return f"hard error with a TMPDIR that does not exist: exit {step.returncode} ({error})"
    places = sorted({str(Path(p).parent) for p in temp_paths(step.output)}) if family == "gcc" else []
    if places:
        return f"silent fallback: with a TMPDIR that does not exist the link succeeded, temporaries in {places[0]}"
    if not writes_temporaries:
        return "the link succeeded with a TMPDIR that does not exist (it writes no LTO temporaries)"
    return "silent fallback: with a TMPDIR that does not exist the link succeeded, temporaries elsewhere"
