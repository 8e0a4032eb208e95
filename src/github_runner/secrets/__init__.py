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

from github_runner.secrets.masker import MASK, Masker, MaskStream
from github_runner.secrets.store import SecretStore, SecretStoreClosed, zeroise

__all__ = ["MASK", "MaskStream", "Masker", "SecretStore", "SecretStoreClosed", "zeroise"]
