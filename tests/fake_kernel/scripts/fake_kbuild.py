"""Fake kbuild: config targets, olddefconfig and the build, as the driver sees them.

Environment knobs for failure tests:
  FAKE_KERNEL_FAIL=<target>   that target prints an error and exits 2
  FAKE_KERNEL_LOG=<file>      ... printing this recorded log of a real failure first
  FAKE_KERNEL_DROP_LTO=1      olddefconfig drops any LTO option (as Kconfig does silently)

Every target records the make variables it got in <O>/fake-make-variables.json,
so tests can check what reached kbuild (CC, LD, KCFLAGS).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

target, srctree, out, arch, llvm, cc, ld, kcflags = sys.argv[1:9]
out_dir = Path(out or ".")
config_path = out_dir / ".config"
out_dir.mkdir(parents=True, exist_ok=True)
(out_dir / "fake-make-variables.json").write_text(
    json.dumps({"ARCH": arch, "LLVM": llvm, "CC": cc, "LD": ld, "KCFLAGS": kcflags})
)

if os.environ.get("FAKE_KERNEL_FAIL") == target:
    log = os.environ.get("FAKE_KERNEL_LOG")
    if log:
        print(Path(log).read_text(), end="")
    print(f"fake kbuild: error: {target} failed on request (FAKE_KERNEL_FAIL)")
    sys.exit(2)


def probes() -> dict:
    """What Kconfig's $(success,...) probes would find for this command line."""
    clang = bool(llvm) or "clang" in cc
    lld = ("lld" in ld) if ld else bool(llvm)
    values = {"CC_IS_CLANG": clang, "CC_IS_GCC": not clang, "LD_IS_LLD": lld, "AS_IS_LLVM": clang}
    values["64BIT"] = arch == "x86_64"
    values["ARCH_SUPPORTS_LTO_CLANG"] = values["ARCH_SUPPORTS_LTO_CLANG_THIN"] = arch in ("x86_64", "i386")
    values["ARCH_SUPPORTS_LTO_GCC"] = values["ARCH_SUPPORTS_LTO"] = arch in ("x86_64", "i386")
    return values


def gcc_lto(values: dict) -> bool:
    """The 2022 series' CONFIG_LTO_GCC, or the older CONFIG_LTO_MENU unless CONFIG_LTO_DISABLE."""
    return values.get("LTO_GCC") == "y" or (values.get("LTO_MENU") == "y" and values.get("LTO_DISABLE") != "y")


def compile_object(source: str, obj: Path) -> None:
    """A real ELF object from the host compiler, in the shape kbuild's would have."""
    cmd = ["cc", "-O2", "-c", "-fno-pie", "-o", str(obj), str(Path(srctree) / "scripts" / source)]
    if subprocess.run(cmd).returncode != 0:
        sys.exit(2)


def read() -> dict:
    values = {}
    for line in config_path.read_text().splitlines():
        m = re.match(r"^CONFIG_(\w+)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def write(values: dict) -> None:
    lines = [f"CONFIG_{k}={v}" for k, v in values.items() if v != "n"]
    config_path.write_text("\n".join(lines) + "\n")


def with_probes(values: dict) -> dict:
    for key, ok in probes().items():
        values[key] = "y" if ok else "n"
    return values


if target in ("tinyconfig", "defconfig", "allnoconfig"):
    out_dir.mkdir(parents=True, exist_ok=True)
    write(with_probes({"LTO_NONE": "y"}))
    print(f"#\n# configuration written to .config ({target})\n#")
elif target == "olddefconfig":
    values = with_probes(read())
    has_lto = all(values.get(k) == "y" for k in ("CC_IS_CLANG", "LD_IS_LLD", "AS_IS_LLVM", "ARCH_SUPPORTS_LTO_CLANG"))
    lto = [k for k in ("LTO_CLANG_THIN", "LTO_CLANG_FULL") if values.get(k) == "y"]
    if lto and (not has_lto or os.environ.get("FAKE_KERNEL_DROP_LTO")):
        for k in lto:
            values[k] = "n"
    has_gcc_lto = values.get("CC_IS_GCC") == "y" and values.get("ARCH_SUPPORTS_LTO_GCC") == "y"
    for k in ("LTO_GCC", "LTO_MENU"):
        if values.get(k) == "y" and (not has_gcc_lto or os.environ.get("FAKE_KERNEL_DROP_LTO")):
            values[k] = "n"
    if not any(values.get(k) == "y" for k in ("LTO_CLANG_THIN", "LTO_CLANG_FULL", "LTO_GCC", "LTO_MENU")):
        values["LTO_NONE"] = "y"
    write(values)
    print("#\n# configuration written to .config\n#")
elif target == "vmlinux":
    values = read()
    clang_lto = values.get("LTO_CLANG_THIN") == "y" or values.get("LTO_CLANG_FULL") == "y"
    gcc = gcc_lto(values)
    for name in ("init/main", "kernel/fork", "mm/slab"):
        obj = out_dir / f"{name}.o"
        obj.parent.mkdir(parents=True, exist_ok=True)
        if clang_lto:
            obj.write_bytes(b"BC\xc0\xde" + bytes(60))
        else:
            compile_object("fake_gcc_lto_object.c" if gcc else "fake_object.c", obj)
        print(f"  CC      {name}.o")
    if clang_lto:
        (out_dir / ".tmp_initcalls.lds").write_text("/* fake */\n")
    flags = ["-DFAKE_LTO"] if clang_lto or gcc else []
    if values.get("LTO_CLANG_THIN") == "y":
        flags.append("-DFAKE_THIN")
    if gcc:
        flags.append("-DFAKE_GCC_LTO")
    print("  LD      vmlinux")
    src = Path(srctree) / "scripts" / "fake_vmlinux.c"
    cmd = [
        "cc",
        "-O2",
        "-static",
        "-nostdlib",
        "-ffreestanding",
        "-fno-pie",
        "-no-pie",
        *flags,
        "-o",
        str(out_dir / "vmlinux"),
        str(src),
    ]
    sys.exit(subprocess.run(cmd).returncode)
elif target == "bzImage":
    image = out_dir / "arch" / "x86" / "boot" / "bzImage"
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(b"fake bzImage\n")
    print("Kernel: arch/x86/boot/bzImage is ready")
