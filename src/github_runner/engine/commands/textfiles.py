"""Reading text files the way the runner's .NET readers do: a byte-order mark picks the encoding."""

from __future__ import annotations

import codecs
from pathlib import Path

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(raw: bytes) -> str:
    """File.ReadAllText / StreamReader: honour and drop a byte-order mark, else UTF-8 (replacing bad bytes)."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace")
    return raw.decode("utf-8", errors="replace")


def read_text(path: Path) -> str | None:
    """The file's text, or None when it (or its directory) does not exist."""
    try:
        return decode_text(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return None
