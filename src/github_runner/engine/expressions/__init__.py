"""GitHub Actions expressions with the C# runner's semantics.

Public API (everything else in this package is internal):

    parse(text, *, named_values=None, functions=None) -> Node
        Parse the text inside `${{ }}`. `named_values` / `functions` restrict which contexts
        and functions the text may use (None = all); an unknown name fails here, at parse time,
        with ExpressionError(kind="parsing"). `functions` entries may be written as in the
        schema, `success(0,MAX)` / `hashFiles(1,255)`, to set the arity allowed at that key.
        Parsed trees are cached: parsing the same text twice is a dictionary lookup.
    evaluate(node_or_text, ctx) -> Any
        Value of a tree (or of text, parsed without restrictions). Values are None, bool,
        float (ints from contexts pass through), str, list, or a mapping.
    EvalContext(contexts, job_status="success", action_status=None, composite=False,
                workspace=None)
        What is evaluated against. Status functions read `job_status` ("success",
        "failure", "cancelled"; None = success); inside a composite action set
        `composite=True` and `action_status`. `hashFiles` hashes under `workspace`
        (default: `github.workspace`).
    evaluate_condition(if_text, ctx, *, default="success()") -> bool
        The `if:` rule: with or without `${{ }}`; empty means `default`; an expression
        without any status function is evaluated as `success() && (...)`.
    condition_node(if_text, ...) -> Node   the tree `evaluate_condition` evaluates.
    interpolate(value, ctx) -> Any
        Every `${{ }}` in a string (or in mappings/lists of strings). A string that is exactly
        one `${{ x }}` gives x's raw value; otherwise pieces are stringified and joined.
    interpolate_string(template, ctx) -> str   the same, always a string (null -> '').
    has_expression(s) -> bool; split_template(s); to_format_expression(s, force_format=False)
        (the workflow parser's `format()` rewrite of a template).
    to_string(v), to_number(v), truthy(v), format_number(f) (G15), to_json(v), from_json(s)
    evaluate_async / evaluate_condition_async / interpolate_async: the same, for the event
        loop: an expression calling hashFiles() runs in a worker thread (uses_io(node) says so).
    ExpressionError(kind, message, position, expression): kind is "lexing", "parsing" or
        "evaluation"; position is 1-based in the expression (None when not applicable).
    CaseInsensitiveDict: a dict with GitHub's key comparison (fromJSON objects are these).
    BUILTIN_FUNCTIONS: names of all built-in functions; STATUS_FUNCTIONS likewise.
"""

from __future__ import annotations

from .aio import evaluate_async, evaluate_condition_async, interpolate_async, uses_io
from .context import EvalContext
from .errors import ErrorKind, ExpressionError
from .evaluator import condition_node, evaluate, evaluate_condition, has_status_function
from .functions import BUILTINS, from_json
from .interpolation import (
    has_expression,
    interpolate,
    interpolate_string,
    single_expression,
    split_template,
    to_format_expression,
)
from .nodes import Node
from .parser import parse
from .status import STATUS_FUNCTIONS
from .tojson import to_json
from .values import (
    CaseInsensitiveDict,
    FilteredArray,
    format_number,
    kind_name,
    to_case_insensitive,
    to_number,
    to_string,
    truthy,
)

BUILTIN_FUNCTIONS: frozenset[str] = frozenset(spec.name for spec in BUILTINS.values())

__all__ = [
    "BUILTIN_FUNCTIONS",
    "STATUS_FUNCTIONS",
    "CaseInsensitiveDict",
    "ErrorKind",
    "EvalContext",
    "ExpressionError",
    "FilteredArray",
    "Node",
    "condition_node",
    "evaluate",
    "evaluate_async",
    "evaluate_condition",
    "evaluate_condition_async",
    "format_number",
    "from_json",
    "has_expression",
    "has_status_function",
    "interpolate",
    "interpolate_async",
    "interpolate_string",
    "kind_name",
    "parse",
    "single_expression",
    "split_template",
    "to_case_insensitive",
    "to_format_expression",
    "to_json",
    "to_number",
    "to_string",
    "truthy",
    "uses_io",
]
