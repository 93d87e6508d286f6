"""Files written into the suite's cache whole or not at all.

xdist workers and concurrent runs share the cache, and the disk under it may
fill up: a file is written to a private name under ``<root>/tmp`` and renamed
over its final name, so a reader sees the old file or the new one, never a
torn one, and a write that fails leaves nothing behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def write_atomically(root: Path, target: Path, data: bytes) -> bool:
    """Put ``data`` at ``target`` (inside ``root``); False, and no file, if the disk refused.

    The folders are made only when missing: the step cache writes hundreds of
    entries a run, and each mkdir costs as much as the write on some disks.
    """
    scratch = root / "tmp" / f"{target.name}-{uuid.uuid4().hex}"
    try:
        _in_its_folder(scratch, lambda: scratch.write_bytes(data))
        _in_its_folder(target, lambda: os.replace(scratch, target))
    except OSError:
        scratch.unlink(missing_ok=True)
        return False
    return True


def _in_its_folder(path: Path, write: Callable[[], object]) -> None:
    """``write`` (which creates ``path``), making ``path``'s folder first if it is not there."""
    try:
        write()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        write()
