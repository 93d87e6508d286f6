"""Build and boot a small kernel-style image, the way kbuild links a kernel.

The case folder holds the image's sources in one directory per subsystem
(``arch/``, ``kernel/``, ``drivers/`` ...) plus a linker script. Every source
is compiled on its own (per-file flags last, so ``-fno-lto`` follows
``-flto`` as in kbuild), each subsystem's objects go into a thin archive
(``built-in.a``) made with the archiver under test, and the archives are
linked with ``-r`` and then into the image with the case's linker script.
Where the LTO work happens follows each compiler's kernel support:

* GCC (the out-of-tree GCC LTO series, from the days of per-directory
  ``built-in.o``): one ``-r`` object per subsystem, which keeps the IR
  (GCC's incremental LTO), and the final link with the linker script runs
  LTO over all of them, cut into LTRANS partitions; ``no_reorder`` keeps
  the initcall order.
* clang (mainline kbuild): lld's ``-r`` generates code, so all thin archives
  go into one ``vmlinux.o`` (the LTO step) together with a linker script
  generated from the nm under test in link order, as kbuild's
  ``.tmp_initcalls.lds`` is; the final link is an ordinary one.

Head objects (the multiboot entry, the ``-fno-lto`` early code) are linked
directly before everything else, as kbuild's ``head-y`` objects were: a
GCC ``-r`` of LTO and non-LTO objects bypasses whole-program optimisation.

Every step goes through the ``Builder`` (cached, in the reproducer). Booting
is never cached: it is the proof. QEMU runs with a hard timeout, no network,
the serial console on stdio and ``isa-debug-exit`` for the verdict.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import qemu
from .build import Builder, StepCache, link_arguments
from .cases import Case
from .process import Step, run
from .toolchain import Toolchain

INITCALL_SCRIPT = "initcalls.lds"
INITCALL_SYMBOL = re.compile(r"\b__initcall__(?P<line>\d+)_(?P<level>\d+)_(?P<fn>\w+)$")
REPORT_PREFIX = "KIMAGE "
DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=0x04"
BOOT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Layout:
    """What the case builds: head objects, then subsystems in link order."""

    head: tuple[str, ...]
    subsystems: tuple[tuple[str, tuple[str, ...]], ...]
    linker_script: str

    @property
    def link_order(self) -> tuple[str, ...]:
        return tuple(src for _, sources in self.subsystems for src in sources)


def layout(case: Case, head: Sequence[str], linker_script: str) -> Layout:
    """Subsystems are the sources' first directories, in the order they first appear."""
    groups: dict[str, list[str]] = {}
    for source in case.sources:
        if source in head:
            continue
        groups.setdefault(source.split("/", 1)[0] if "/" in source else ".", []).append(source)
    return Layout(tuple(head), tuple((name, tuple(srcs)) for name, srcs in groups.items()), linker_script)


def object_name(source: str) -> str:
    return str(Path(source).with_suffix(".o"))


@dataclass
class ImageBuild:
    """One build of the image (``lto`` or ``control``) and everything it left."""

    case: Case
    variant: str
    folder: Path
    steps: list[Step]
    comments: dict[int, str] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)
    relocatables: list[str] = field(default_factory=list)
    image: str | None = None
    failed: Step | None = None
    final_link: Step | None = None
    initcall_script: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None and self.image is not None

    def path(self, name: str) -> Path:
        return self.folder / name

    def reproducer(self) -> str:
        lines = [f"$ cd {self.case.path_for_humans}"]
        for index, step in enumerate(self.steps):
            if index in self.comments:
                lines.append(f"# {self.comments[index]}")
            lines.append(step.shell())
        return "\n".join(lines)


def _stage(case: Case, folder: Path) -> list[str]:
    """Hard-link the case tree into the build folder; return every file (the compile inputs)."""
    if folder.exists():
        shutil.rmtree(folder)
    names: list[str] = []
    # Cases share source folders through symlinks: follow them, and link the real files.
    for root, dirs, files in os.walk(case.directory, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            item = Path(root) / name
            if item == case.directory / "case.toml":
                continue
            relative = item.relative_to(case.directory)
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(item.resolve(), target)
            except OSError:
                shutil.copy2(item.resolve(), target)
            names.append(str(relative))
    return names


def initcall_order_script(nm_output: str, objects: Sequence[str]) -> str:
    """kbuild's generate_initcall_order.pl: every initcall section in link order, then source line.

    ``nm_output`` is the nm under test run over ``objects`` in link order
    (with several files nm prints a ``name:`` header before each one).
    """
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for line in nm_output.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and stripped[:-1] in objects:
            current = stripped[:-1]
            blocks.setdefault(current, [])
        elif current is not None and stripped:
            blocks[current].append(stripped)
    levels: dict[int, list[str]] = {}
    for obj in objects:
        found = []
        for line in blocks.get(obj, []):
            match = INITCALL_SYMBOL.search(line)
            if match:
                found.append((int(match["line"]), int(match["level"]), match.group(0)))
        for _, level, symbol in sorted(found):
            levels.setdefault(level, []).append(symbol)
    out = ["/* generated from nm in link order, like kbuild's .tmp_initcalls.lds */", "SECTIONS {"]
    for level in sorted(levels):
        out.append(f"\t.initcall{level}.init : {{")
        out.extend(f"\t\t*(.initcall{level}.init..{symbol})" for symbol in levels[level])
        out.append("\t}")
    out.append("}")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Recipe:
    """Flags that differ between the LTO build and the control, and between compiler families."""

    cflags: tuple[str, ...]
    lto_flags: tuple[str, ...]
    link_flags: tuple[str, ...]
    file_flags: Mapping[str, tuple[str, ...]]
    r_per_subsystem: bool
    generate_initcall_script: bool


def recipe(
    case: Case,
    toolchain: Toolchain,
    variant: str,
    *,
    family_cflags: Mapping[str, Sequence[str]],
    family_link_flags: Mapping[str, Sequence[str]],
) -> Recipe:
    lto = variant == "lto"
    family = toolchain.family
    return Recipe(
        cflags=(*toolchain.cflags, *case.cflags, *family_cflags.get(family, ())),
        lto_flags=case.lto_flags_for(family) if lto else (),
        link_flags=tuple(family_link_flags.get(family, ())) if lto else (),
        file_flags={src: case.file_flags(src).cflags for src in case.sources},
        r_per_subsystem=family != "clang",
        generate_initcall_script=family == "clang",
    )


def build_image(
    case: Case,
    toolchain: Toolchain,
    variant: str,
    workspace: Path,
    cache: StepCache,
    plan: Layout,
    how: Recipe,
    *,
    tag: str = "",
    timeout: float = 300.0,
) -> ImageBuild:
    """Compile, archive, ``-r``, link; stop at the first failing step."""
    suffix = f"-{tag}" if tag else ""
    folder = workspace / f"{toolchain.identity}-{case.property}-{case.name}-{variant}{suffix}"
    inputs = _stage(case, folder)
    builder = Builder(folder, cache, timeout=timeout)
    result = ImageBuild(case, variant, folder, builder.steps)
    tc = toolchain
    linking = [*how.cflags, *how.lto_flags, *tc.linker_flags, *tc.ldflags]

    def step(tool, args: Sequence[str], step_inputs: Sequence[str]) -> bool:
        done = builder.step(tool, args, inputs=step_inputs)
        if not done.ok:
            result.failed = done
        return done.ok

    for source in (*plan.head, *plan.link_order):
        obj = object_name(source)
        args = [*how.cflags, *how.lto_flags, *how.file_flags.get(source, ()), "-c", source, "-o", obj]
        if not step(tc.cc, args, inputs):
            return result
        result.objects[source] = obj
    archives: list[tuple[str, str, list[str]]] = []
    for name, sources in plan.subsystems:
        members = [result.objects[s] for s in sources]
        archive = f"{name}/built-in.a"
        if not step(tc.ar, ["rcsT", archive, *members], members):
            return result
        archives.append((name, archive, members))
    heads = [result.objects[s] for s in plan.head]
    if how.r_per_subsystem:
        for name, archive, members in archives:
            output = f"{name}.o"
            args = [*linking, "-nostdlib", "-r", "-Wl,--whole-archive", archive, "-Wl,--no-whole-archive"]
            if not step(tc.cc, [*args, "-o", output], [archive, *members]):
                return result
            result.relocatables.append(output)
    else:
        every = [m for _, _, members in archives for m in members]
        extra: list[str] = []
        if how.generate_initcall_script:
            listing = builder.step(tc.nm, every, inputs=every)
            if not listing.ok:
                result.failed = listing
                return result
            (folder / INITCALL_SCRIPT).write_text(initcall_order_script(listing.output, every))
            result.initcall_script = INITCALL_SCRIPT
            result.comments[len(builder.steps)] = (
                f"{INITCALL_SCRIPT}: every .initcall<level>.init..<id> section from the nm output above, "
                "in link order, then source line (kbuild's .tmp_initcalls.lds)"
            )
            extra = [f"-Wl,-T,{INITCALL_SCRIPT}"]
        args = [*linking, "-nostdlib", "-r", *extra, "-Wl,--whole-archive", *(a for _, a, _ in archives)]
        args += ["-Wl,--no-whole-archive", "-o", "vmlinux.o"]
        script_inputs = [INITCALL_SCRIPT] if result.initcall_script else []
        if not step(tc.cc, args, [*every, *(a for _, a, _ in archives), *script_inputs]):
            return result
        result.relocatables.append("vmlinux.o")
    image = "image"
    final_inputs = [*heads, *result.relocatables]
    script = [f"-Wl,-T,{plan.linker_script}"]
    args = link_arguments(tc, case, variant, final_inputs, image, extra=[*how.link_flags, *script])
    if not step(tc.cc, args, [*final_inputs, plan.linker_script]):
        return result
    result.final_link = builder.steps[-1]
    result.image = image
    return result


def ltrans_partitions(link: Step) -> int:
    """How many LTRANS units GCC's lto-wrapper compiled, from the final link's ``-v`` output."""
    return len(set(re.findall(r"\bltrans(\d+)\.o\b", link.output)))


# --- booting ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Boot:
    """One boot of an image: what the guest reported and how QEMU ended."""

    command: str
    seconds: float
    exit_status: int
    timed_out: bool
    accel: str
    report: tuple[str, ...]
    console_log: Path

    def console_tail(self, lines: int = 15) -> str:
        text = self.console_log.read_text(errors="replace") if self.console_log.is_file() else ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


class NoQemu(Exception):
    """QEMU for x86 is not installed: the image cannot be booted here."""


def qemu_binary() -> str:
    machine = qemu.MACHINES["x86"]
    found = shutil.which(machine.qemu)
    if found is None:
        raise NoQemu(f"{machine.qemu} not found on PATH (Debian: apt-get install qemu-system-x86)")
    return machine.qemu


def accelerator() -> str:
    """KVM only when it really works (qemu.py decides); TCG otherwise."""
    machine = qemu.MACHINES["x86"]
    if platform.machine() in ("x86_64", "i686") and qemu.kvm_usable(machine.qemu, machine.kvm_flags):
        return "kvm"
    return "tcg"


def boot_command(image: Path, accel: str) -> list[str]:
    accel_args = ["-enable-kvm", "-cpu", "host"] if accel == "kvm" else ["-accel", "tcg"]
    return [
        qemu_binary(),
        "-machine",
        "pc",
        "-m",
        "32M",
        *accel_args,
        "-nographic",
        "-nodefaults",
        "-serial",
        "stdio",
        "-nic",
        "none",
        "-no-reboot",
        "-device",
        DEBUG_EXIT,
        "-kernel",
        str(image),
    ]


def boot(image: Path, log: Path, *, timeout: float = BOOT_TIMEOUT, accel: str | None = None) -> Boot:
    """Boot the multiboot image; the console is kept in ``log``."""
    accel = accel or accelerator()
    argv = boot_command(image, accel)
    step = run(argv, cwd=image.parent, timeout=timeout, measure_rss=False)
    log.write_text(step.output)
    report = tuple(
        line[line.index(REPORT_PREFIX) + len(REPORT_PREFIX) :].strip()
        for line in step.output.splitlines()
        if REPORT_PREFIX in line
    )
    return Boot(shlex.join(argv), step.seconds, step.returncode, step.timed_out, accel, report, log)
