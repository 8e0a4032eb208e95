"""Random (version 4) UUID text, without importing `uuid`.

Step scripts and file-command files get a fresh UUID name each step, as the runner names them.
`uuid` imports `platform` and more (~2 ms of a cold `exec`) for what is 16 random bytes with
the version and variant bits set, written 8-4-4-4-12: exactly `str(uuid.uuid4())`.
"""

from __future__ import annotations

import os


def uuid4() -> str:
    """Same text and randomness as `str(uuid.uuid4())` (os.urandom, RFC 4122 version 4)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant RFC 4122
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
