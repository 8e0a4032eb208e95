"""The one error type the expression engine raises.

Callers (workflow parser, engine) need to tell *when* an expression failed - while lexing,
parsing or evaluating - because GitHub reports parse-time failures as workflow errors before
any step runs, and evaluation failures as step/job failures.
"""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["lexing", "parsing", "evaluation"]


class ExpressionError(Exception):
    """An expression failed; `kind` says at which stage, `position` is 1-based (or None).

    `str(err)` follows the C# runner's wording: `<message>. Located at position N within
    expression: <expression>` when a position is known.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        position: int | None = None,
        expression: str | None = None,
    ) -> None:
        self.kind: ErrorKind = kind
        self.message = message
        self.position = position
        self.expression = expression
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.position is not None and self.expression is not None:
            return (
                f"{self.message}. Located at position {self.position} "
                f"within expression: {self.expression}"
            )
        return self.message

    def __reduce__(self) -> tuple[type, tuple[str, str, int | None, str | None]]:
        return (type(self), (self.kind, self.message, self.position, self.expression))
