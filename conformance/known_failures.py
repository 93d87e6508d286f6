"""``python -m conformance.known_failures --from results.json``: a manifest from a run.

Like GCC's ``validate_failures.py --produce_manifest``: every failed test of
the run becomes a ``[[failure]]`` entry, so nobody types the file by hand;
the reasons are left for a person to write after checking each defect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from .harness.known_failures import manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.known_failures", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", required=True, metavar="RESULTS", help="a results.json of a run")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the manifest here (default: stdout)")
    parser.add_argument("--expires", metavar="YYYY-MM-DD", help="give every entry this expiry date")
    args = parser.parse_args(argv)
    try:
        results = json.loads(Path(args.source).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        parser.error(f"--from {args.source}: {exc}")
    try:
        expires = dt.date.fromisoformat(args.expires) if args.expires else None
    except ValueError:
        parser.error(f"--expires {args.expires}: not a date (YYYY-MM-DD)")
    text = manifest(results, expires=expires)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
