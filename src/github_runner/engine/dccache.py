"""Bytecode cache for the methods `dataclasses` generates, so a cold `exec` does not recompile them.

Each `@dataclass` compiles its `__init__`, `__repr__`, `__eq__`... from source text at class
creation: ~75 classes on the start-up path cost ~35 ms of a ~140 ms one-step run, about 20 ms
of it in `compile`. Python caches module bytecode in `__pycache__`, but not these. `install`
gives the `dataclasses` module an `exec` that looks the exact source text up in a table loaded
from `github_runner/__pycache__/` and compiles (the same way `exec` would) only what is
missing; new entries are written back at exit, like a `.pyc`: same place, same trust, skipped
when bytecode writing is off or the directory is not writable. The code run is the code that
text compiles to, so classes behave exactly as before; a wrong Python version or a damaged file
means an empty table.
"""

from __future__ import annotations

import atexit
import builtins
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

MAX_ENTRIES = 4000  # a process making classes on the fly must not grow the file without bound
_CACHE = Path(__file__).resolve().parent.parent / "__pycache__" / f"dataclasses.{sys.implementation.cache_tag}.marshal"


class _Table:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.codes: dict[str, CodeType] = {}
        self.added = 0
        try:
            magic, codes = marshal.loads(path.read_bytes())
            if magic == MAGIC_NUMBER and isinstance(codes, dict):
                self.codes = codes
        except (OSError, ValueError, EOFError, TypeError):
            pass

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """`exec` for the dataclasses module: a source string's code comes from the table."""
        if type(source) is str:
            code = self.codes.get(source)
            if code is None:
                # dont_inherit: compiled as dataclasses.py itself would (it has no __future__
                # imports), not with this module's `annotations` future.
                code = compile(source, "<string>", "exec", dont_inherit=True)
                if len(self.codes) < MAX_ENTRIES:
                    self.codes[source] = code
                    self.added += 1
            source = code
        builtins.exec(source, globals, locals)

    def save(self) -> None:
        """Write the table if it grew (atomically: concurrent runs each write a whole file)."""
        if not self.added or sys.dont_write_bytecode:
            return
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(exist_ok=True)
            tmp.write_bytes(marshal.dumps((MAGIC_NUMBER, self.codes)))
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


_installed: _Table | None = None


def install(path: Path = _CACHE) -> None:
    """Route the dataclasses module's `exec` through the cache (once per process)."""
    global _installed
    if _installed is not None:
        return
    import dataclasses

    if getattr(dataclasses, "exec", builtins.exec) is not builtins.exec:
        return  # someone else already replaced it: leave theirs alone
    _installed = _Table(path)
    dataclasses.exec = _installed.exec  # type: ignore[attr-defined]
    atexit.register(_installed.save)
