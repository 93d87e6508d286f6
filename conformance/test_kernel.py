"""kernel-build and kernel-boot: a real Linux kernel built with LTO, proven, booted.

Thin glue over ``harness.kernel`` and ``harness.qemu``. Builds are cached on
disk (keyed by source, config, toolchain and LTO mode) and in memory, so the
boot test reuses the build of the same parametrization and the non-LTO
baseline is built once per toolchain+config, also under ``pytest -n``.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest

from conformance.harness import kernel, qemu
from conformance.harness.errors import UsageError
from conformance.harness.toolchain import Toolchain

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(4 * 3600)]


class KernelBuilds:
    """Session-wide access to cached kernel builds; one per (toolchain, mode)."""

    def __init__(self, config: pytest.Config, cache: Path) -> None:
        self.config = config
        self.cache = cache
        self._source: kernel.KernelSource | None = None
        self._builds: dict[str, kernel.KernelBuild] = {}

    def source(self, on_progress: kernel.Progress) -> kernel.KernelSource:
        if self._source is None:
            try:
                self._source = kernel.resolve_source(
                    self.config.getoption("kernel_src"), self.cache, on_progress=on_progress
                )
            except UsageError as exc:
                raise pytest.UsageError(str(exc)) from exc
        return self._source

    def request(self, tc: Toolchain, mode: str, on_progress: kernel.Progress) -> kernel.BuildRequest:
        try:
            spec = kernel.resolve_config(self.config.getoption("kernel_config"))
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from exc
        return kernel.BuildRequest(self.source(on_progress), spec, tc, mode)

    def build(self, tc: Toolchain, mode: str) -> tuple[kernel.BuildRequest, kernel.KernelBuild]:
        on_progress = ProgressPrinter(self.config, f"kernel {mode} [{tc.label}]")
        try:
            req = self.request(tc, mode, on_progress)
            if req.key not in self._builds:
                self._builds[req.key] = kernel.build_kernel(req, self.cache, on_progress=on_progress)
            return req, self._builds[req.key]
        finally:
            on_progress.finish()


class ProgressPrinter:
    """Live progress past pytest's capture: fd-level capture also swallows sys.__stderr__.

    Each message goes on its own line after the test's name; ``finish`` ends
    the last one so pytest's verdict does not stick to it.
    """

    def __init__(self, config: pytest.Config, prefix: str) -> None:
        self.capture = config.pluginmanager.getplugin("capturemanager")
        self.prefix = prefix
        self.written = False

    def _write(self, text: str) -> None:
        stream = sys.__stderr__
        if stream is None:
            return
        with self.capture.global_and_fixture_disabled() if self.capture else contextlib.nullcontext():
            stream.write(text)
            stream.flush()

    def __call__(self, message: str) -> None:
        self._write(f"\n[{self.prefix}] {message}")
        self.written = True

    def finish(self) -> None:
        if self.written:
            self._write("\n")
            self.written = False


@pytest.fixture(scope="session")
def kernel_builds(request: pytest.FixtureRequest, lto_cache: Path) -> KernelBuilds:
    return KernelBuilds(request.config, Path(lto_cache))


def _build_or_skip(builds: KernelBuilds, tc: Toolchain, mode: str) -> tuple[kernel.BuildRequest, kernel.KernelBuild]:
    """Unsupported (no such LTO in this tree, no source) is a skip with its reason."""
    try:
        return builds.build(tc, mode)
    except kernel.Unsupported as exc:
        pytest.skip(str(exc))


def _failure(prop: str, tc: Toolchain, req: kernel.BuildRequest, expected: str, found: str, commands: str) -> str:
    head = f"{prop} [{tc.full_id}] {req.config.name} {req.mode} ({req.source.origin})"
    found = found.replace("\n", "\n            ")
    return f"{head}\n  expected: {expected}\n  found:    {found}\n{_indent(commands)}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


@pytest.mark.parametrize("lto_mode", kernel.LTO_MODES)
def test_kernel_build(toolchain: Toolchain, lto_mode: str, kernel_builds: KernelBuilds, record_property) -> None:
    record_property("toolchain", toolchain.full_id)
    record_property("case", f"{kernel_builds.config.getoption('kernel_config') or 'tinyconfig'} {lto_mode}")
    req, build = _build_or_skip(kernel_builds, toolchain, lto_mode)
    record_property("build_dir", build.out_dir)
    expected = f"{build.option}=y kept by olddefconfig, vmlinux built, LTO proven against a non-LTO build"
    if not build.ok:
        pytest.fail(_failure("kernel-build", toolchain, req, expected, build.message, build.reproducer), pytrace=False)
    _, baseline = _build_or_skip(kernel_builds, toolchain, "none")
    for key, value in _figures(build).items():
        record_property(key, value)
    if not baseline.ok:
        pytest.fail(
            _failure(
                "kernel-build",
                toolchain,
                req,
                "the non-LTO baseline of the same config builds",
                baseline.message,
                baseline.reproducer,
            ),
            pytrace=False,
        )
    for key, value in _figures(baseline).items():
        record_property(f"baseline_{key}", value)
    verdict = kernel.prove_lto(build, baseline)
    record_property("lto_proofs", verdict.found)
    if not verdict.ok:
        found = "\n".join([*(f"MISSING {m}" for m in verdict.missing), *(f"ok      {f}" for f in verdict.found)])
        commands = f"{build.reproducer}\n# non-LTO baseline:\n{baseline.reproducer}"
        pytest.fail(_failure("kernel-build", toolchain, req, expected, found, commands), pytrace=False)


def _figures(build: kernel.KernelBuild) -> dict[str, object]:
    figures: dict[str, object] = {
        "build_seconds": round(build.build_seconds, 1),
        "make_seconds": round(build.make_seconds, 1),
        "peak_rss_mib": round(build.peak_rss_mib, 1),
        "bitcode_objects": build.bitcode_objects,
        "cached": build.cached,
    }
    figures["harness_overhead_pct"] = round(build.overhead_pct, 2)
    if build.symbols:
        figures["text_bytes"] = build.symbols.text_bytes
        figures["global_functions"] = build.symbols.global_functions
        figures["local_functions"] = build.symbols.local_functions
        figures["promoted_locals"] = build.symbols.promoted_locals
    return figures


@pytest.mark.parametrize("lto_mode", kernel.LTO_MODES)
def test_kernel_boot(
    toolchain: Toolchain, lto_mode: str, kernel_builds: KernelBuilds, tmp_path: Path, record_property
) -> None:
    record_property("toolchain", toolchain.full_id)
    record_property("case", f"{kernel_builds.config.getoption('kernel_config') or 'tinyconfig'} {lto_mode}")
    req, build = _build_or_skip(kernel_builds, toolchain, lto_mode)
    if not build.ok:
        pytest.skip(f"kernel-build failed ({build.option}, {toolchain.full_id})")
    if not build.image:
        pytest.skip(f"the build made no boot image for ARCH={req.variables['ARCH']}")
    try:
        result = qemu.boot(
            kernel.source_arch(req.variables["ARCH"]), Path(build.image), Path(build.out_dir), req.source.root, tmp_path
        )
    except kernel.Unsupported as exc:
        pytest.skip(str(exc))
    record_property("boot_seconds", round(result.seconds, 2))
    record_property("console_log", str(result.console_log))
    record_property("accel", result.accel)
    if not result.ok:
        found = f"{result.detail}\nconsole tail:\n{result.console_tail()}"
        pytest.fail(
            _failure(
                "kernel-boot",
                toolchain,
                req,
                f"'{qemu.MARKER} <uname>' on {result.accel} and QEMU exits by itself",
                found,
                result.command,
            ),
            pytrace=False,
        )
