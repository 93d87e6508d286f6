"""Rewrite the generated key tables of cases/README.md from the case schemas.

python scripts/case_docs.py          # rewrite
python scripts/case_docs.py --check  # exit 1 if the README is out of date (tests/test_cases.py does this too)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.harness.properties import generated_docs, replace_generated

README = Path(__file__).resolve().parent.parent / "cases" / "README.md"


def main(argv: list[str]) -> int:
    text = README.read_text()
    wanted = replace_generated(text, generated_docs())
    if "--check" in argv:
        return 0 if wanted == text else 1
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
