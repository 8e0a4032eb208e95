"""SecretStore: where secret values live between the provider that read them and the job.

Values are kept in `bytearray`s the store alone references, so they can be overwritten with
zeroes when removed, replaced, when the store is closed, and at interpreter exit (a worker that
crashes out of its job still runs `weakref.finalize` hooks). Readers get copies; mutating a copy
never changes the stored value. Python `str` copies handed out cannot be wiped: keep them
short-lived, and prefer `reveal_bytes()` with `zeroise()` for values passed to subprocesses.

The store never shows a value: not in `repr`, not in pickles (refused), not in a traceback's
rendering of the store. Every method is synchronous and takes a lock only around dictionary
work, so it is safe from threads and from asyncio tasks alike (no await while holding it).
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from collections.abc import Iterator, Mapping

from github_runner.secrets.masker import Masker


def zeroise(buf: bytearray) -> None:
    """Overwrite a buffer in place (memset, no reallocation that would leave the old bytes)."""
    if buf:
        ctypes.memset((ctypes.c_char * len(buf)).from_buffer(buf), 0, len(buf))


def _zeroise_all(data: dict[str, bytearray]) -> None:
    for buf in data.values():
        zeroise(buf)
    data.clear()


class SecretStoreClosed(RuntimeError):
    """The store was closed (and zeroised); the job that used it has ended."""


class SecretStore:
    """Named secrets, copy-on-read, zeroised on removal and on close.

    With a `masker`, every value set is also registered for masking, with the name as source
    (so a refused value's warning says which secret it was). Names are matched
    case-insensitively, as in GitHub's `secrets` context; the first spelling is kept.
    """

    def __init__(self, masker: Masker | None = None) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, bytearray] = {}
        self._names: dict[str, str] = {}  # casefolded -> stored name
        self._masker = masker
        self._closed = False
        self._finalizer = weakref.finalize(self, _zeroise_all, self._data)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._data)} secrets"
        return f"<SecretStore {state}>"

    def __reduce__(self) -> object:
        raise TypeError("a SecretStore holds secrets and cannot be pickled")

    def __enter__(self) -> SecretStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> SecretStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # writing -----------------------------------------------------------------------------

    def set(self, name: str, value: str | bytes | bytearray, *, source: str = "") -> bool:
        """Store (or replace, zeroising the old value); returns whether the masker took it.

        The value is copied in; a caller holding a `bytearray` may wipe its own copy at once.
        """
        if not name:
            raise ValueError("a secret needs a name")
        buf = bytearray(value.encode() if isinstance(value, str) else value)
        with self._lock:
            self._check_open()
            key = name.casefold()
            stored = self._names.setdefault(key, name)
            old = self._data.get(stored)
            self._data[stored] = buf
            if old is not None:
                zeroise(old)
        if self._masker is None:
            return True
        text = buf.decode("utf-8", "replace")
        return self._masker.add(text, source=source or f"secret {name}")

    def update(self, values: Mapping[str, str], *, source: str = "") -> None:
        for name, value in values.items():
            self.set(name, value, source=source)

    def remove(self, name: str) -> None:
        with self._lock:
            stored = self._names.pop(name.casefold(), None)
            if stored is not None:
                zeroise(self._data.pop(stored))

    def close(self) -> None:
        """Zeroise everything; the store refuses further use. Safe to call twice."""
        with self._lock:
            self._closed = True
            _zeroise_all(self._data)
            self._names.clear()

    # reading -----------------------------------------------------------------------------

    def get(self, name: str, default: str | None = None) -> str | None:
        with self._lock:
            self._check_open()
            stored = self._names.get(name.casefold())
            return default if stored is None else self._data[stored].decode("utf-8", "replace")

    def reveal_bytes(self, name: str) -> bytearray:
        """A private mutable copy; wipe it with `zeroise()` when done."""
        with self._lock:
            self._check_open()
            stored = self._names.get(name.casefold())
            if stored is None:
                raise KeyError(name)
            return bytearray(self._data[stored])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._names

    def __len__(self) -> int:
        return len(self._data)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._data)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def as_context(self) -> dict[str, str]:
        """Copies of every value for the `secrets` expression context of one job."""
        with self._lock:
            self._check_open()
            return {name: buf.decode("utf-8", "replace") for name, buf in self._data.items()}

    def _check_open(self) -> None:
        if self._closed:
            raise SecretStoreClosed("the secret store is closed")
