"""What ``gcc -v`` says about an LTO link: LTRANS jobs, how they ran, where temporaries went.

GCC's driver prints every command it runs with ``-v``: lto-wrapper's make
call (or none: serial LTRANS), each LTRANS ``lto1`` and ``as`` line, the
resolution file and LTRANS output list it passes, and its warnings. The
jobserver and tmpdir properties read the tool's own account from here
rather than guessing from timings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SERIAL_WARNING = re.compile(r"using serial compilation of (\d+) LTRANS jobs")
NO_JOBSERVER = re.compile(r"jobserver is not available[^\n]*")
LTO_WRAPPER_MAKE = re.compile(r"^\S*make\s+-f\s+\S+\.mk\b(?P<args>.*?)\s*all\s*$", re.MULTILINE)
# An LTRANS lto1 line names its partition in -dumpbase (gcc-11/12) or in its input file.
LTRANS_START = re.compile(r"-dumpbase\s+\S*?ltrans(\d+)\.ltrans\b|\.ltrans(\d+)\.o(?:\s|$)")
LTRANS_FLAG = re.compile(r"\s-fltrans(?:\s|$)")
LTRANS_END = re.compile(r"\s-o\s+\S*\.ltrans(\d+)\.ltrans\.o(?:\s|$)")
GCC_TEMP_PATH = re.compile(r"(?:-fresolution=|-fltrans-output-list=)(\S+?)'?(?:\s|$)")


@dataclass(frozen=True)
class LtransTrace:
    """What gcc -v said about LTRANS: how many jobs, how run, how many at once."""

    partitions: int
    max_parallel: int
    make_args: str | None
    using_jobserver: bool
    serial_warning: str | None
    no_jobserver: str | None

    def how(self) -> str:
        ran = (
            "lto-wrapper ran no make (serial LTRANS)"
            if self.make_args is None
            else f"lto-wrapper ran `make -f ...mk{' ' + self.make_args if self.make_args else ''} all`"
        )
        said = "printed 'Using make jobserver'" if self.using_jobserver else "no 'Using make jobserver'"
        return f"{ran}; {said}"

    def warnings(self) -> str:
        return "; ".join(f"warning: {w}" for w in (self.serial_warning, self.no_jobserver) if w) or "no warning"

    def parallelism(self) -> str:
        return f"{self.partitions} LTRANS partitions, at most {self.max_parallel} compiling at once"

    def describe(self) -> str:
        return "; ".join((self.parallelism(), self.how(), self.warnings()))


def ltrans_trace(output: str) -> LtransTrace:
    """Read gcc -v output in order: a job starts at its lto1 line and ends at its `as` line.

    The gcc drivers of concurrent LTRANS jobs write -v lines to the same
    stderr as they go, so a job whose lto1 line comes before another's `as`
    line ran at the same time: overlap seen in the tool's own output.
    """
    running: set[str] = set()
    seen: set[str] = set()
    peak = 0
    for line in output.splitlines():
        if "COLLECT_GCC_OPTIONS" in line:
            continue
        if "lto1" in line and LTRANS_FLAG.search(line):
            match = LTRANS_START.search(line)
            if match:
                job = match[1] or match[2]
                running.add(job)
                seen.add(job)
                peak = max(peak, len(running))
            continue
        match = LTRANS_END.search(line)
        if match:
            running.discard(match[1])
    make = LTO_WRAPPER_MAKE.search(output)
    serial = SERIAL_WARNING.search(output)
    unavailable = NO_JOBSERVER.search(output)
    return LtransTrace(
        partitions=max(len(seen), int(serial[1]) if serial else 0),
        max_parallel=peak,
        make_args=make["args"].strip() if make else None,
        using_jobserver="Using make jobserver" in output,
        serial_warning=serial[0] if serial else None,
        no_jobserver=unavailable[0] if unavailable else None,
    )


def temp_paths(output: str) -> list[str]:
    """LTO temporaries gcc -v names (resolution file, LTRANS output list)."""
    return sorted({m[1] for m in GCC_TEMP_PATH.finditer(output)})
