"""Read the symbol index of a Unix ``ar`` archive (normal and thin).

pyelftools reads ELF, not archives, so this is the one format the suite
reads itself. It only reads the index (the member named ``/``, System V /
GNU layout, see ar(5)) and lists member names, which is all the properties
need: did the archiver under test index the real symbols of LTO members?
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

NORMAL_MAGIC = b"!<arch>\n"
THIN_MAGIC = b"!<thin>\n"
HEADER_SIZE = 60


@dataclass(frozen=True)
class ArchiveIndex:
    thin: bool
    symbols: tuple[str, ...]
    members: tuple[str, ...]


def read_index(path: Path) -> ArchiveIndex:
    """Parse the archive header chain; raise ValueError if it is not an archive."""
    data = path.read_bytes()
    magic = data[:8]
    if magic not in (NORMAL_MAGIC, THIN_MAGIC):
        raise ValueError(f"{path} is not an ar archive")
    thin = magic == THIN_MAGIC
    offset = 8
    symbols: tuple[str, ...] = ()
    long_names = b""
    members: list[str] = []
    while offset + HEADER_SIZE <= len(data):
        header = data[offset : offset + HEADER_SIZE]
        name = header[:16].decode(errors="replace").rstrip()
        size = int(header[48:58].decode().strip() or 0)
        body_start = offset + HEADER_SIZE
        stored_in_archive = not thin or name in ("/", "//", "/SYM64/")
        body = data[body_start : body_start + size] if stored_in_archive else b""
        if name == "/":
            count = struct.unpack(">I", body[:4])[0]
            strings = body[4 + 4 * count :].split(b"\0")
            symbols = tuple(s.decode() for s in strings[:count])
        elif name == "/SYM64/":
            count = struct.unpack(">Q", body[:8])[0]
            strings = body[8 + 8 * count :].split(b"\0")
            symbols = tuple(s.decode() for s in strings[:count])
        elif name == "//":
            long_names = body
        else:
            if name.startswith("/") and name[1:].isdigit():
                start = int(name[1:])
                end = long_names.find(b"/\n", start)
                name = long_names[start:end].decode()
            members.append(name.rstrip("/"))
        advance = size if stored_in_archive else 0
        offset = body_start + advance + (advance % 2)
    return ArchiveIndex(thin, symbols, tuple(members))
