"""Shared helpers for the command scorers: a masker to register values with and query."""

from __future__ import annotations

from typing import Any


class _ReferenceMasker:
    """Used only until `github_runner.secrets.masker.Masker` is importable: longest value first."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, value: str, *_: Any, **__: Any) -> bool:
        if not value.strip():
            return False
        self.values.add(value)
        return True

    def mask(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def make_masker() -> Any:
    try:
        from github_runner.secrets.masker import Masker
    except ImportError:
        return _ReferenceMasker()
    return Masker(min_length=1)  # the runner's masker has no minimum: `::add-mask::abc` masks "abc"
