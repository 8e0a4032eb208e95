"""GitHub's size budget for one parse: a workflow and every workflow it calls share it.

GitHub counts what the parsed templates would hold in memory (a fixed cost per node plus two
bytes per character of strings, expressions and file names) and stops at `max-result-size`
(10 MiB by default), so a chain of reusable workflows cannot grow without bound.
"""

from __future__ import annotations

from .tokens import ExpressionToken, LiteralToken, MappingToken, SequenceToken, Token

MIN_OBJECT_SIZE = 24
STRING_OVERHEAD = 26
MAX_OBJECT_SIZE_EXCEEDED = "Maximum object size exceeded"


class ResultTooLarge(Exception):
    """The shared budget ran out while adding one file."""


def string_bytes(text: str) -> int:
    return STRING_OVERHEAD + 2 * len(text)


def token_bytes(token: Token) -> int:
    if isinstance(token, LiteralToken):
        return MIN_OBJECT_SIZE + (string_bytes(str(token.value)) if token.kind == "string" else 0)
    if isinstance(token, ExpressionToken):
        return MIN_OBJECT_SIZE + (0 if token.directive else string_bytes(token.expr))
    if isinstance(token, SequenceToken):
        return MIN_OBJECT_SIZE + sum(token_bytes(item) for item in token.items)
    if isinstance(token, MappingToken):
        return MIN_OBJECT_SIZE + sum(token_bytes(k) + token_bytes(v) for k, v in token.pairs)
    return MIN_OBJECT_SIZE


class ResultSize:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._files: set[str] = set()

    def add(self, name: str, tree: Token) -> None:
        """Count one file (its name once) and its tree; raises ResultTooLarge past the limit."""
        if name.upper() not in self._files:
            self._files.add(name.upper())
            self.used += string_bytes(name)
        self.used += token_bytes(tree)
        if self.limit > 0 and self.used > self.limit:
            raise ResultTooLarge(MAX_OBJECT_SIZE_EXCEEDED)
