"""``python -m conformance.report``: merge runs into one matrix, or screenshot a report.

    python -m conformance.report merge host1=h1/results.json host2=h2/results.json -o all/ \\
        [--baseline last-night/all/results.json] [--baseline-map OLD=NEW] [-v]
    python -m conformance.report screenshot out/report.html [-o out/report.png]

merge writes results.json, report.md and report.html into the folder and
prints one verdict line per toolchain. Exit 0: written; 1: written, and the
baseline shows regressions; 2: refused (unreadable or mixed-schema input, a
bad option), with one line saying why.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .harness import baseline, chromium, report
from .harness.errors import UsageError
from .harness.merge import merge, parse_input


def _merge(args: argparse.Namespace) -> int:
    results = merge([parse_input(text) for text in args.results])
    diff = None
    if args.baseline:
        mapping = baseline.parse_map(args.baseline_map)
        before = report.load(Path(args.baseline))
        names = [name for t in results["toolchains"] for name in (t["key"], t["label"])]
        baseline.check_map(mapping, before, names)
        diff = baseline.compare(before, results, mapping)
    for path in report.write(Path(args.output), results, diff):
        print(f"wrote {path}")
    for line in report.verdict_lines(results):
        print(line)
    if diff is not None:
        for line in baseline.diff_lines(diff, verbose=args.verbose):
            print(line)
        return 1 if diff.regressed else 0
    return 0


def _screenshot(args: argparse.Namespace) -> int:
    page = Path(args.report)
    if page.is_dir():
        page = page / "report.html"
    if not page.is_file():
        raise UsageError(f"screenshot: no report at {page}")
    png = Path(args.output) if args.output else page.with_suffix(".png")
    target = f"{page}#{args.cell}" if args.cell else page
    print(f"wrote {chromium.screenshot(target, png, width=args.width, height=args.height)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.report", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merge", help="merge several results.json into one matrix (toolchains keyed by label+host)")
    m.add_argument("results", nargs="+", metavar="[HOST=]RESULTS", help="results.json files or folders holding one")
    m.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the merged reports")
    m.add_argument("--baseline", metavar="FILE", help="a previous (merged) results.json to diff against")
    m.add_argument("--baseline-map", action="append", default=[], metavar="OLD=NEW", help="pair toolchains by hand")
    m.add_argument("-v", "--verbose", action="store_true", help="list every NEW and GONE test")
    s = sub.add_parser("screenshot", help="a PNG of report.html through headless Chromium")
    s.add_argument("report", metavar="REPORT", help="report.html or the folder holding it")
    s.add_argument("-o", "--output", metavar="PNG", help="default: report.png beside the report")
    s.add_argument("--cell", metavar="ANCHOR", help="open one cell's cases first, e.g. d-3-0")
    s.add_argument("--width", type=int, default=1600)
    s.add_argument("--height", type=int, default=2000)
    args = parser.parse_args(argv)
    try:
        return _merge(args) if args.command == "merge" else _screenshot(args)
    except (report.ResultsError, UsageError, chromium.ChromiumError) as exc:
        first = str(exc).splitlines()[0] if args.command == "merge" else str(exc)
        print(f"error: {first}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
