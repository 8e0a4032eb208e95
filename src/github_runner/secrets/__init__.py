"""Secrets: the store that holds them, the masker every output passes through, log filters.

    masker = Masker()                      # min_length=4 by default
    masker.add(value, source="-s TOKEN")   # value + base64/URL/JSON/... forms; False if refused
    stream = masker.stream()               # one per output stream
    out = stream.write(chunk) ... + stream.flush()
    masker.mask(text); masker.contains_secret(text)

    store = SecretStore(masker)            # copy-on-read, zeroised on remove/close
    store.set("TOKEN", value, source="--secret-file .secrets:3")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from github_runner.secrets.masker import MASK, Masker, MaskStream
    from github_runner.secrets.store import SecretStore, SecretStoreClosed, hold, zeroise

__all__ = ["MASK", "MaskStream", "Masker", "SecretStore", "SecretStoreClosed", "hold", "zeroise"]

# Loaded on first use (PEP 562): `exec` fills a SecretStore while it parses its flags, and
# `--list`, `--dry-run` or a bad flag should not pay for the masker's matcher import.
_WHERE = {
    "MASK": "masker", "Masker": "masker", "MaskStream": "masker",
    "SecretStore": "store", "SecretStoreClosed": "store", "hold": "store", "zeroise": "store",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
