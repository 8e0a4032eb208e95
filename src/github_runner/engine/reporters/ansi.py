"""ANSI styles for log lines, and the summary table.

Log lines are written with a handful of ANSI codes rather than through rich: each line going
through rich's markup and rendering engine cost ~0.5 ms, and user text must never be read as
markup. The one table of a run (the summary at the end) is drawn by rich on a terminal; piped
into a file or a CI log it is plain aligned columns, which grep and diff read better than box
drawing, and which spares a non-interactive run rich's ~20 ms import.
"""

from __future__ import annotations

import os
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
    return is_terminal(file)


def is_terminal(file: IO[str]) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def summary_table(
    title: str,
    headers: Sequence[str],
    justify: str,
    rows: Sequence[Sequence[tuple[str, str | None]]],
    *,
    colour: bool,
    boxed: bool = True,
) -> list[str]:
    """Lines of the run's summary table: drawn by rich when `boxed` (imported here: once per
    run, at the end), else plain columns two spaces apart.

    `justify` has one letter per column (`l` or `r`); each cell is (text, style or None). Cell
    text is user text (job names): it goes in as `Text`, never parsed as markup.
    """
    if not boxed:
        return _plain_table(title, headers, justify, rows, colour=colour)
    import io

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title, style="italic"), title_justify="left", show_edge=False)
    for header, j in zip(headers, justify, strict=True):
        table.add_column(header, justify="right" if j == "r" else "left")
    for row in rows:
        table.add_row(*(Text(text, style=name or "") for text, name in row))
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=colour, no_color=not colour,
                      color_system="standard" if colour else None, width=1000,
                      legacy_windows=False, highlight=False)
    console.print(table)
    return buffer.getvalue().splitlines()


def _plain_table(
    title: str,
    headers: Sequence[str],
    justify: str,
    rows: Sequence[Sequence[tuple[str, str | None]]],
    *,
    colour: bool,
) -> list[str]:
    cells = [[(h, "bold" if colour else None) for h in headers], *rows]
    widths = [max(cell_width(row[i][0]) for row in cells) for i in range(len(headers))]
    lines = [style(title, "italic") if colour else title]
    for row in cells:
        parts = []
        for (text, name), width, j in zip(row, widths, justify, strict=True):
            pad = " " * (width - cell_width(text))
            shown = style(text, name) if colour and name else text
            parts.append(pad + shown if j == "r" else shown + pad)
        lines.append("  ".join(parts).rstrip())
    return lines


def cell_width(text: str) -> int:
    """Columns `text` takes on a terminal: East Asian wide and full-width characters take two,
    combining marks none."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)
