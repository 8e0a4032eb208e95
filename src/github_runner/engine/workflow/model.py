"""The typed workflow model the engine consumes.

Everything here has already passed the template schema, so the engine can trust shapes (a step
has `run` or `uses`, `needs` is a list of known job ids, ...). What it cannot trust yet are
values that GitHub evaluates at run time: any field typed `Raw` may still be a string holding
`${{ }}` (even where a number, boolean, list or mapping is expected, because the schema allows
an expression in place of the whole node) and is left unevaluated for the engine.

Positions: every model object keeps `pos` (where it starts) and `positions` (key -> position of
that key's value), so a run-time error can say `file (Line: L, Col: C)` like GitHub does, e.g.
`job.where("timeout-minutes").message("...")`.
"""

from __future__ import annotations

import re
from typing import Any

from msgspec import Struct, field

from .errors import Pos

# A value kept as written (str, bool, int, float, None, list, dict): may contain `${{ }}`.
Raw = Any

_STATUS_FUNCTIONS = ("success(", "failure(", "cancelled(", "always(")
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")


def condition_expression(raw_if: str | bool | float | None) -> str:
    """Turn an `if:` as written into the expression GitHub evaluates.

    Why: `if:` is the one key where the text is an expression even without `${{ }}`, and GitHub
    adds an implicit `success() &&` unless the condition already calls a status function.
    """
    if raw_if is None:
        return "success()"
    if isinstance(raw_if, bool):
        text = "true" if raw_if else "false"
    elif isinstance(raw_if, (int, float)):
        text = str(raw_if)
    else:
        text = raw_if.strip()
    if text.startswith("${{") and text.endswith("}}") and text.count("${{") == 1:
        text = text[3:-2].strip()
    if not text:
        return "success()"
    code = _STRING_LITERAL.sub("''", text).lower()  # 'success()' inside a string is no call
    if any(re.search(rf"(?<![\w.]){fn[:-1]}\s*\(", code) for fn in _STATUS_FUNCTIONS):
        return text
    return f"success() && ({text})"


class Node(Struct, kw_only=True, repr_omit_defaults=True):
    """Source position of an object and of each of its keys' values (keyword-only, last in
    the field order, so subclasses keep their positional fields)."""

    pos: Pos | None = None
    positions: dict[str, Pos] = field(default_factory=dict)

    def where(self, key: str | None = None) -> Pos | None:
        """Position of `key`'s value, or of the object itself."""
        if key is None:
            return self.pos
        return self.positions.get(key, self.pos)


class Step(Node):
    id: str | None  # the `id:` as written, None when not given
    context_id: str  # `id`, or GitHub's generated one: `__run`, `__actions_checkout`, `__run_2`
    name: Raw = None
    if_: Raw = None  # raw `if:`; see `condition`
    run: str | None = None
    shell: str | None = None
    working_directory: str | None = None
    uses: str | None = None
    with_: dict[str, Raw] = field(default_factory=dict)
    env: Raw = field(default_factory=dict)  # mapping, or one `${{ }}` string
    continue_on_error: Raw = False
    timeout_minutes: Raw = None
    # Keys GitHub accepts only behind experimental flags (background, wait, wait-all, cancel,
    # parallel), kept as written so the engine can refuse them by name.
    extra: dict[str, Raw] = field(default_factory=dict)

    @property
    def condition(self) -> str:
        return condition_expression(self.if_)

    @property
    def line(self) -> int:
        return self.pos.line if self.pos else 0

    @property
    def col(self) -> int:
        return self.pos.col if self.pos else 0


class Strategy(Node):
    matrix: Raw = None  # raw template: mapping (vectors, include, exclude) or `${{ }}` string
    fail_fast: Raw = True
    max_parallel: Raw = None
    # `strategy: ${{ ... }}`: the whole strategy is one expression (matrix etc. come from it).
    expression: str | None = None


class Job(Node):
    id: str
    name: Raw = None  # None: the UI shows the id (plus matrix values)
    needs: list[str] = field(default_factory=list)
    if_: Raw = None
    runs_on: Raw = None
    environment: Raw = None
    env: Raw = field(default_factory=dict)
    defaults: dict[str, Any] = field(
        default_factory=dict
    )  # {"run": {"shell", "working-directory"}}
    permissions: Raw = None
    concurrency: Raw = None
    strategy: Strategy | None = None
    outputs: dict[str, Raw] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    container: Raw = None
    services: Raw = field(default_factory=dict)
    timeout_minutes: Raw = None  # None: GitHub's default of 360
    cancel_timeout_minutes: Raw = None
    continue_on_error: Raw = False
    # Reusable-workflow call (`uses:` at job level): no runs-on/steps then.
    uses: str | None = None
    with_: dict[str, Raw] = field(default_factory=dict)
    secrets: Raw = None  # mapping, the string "inherit", or None
    called: Workflow | None = None  # the called workflow when it could be loaded
    # Extension (issue 7): `egress: {mode: monitor|enforce|audit|block, allow: [...]}` as written.
    egress: Raw = None

    @property
    def condition(self) -> str:
        return condition_expression(self.if_)

    @property
    def is_reusable_call(self) -> bool:
        return self.uses is not None


class Workflow(Node):
    path: str
    name: Raw = None
    run_name: Raw = None
    description: str | None = None
    # Normalized triggers: event name -> its configuration mapping (types, branches, paths,
    # inputs, cron list for schedule...). `on: push` and `on: [push]` both give {"push": {}}.
    on: dict[str, Any] = field(default_factory=dict)
    env: Raw = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    permissions: Raw = None
    concurrency: Raw = None
    jobs: dict[str, Job] = field(default_factory=dict)  # in file order

    def inputs(self, event: str) -> dict[str, dict[str, Any]]:
        """Declared inputs of `workflow_dispatch` or `workflow_call` (name -> definition)."""
        config = self.on.get(event) or {}
        inputs = config.get("inputs") if isinstance(config, dict) else None
        return dict(inputs) if isinstance(inputs, dict) else {}
