"""What LTO cost, as chart data both reports draw: one row per toolchain and case.

Figures come from the ``cost`` property's info (``figures["cost"]``) and the
kernel-build tests. Peak RSS takes every figure whose key ends in
``peak_rss_mib`` (flat, ``lto_wpa_peak_rss_mib``, or nested, ``phases.wpa.peak_rss_mib``),
so per-phase figures show up as soon as a property records them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .report import Matrix, column_title

# Pipeline order: the whole link, then its phases; non-LTO bars come last.
PHASE_ORDER = {"LTO link": 0, "WPA": 1, "LTRANS": 2, "LLD": 3}


@dataclass
class Row:
    label: str
    bars: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Chart:
    title: str
    unit: str
    rows: list[Row] = field(default_factory=list)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _flat(figures: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in figures.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        elif _number(value):
            out[f"{prefix}{key}"] = float(value)
    return out


def series_name(key: str, suffix: str) -> str:
    """``lto_wpa_peak_rss_mib`` -> ``LTO wpa``; ``nolto_link_peak_rss_mib`` -> ``non-LTO link``."""
    stem = key.removesuffix(suffix).strip("._")
    words = stem.replace(".", " ").replace("_", " ").split()
    if len(words) > 1 and words[0] in ("phase", "phases"):
        words = words[1:]
    if words and words[0] in ("lto", "nolto"):
        words[0] = "LTO" if words[0] == "lto" else "non-LTO"
    words = [w.upper() if w in ("wpa", "ltrans", "lld", "ld.lld") else w for w in words]
    return " ".join(words) or key


def _pairs(flat: Mapping[str, float], names: tuple[tuple[str, str], ...]) -> list[tuple[str, float]]:
    return [(label, flat[key]) for key, label in names if key in flat]


def charts(m: Matrix) -> list[Chart]:
    """Link and build time, peak RSS, .text size, kernel build times: only charts with numbers."""
    link = Chart("Link time: LTO against non-LTO", "s")
    build = Chart("Whole build (compile + link)", "s")
    rss = Chart("Peak RSS per LTO phase", "MiB")
    text = Chart(".text size", "KiB")
    kernel_time = Chart("Kernel build time", "s")
    kernel_rss = Chart("Kernel build peak RSS", "MiB")
    titles = {c["key"]: column_title(c) for c in m.columns}
    for column in m.columns:
        key = column["key"]
        cost = m.cell("cost", key)
        cost_tests = [t for t in (cost.tests if cost else []) if isinstance(t["figures"].get("cost"), Mapping)]
        for test in cost_tests:
            label = titles[key] if len(cost_tests) == 1 else f"{titles[key]} · {test['case'].rsplit('/', 1)[-1]}"
            flat = _flat(test["figures"]["cost"])
            for chart, names in (
                (link, (("lto_link_seconds", "LTO link"), ("nolto_link_seconds", "non-LTO link"))),
                (build, (("lto_build_seconds", "LTO build"), ("nolto_build_seconds", "non-LTO build"))),
            ):
                if bars := _pairs(flat, names):
                    chart.rows.append(Row(label, bars))
            peaks = [
                (series_name(k, "peak_rss_mib"), v)
                for k, v in flat.items()
                if k.endswith("peak_rss_mib") and "floor" not in k
            ]
            peaks.sort(key=lambda bar: (bar[0].startswith("non-LTO"), PHASE_ORDER.get(bar[0], len(PHASE_ORDER))))
            if peaks:
                rss.rows.append(Row(label, peaks))
            sizes = _pairs(flat, (("lto_text_bytes", "LTO"), ("nolto_text_bytes", "non-LTO")))
            if sizes:
                text.rows.append(Row(label, [(name, round(v / 1024, 1)) for name, v in sizes]))
        kernel = m.cell("kernel-build", key)
        for test in kernel.tests if kernel else []:
            flat = _flat(test["figures"])
            mode = re.split(r"[ /]", test["case"])[-1] or "lto"
            label = f"{titles[key]} · {mode}"
            times = _pairs(flat, (("build_seconds", f"LTO ({mode})"), ("baseline_build_seconds", "non-LTO")))
            if times:
                kernel_time.rows.append(Row(label, times))
            peaks = _pairs(flat, (("peak_rss_mib", f"LTO ({mode})"), ("baseline_peak_rss_mib", "non-LTO")))
            if peaks:
                kernel_rss.rows.append(Row(label, peaks))
    return [c for c in (link, build, rss, text, kernel_time, kernel_rss) if c.rows]
