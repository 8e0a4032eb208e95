"""`hashFiles()`: GitHub's algorithm, not act's.

Each matched regular file inside the workspace is hashed with SHA-256; the 32 raw digest bytes
of every file, in match order, feed one outer SHA-256 whose hex digest is the result ('' when
nothing matched).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import ExpressionError
from .values import to_string

if TYPE_CHECKING:
    from .context import EvalContext
    from .nodes import Node

FOLLOW_LINKS_FLAG = "--follow-symbolic-links"


def hash_files(patterns: list[str], workspace: str, *, follow_links: bool = False, timeout: float = 120.0) -> str:
    """Hash the files the patterns select under `workspace` (patterns relative to it)."""
    import hashlib  # lazily: most runs never call hashFiles()

    from .globmatch import glob

    root = os.path.realpath(workspace) if os.path.exists(workspace) else os.path.abspath(workspace)
    prefix = root.rstrip("/") + "/"
    lines: list[str] = []
    for pattern in patterns:
        lines.extend(pattern.split("\n"))
    outer = hashlib.sha256()
    count = 0
    deadline = time.monotonic() + timeout
    quoted = "'" + ", ".join(patterns).replace("'", "''") + "'"
    try:
        for path in glob(lines, root, follow_links):
            if time.monotonic() > deadline:
                raise ExpressionError(
                    "evaluation", f"hashFiles({quoted}) couldn't finish within {int(timeout)} seconds."
                )
            if not path.startswith(prefix):
                continue
            if os.path.isdir(path):
                continue
            inner = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    inner.update(chunk)
            outer.update(inner.digest())
            count += 1
    except OSError as exc:
        raise ExpressionError(
            "evaluation", f"hashFiles({quoted}) failed. Fail to hash files under directory '{workspace}' ({exc})"
        ) from None
    return outer.hexdigest() if count else ""


def fn_hash_files(ctx: EvalContext, args: Sequence[Node]) -> Any:
    values = [to_string(a.eval(ctx)) for a in args]
    follow = False
    if values and values[0].startswith("--"):
        if values[0].lower() != FOLLOW_LINKS_FLAG:
            raise ExpressionError(
                "evaluation",
                f"Invalid glob option {values[0]}, avaliable option: '{FOLLOW_LINKS_FLAG}'.",
            )
        follow = True
        values = values[1:]
    root = ctx.hashfiles_root()
    workspace = str(root) if root is not None else os.getcwd()
    return hash_files(values, workspace, follow_links=follow, timeout=ctx.hashfiles_timeout)
