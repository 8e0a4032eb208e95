"""Positions and the one error type of the workflow reader.

GitHub's parser collects every problem in a file before giving up, and prints each as
`file (Line: L, Col: C): message`; users fix a file in one pass instead of one error per run,
and the conformance vectors compare these texts exactly. So the reader never raises on the first
problem: it appends to an `ErrorList` and raises one `WorkflowError` at the end.
"""

from __future__ import annotations

from msgspec import Struct


class Pos(Struct, frozen=True):
    """Where a node starts in its file, 1-based like GitHub's messages."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file} (Line: {self.line}, Col: {self.col})"

    def message(self, text: str) -> str:
        """A positioned message in GitHub's exact layout."""
        return f"{self}: {text}"


class WorkflowError(Exception):
    """Every problem found in one workflow or action file, in the order GitHub reports them."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class ErrorList:
    """Collects errors (deduplicated, ordered) and stops collecting past GitHub's cap."""

    MAX_ERRORS = 10

    def __init__(
        self, file: str, max_errors: int = MAX_ERRORS, max_message_length: int = 0
    ) -> None:
        self.file = file
        self.max_errors = max_errors
        self.max_message_length = max_message_length
        self.items: list[str] = []

    def add(self, pos: Pos | None, text: str, *, bare: bool = False) -> None:
        """`bare`: GitHub prints some run-level limits without any file prefix."""
        if bare:
            msg = text
        else:
            msg = pos.message(text) if pos is not None else f"{self.file}: {text}"
        if self.max_message_length and len(msg) > self.max_message_length:
            msg = msg[: self.max_message_length] + "[...]"
        if msg not in self.items and len(self.items) < self.max_errors:
            self.items.append(msg)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise WorkflowError(self.items)
