"""Secrets read from files: one file per secret (`/run/secrets/NAME`, a Kubernetes secret
volume) or a directory of them.

One trailing newline is removed (editors and `echo` add it, nobody means it); anything else
is kept byte for byte. A file readable by group or others is refused when `strict` is on:
the runner should not trust a secret that other users could have read or replaced.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

from github_runner.secrets.providers import ProviderError

MAX_SIZE = 1024 * 1024


def read_secret_file(path: Path, *, strict: bool = False) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ProviderError(f"secret file {path}: not a regular file")
        if info.st_size > MAX_SIZE:
            raise ProviderError(f"secret file {path}: larger than {MAX_SIZE} bytes")
        if strict and info.st_mode & 0o077:
            raise ProviderError(
                f"secret file {path}: mode {stat.S_IMODE(info.st_mode):o} lets other users read "
                "it; chmod 600"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ProviderError(f"secret file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProviderError(f"secret file {path}: not UTF-8 (byte {exc.start})") from None
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def from_files(files: Mapping[str, Path], *, strict: bool = False) -> dict[str, str]:
    """`{"TOKEN": Path("/run/secrets/token")}` -> `{"TOKEN": "<content>"}`."""
    return {name: read_secret_file(Path(path), strict=strict) for name, path in files.items()}


def from_directory(directory: Path, *, strict: bool = False) -> dict[str, str]:
    """Every regular file in `directory` is a secret named after the file (dotfiles skipped)."""
    if not directory.is_dir():
        raise ProviderError(f"secret directory {directory}: not a directory")
    return {
        p.name: read_secret_file(p, strict=strict)
        for p in sorted(directory.iterdir())
        if not p.name.startswith(".") and p.is_file()
    }
