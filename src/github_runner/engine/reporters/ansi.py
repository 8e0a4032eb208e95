"""ANSI styles and the summary table, drawn without a rendering library.

The terminal reporter needs a handful of colours and one small table; doing that here keeps a
cold `exec` from importing rich (~25 ms) and each log line from going through a markup parser.
The table has the layout of rich's heavy-head table without outer edges, which `exec` printed
before, so nothing changes for people reading it.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from typing import IO

_CODES = {
    "bold": "1", "dim": "2", "italic": "3",
    "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36",
    "bright_cyan": "96", "bright_magenta": "95",
}


def style(text: str, name: str) -> str:
    """`text` in a style such as `"bold red"` (words of `_CODES`); no style for an empty text."""
    if not text:
        return text
    codes = ";".join(_CODES[word] for word in name.split())
    return f"\x1b[{codes}m{text}\x1b[0m"


def colour_wanted(file: IO[str], environ: dict[str, str] | None = None) -> bool:
    """Colour on a terminal, off when piped, NO_COLOR wins, FORCE_COLOR forces (no-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM", "") in ("dumb", "unknown"):
        return False
    try:
        return file.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def cell_width(text: str) -> int:
    """Columns `text` takes on a terminal: wide East Asian characters take two, combining none."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _pad(text: str, width: int, justify: str) -> str:
    gap = " " * (width - cell_width(text))
    return gap + text if justify == "r" else text + gap


def summary_table(
    title: str,
    headers: Sequence[str],
    justify: str,
    rows: Sequence[Sequence[tuple[str, str | None]]],
    *,
    colour: bool,
) -> list[str]:
    """Lines of a table: an italic title, a bold header row, a heavy rule, then the rows.

    `justify` has one letter per column (`l` or `r`); each cell is (text, style or None).
    """
    widths = [cell_width(h) for h in headers]
    for row in rows:
        for i, (text, _) in enumerate(row):
            widths[i] = max(widths[i], cell_width(text))

    def paint(text: str, name: str | None) -> str:
        return style(text, name) if colour and name else text

    head = " ┃ ".join(paint(_pad(h, widths[i], justify[i]), "bold") for i, h in enumerate(headers))
    lines = [paint(title, "italic"), f" {head} ", "╇".join("━" * (w + 2) for w in widths)]
    for row in rows:
        cells = (paint(_pad(text, widths[i], justify[i]), name) for i, (text, name) in enumerate(row))
        lines.append(f" {' │ '.join(cells)} ")
    return lines
