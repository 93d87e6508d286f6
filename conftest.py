"""Command-line options of lto-conformance (only a top-level conftest may add them).

Everything else (fixtures, parametrization, reports) lives in
``conformance/plugin.py``; the library itself is ``conformance/harness``.
"""

from __future__ import annotations

pytest_plugins = ["conformance.plugin", "conformance.interrupts", "conformance.timing"]


def pytest_addoption(parser) -> None:
    group = parser.getgroup("lto-conformance", "LTO conformance: the toolchain under test")
    group.addoption(
        "--cc",
        metavar="CMD",
        help="compiler driver, may carry arguments ('gcc -B/build/gcc/'); default $CC, else cc",
    )
    group.addoption("--ar", metavar="CMD", help="archiver under test; default the compiler's own (gcc-ar, llvm-ar)")
    group.addoption("--nm", metavar="CMD", help="nm under test; default the compiler's own (gcc-nm, llvm-nm)")
    group.addoption("--ranlib", metavar="CMD", help="ranlib under test; default the compiler's own")
    group.addoption(
        "--strip",
        metavar="CMD",
        help="strip under test (post-link-tools); default binutils strip for gcc, the same LLVM's llvm-strip for clang",
    )
    group.addoption(
        "--objcopy",
        metavar="CMD",
        help="objcopy under test (post-link-tools); default binutils objcopy for gcc, the same LLVM's llvm-objcopy",
    )
    group.addoption(
        "--skew-cc",
        metavar="CMD",
        action="append",
        default=[],
        help="repeatable: another version of the same compiler family whose IR the toolchain must read or "
        "refuse clearly (version-skew); default: the other installed versions (gcc-N, clang-N)",
    )
    group.addoption("--fuse-ld", metavar="NAME", help="linker flavour: bfd, gold, mold or lld (-fuse-ld=NAME)")
    group.addoption(
        "--cflags", metavar="FLAGS", default="", help="extra flags for every compile (--cflags -m32 works as typed)"
    )
    group.addoption("--ldflags", metavar="FLAGS", default="", help="extra flags for every link")
    group.addoption(
        "--toolchain",
        metavar="NAME",
        action="append",
        default=[],
        help="preset, repeatable: gcc, gcc-12, clang, clang-19, optional +bfd/+gold/+mold/+lld; "
        "each becomes a parameter of every test",
    )
    group.addoption(
        "--toolchains",
        metavar="FILE",
        help="TOML file of [[toolchain]] entries (name, cc, ar, nm, ranlib, strip, objcopy, fuse_ld, cflags, "
        "ldflags, env): a matrix in which each toolchain has its own tools",
    )
    group.addoption(
        "--probe-timeout",
        metavar="SECONDS",
        help="hang detector for the start-up probes of each compiler (default 15, or "
        "$LTO_CONFORMANCE_PROBE_TIMEOUT); later probes get at least 300 s, a first link may build a runtime",
    )
    group.addoption(
        "--kernel-src",
        metavar="PATH",
        help="kernel tree or source tarball; default a linux-source-* tarball under /usr/src",
    )
    group.addoption(
        "--kernel-config",
        metavar="NAME",
        help="tinyconfig (default), defconfig, or a path to a kernel config file",
    )
    group.addoption("--lto-report", metavar="DIR", help="write results.json, report.md and report.html into DIR")
    group.addoption("--baseline", metavar="FILE", help="a previous results.json: report what regressed")
    group.addoption(
        "--baseline-map",
        metavar="OLD=NEW",
        action="append",
        default=[],
        help="repeatable: compare the baseline's toolchain OLD with this run's NEW "
        "(toolchains otherwise pair by label, then by compiler, version, linker and target)",
    )
    group.addoption(
        "--known-failures",
        metavar="FILE",
        help="TOML list of known toolchain defects, applied as strict xfail (e.g. known-failures/debian-12.toml)",
    )
    parser.addini(
        "kernel_timeout",
        "seconds a kernel-build/kernel-boot test may take (pytest-timeout); --timeout overrides it",
        default="14400",
    )
    group.addoption(
        "--lto-cache",
        metavar="DIR",
        help="build cache; default $LTO_CONFORMANCE_CACHE, else pytest's cache dir (.pytest_cache/d/lto-conformance)",
    )
