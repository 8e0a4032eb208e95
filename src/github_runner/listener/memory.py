"""Give freed heap back to the kernel once the listener has settled.

Why: start-up (TLS handshakes, OAuth token exchange, JSON of session answers) leaves ~4 MB
of freed-but-kept glibc heap in an otherwise idle process; `malloc_trim(0)` returns it. Called
when every slot has its session and again whenever a job ends. A no-op off glibc.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

log = logging.getLogger("github_runner.listener.memory")

_trim: Callable[[int], int] | None = None
_loaded = False


def _load() -> Callable[[int], int] | None:
    global _trim, _loaded
    if not _loaded:
        _loaded = True
        try:
            import ctypes

            _trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _trim = None
    return _trim


def release_memory() -> bool:
    """Collect garbage, then return free heap pages; True if the C library could trim."""
    gc.collect()
    trim = _load()
    if trim is None:
        return False
    trim(0)
    return True
