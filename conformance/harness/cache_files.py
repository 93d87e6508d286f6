"""Files written into the suite's cache whole or not at all.

xdist workers and concurrent runs share the cache, and the disk under it may
fill up: a file is written to a private name under ``<root>/tmp`` and renamed
over its final name, so a reader sees the old file or the new one, never a
torn one, and a write that fails leaves nothing behind.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomically(root: Path, target: Path, data: bytes) -> bool:
    """Put ``data`` at ``target`` (inside ``root``); False, and no file, if the disk refused."""
    scratch = root / "tmp" / f"{target.name}-{uuid.uuid4().hex}"
    try:
        scratch.parent.mkdir(parents=True, exist_ok=True)
        scratch.write_bytes(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, target)
    except OSError:
        scratch.unlink(missing_ok=True)
        return False
    return True
