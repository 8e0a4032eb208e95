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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the masker module (and its matcher) is not needed to hold secrets
    from github_runner.secrets.masker import Masker


def zeroise(buf: bytearray) -> None:
    """Overwrite a buffer in place (memset, no reallocation that would leave the old bytes)."""
    if buf:
        ctypes.memset((ctypes.c_char * len(buf)).from_buffer(buf), 0, len(buf))


def _zeroise_all(data: dict[str, bytearray], protected: list[tuple[bytearray, str]]) -> None:
    for buf in data.values():
        zeroise(buf)
    data.clear()
    for buf, _ in protected:
        zeroise(buf)
    protected.clear()


class SecretStoreClosed(RuntimeError):
    """The store was closed (and zeroised); the job that used it has ended."""


class SecretStore(Mapping[str, str]):
    """Named secrets, copy-on-read, zeroised on removal and on close.

    With a `masker`, every value set is also registered for masking, with the name as source
    (so a refused value's warning says which secret it was). Names are matched
    case-insensitively, as in GitHub's `secrets` context; the first spelling is kept.

    It is a read-only `Mapping`, so the engine can hand the store itself to expression
    evaluation as the `secrets` context: a value is copied out only when an expression reads
    it, and nothing keeps a plain dict of every secret for the length of a job.
    """

    def __init__(self, masker: Masker | None = None) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, bytearray] = {}
        self._names: dict[str, str] = {}  # casefolded -> stored name
        self._sources: dict[str, str] = {}  # stored name -> where the value came from
        # Masked but not secrets of the job (a Vault token): never in the mapping, never copied.
        self._protected: list[tuple[bytearray, str]] = []
        self._masker = masker
        self._closed = False
        self._finalizer = weakref.finalize(self, _zeroise_all, self._data, self._protected)

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

    def set(
        self, name: str, value: str | bytes | bytearray, *, source: str = "", register: bool = True
    ) -> bool:
        """Store (or replace, zeroising the old value); returns whether the masker took it.

        The value is copied in; a caller holding a `bytearray` may wipe its own copy at once.
        `register=False` keeps it away from the masker (an empty value GitHub passes for an
        unset secret: there is nothing to mask and no one to warn).
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
            self._sources[stored] = source or f"secret {name}"
            masker = self._masker
            if old is not None:
                zeroise(old)
        if masker is None or not register:
            return True
        text = buf.decode("utf-8", "replace")
        return masker.add(text, source=source or f"secret {name}")

    def update(self, values: Mapping[str, str], *, source: str = "") -> None:
        for name, value in values.items():
            self.set(name, value, source=source)

    def remove(self, name: str) -> None:
        with self._lock:
            stored = self._names.pop(name.casefold(), None)
            if stored is not None:
                zeroise(self._data.pop(stored))
                self._sources.pop(stored, None)

    def close(self) -> None:
        """Zeroise everything; the store refuses further use. Safe to call twice."""
        with self._lock:
            self._closed = True
            _zeroise_all(self._data, self._protected)
            self._names.clear()
            self._sources.clear()

    # masking and hand-over ----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def masker(self) -> Masker | None:
        """The masker every value is registered with (the job's, once the engine holds it)."""
        return self._masker

    def protect(self, value: str, *, source: str) -> bool:
        """Mask `value` in everything the job prints without making it one of its secrets
        (the credentials a provider logged in with). Registered now or when a masker attaches."""
        with self._lock:
            self._check_open()
            self._protected.append((bytearray(value.encode()), source))
            masker = self._masker
        return True if masker is None else masker.add(value, source=source)

    def attach(self, masker: Masker) -> None:
        """Register every value held (with the source it was set from) and later ones too.

        For a store filled before the masker exists (`exec` parses its flags first): each
        secret is registered exactly once, naming where it came from.
        """
        with self._lock:
            self._check_open()
            if masker is self._masker:
                return
            self._masker = masker
            pending = [(self._sources[n], b.decode("utf-8", "replace")) for n, b in self._data.items()]
            pending += [(source, b.decode("utf-8", "replace")) for b, source in self._protected]
        for source, text in pending:
            masker.add(text, source=source)

    def copy(self) -> SecretStore:
        """An independent store of the same values and masker (one per job: each job's copy is
        zeroised when that job ends, the original when its owner closes it). Values are
        already registered with the masker, so nothing is registered again."""
        twin = SecretStore(self._masker)
        with self._lock:
            self._check_open()
            twin._data.update((n, bytearray(b)) for n, b in self._data.items())
            twin._names.update(self._names)
            twin._sources.update(self._sources)
        return twin

    # reading -----------------------------------------------------------------------------

    def get(self, name: str, default: str | None = None) -> str | None:
        with self._lock:
            self._check_open()
            stored = self._names.get(name.casefold())
            return default if stored is None else self._data[stored].decode("utf-8", "replace")

    def __getitem__(self, name: str) -> str:
        """A copy of one value (case-insensitive name); KeyError names the secret, not a value."""
        with self._lock:
            self._check_open()
            stored = self._names.get(name.casefold()) if isinstance(name, str) else None
            if stored is None:
                raise KeyError(name)
            return self._data[stored].decode("utf-8", "replace")

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


def hold(values: Mapping[str, str], masker: Masker) -> SecretStore:
    """The job's secrets as a store registered with the job's masker, whatever the caller had.

    The engine accepts both shapes a `JobPlan.secrets` arrives in: a `SecretStore` (exec) is
    used as it is, attached to `masker` if it was registered with another one; a plain mapping
    (the worker's job message today) is moved into a new store and, when it is a `dict`, emptied,
    so the plan no longer carries plain copies. Each value is registered once, naming its secret.
    """
    if isinstance(values, SecretStore):
        values.attach(masker)
        return values
    store = SecretStore(masker)
    for name, value in values.items():
        if value:
            store.set(name, value, source=f"secret {name}")
        else:  # an unset secret reads as "" on GitHub: nothing to mask, nothing to warn about
            store.set(name, value, register=False)
    if isinstance(values, dict):
        values.clear()
    return store
