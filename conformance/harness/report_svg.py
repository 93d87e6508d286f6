"""Inline SVG bar charts for report.html: no script, no network, numbers on the bars."""

from __future__ import annotations

from html import escape

from .report_costs import Chart

PALETTE = ("#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#ad1457", "#558b2f", "#4e342e")
NON_LTO = "#9e9e9e"
WIDTH, LABEL, BAR, GAP, GROUP_GAP, VALUE = 760, 250, 14, 3, 12, 80


def colours(chart: Chart) -> dict[str, str]:
    names = list(dict.fromkeys(name for row in chart.rows for name, _ in row.bars))
    out, lto = {}, iter(PALETTE * 4)
    for name in names:
        out[name] = NON_LTO if name.startswith("non-LTO") else next(lto)
    return out


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"


def bar_chart(chart: Chart) -> str:
    """One horizontal bar per series and row, scaled to the chart's largest value."""
    palette = colours(chart)
    top = 26
    legend = []
    x = LABEL
    for name, colour in palette.items():
        legend.append(
            f'<rect x="{x}" y="6" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="15" class="lg">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    peak = max((v for row in chart.rows for _, v in row.bars), default=0.0) or 1.0
    span = WIDTH - LABEL - VALUE
    body, y = [], top
    for row in chart.rows:
        height = len(row.bars) * (BAR + GAP) - GAP
        body.append(
            f'<text x="{LABEL - 8}" y="{y + height / 2 + 4:.0f}" text-anchor="end" class="rl">'
            f"{escape(row.label)}</text>"
        )
        for name, value in row.bars:
            length = max(1.0, span * value / peak)
            body.append(
                f"<g><title>{escape(row.label)}: {escape(name)} {_fmt(value)} {escape(chart.unit)}</title>"
                f'<rect x="{LABEL}" y="{y}" width="{length:.1f}" height="{BAR}" fill="{palette[name]}" rx="2"/>'
                f'<text x="{LABEL + length + 4:.1f}" y="{y + BAR - 3}" class="v">'
                f"{_fmt(value)} {escape(chart.unit)}</text></g>"
            )
            y += BAR + GAP
        y += GROUP_GAP - GAP
    total = y + 4
    return (
        f'<figure class="chart"><figcaption>{escape(chart.title)} ({escape(chart.unit)})</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{total}" viewBox="0 0 {WIDTH} {total}" '
        f'role="img" aria-label="{escape(chart.title)}">{"".join(legend)}{"".join(body)}</svg></figure>'
    )
