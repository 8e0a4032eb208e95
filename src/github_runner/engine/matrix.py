"""Matrix expansion with GitHub's include/exclude rules, and the `--matrix k:v` filter.

Input is an already evaluated `strategy.matrix` mapping (expressions inside it are resolved by the
caller, because they may depend on `needs`). Output is the ordered list of combinations; each
becomes one job named `key (v1, v2, ...)`.

Rules (GitHub docs, "Expanding or adding matrix configurations"):
- the cross product of every non-include/exclude key, in key order, the last key varying fastest;
- an `exclude` entry removes every combination whose values match all the entry's keys (partial
  matches count); an entry naming a key the matrix does not have is an error;
- each `include` entry is merged into every combination whose *original* values it does not
  contradict (values added by earlier includes may be overwritten); when it fits none, it is
  appended as a combination of its own.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any


class MatrixError(ValueError):
    """The matrix is malformed; the message names the offending key."""


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _matches(entry: Mapping[str, Any], combo: Mapping[str, Any]) -> bool:
    return all(k in combo and _equal(combo[k], v) for k, v in entry.items())


def expand(matrix: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """All combinations of `matrix`; `[]` means "no matrix" (one job, empty matrix context)."""
    if not matrix:
        return []
    if not isinstance(matrix, Mapping):
        raise MatrixError(f"matrix must be a mapping, got {type(matrix).__name__}")
    include = _entries(matrix.get("include"), "include")
    exclude = _entries(matrix.get("exclude"), "exclude")
    axes: dict[str, Sequence[Any]] = {}
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        if not isinstance(values, list):
            raise MatrixError(f"matrix.{key} must be a sequence of values")
        if not values:
            raise MatrixError(f"matrix.{key} must not be an empty sequence")
        axes[key] = values
    combos: list[dict[str, Any]] = []
    if axes:
        combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    for entry in exclude:
        for key in entry:
            if key not in axes:
                raise MatrixError(f"matrix.exclude: key {key!r} is not defined in the matrix")
        combos = [c for c in combos if not _matches(entry, c)]
    originals = [dict(c) for c in combos]
    extra: list[dict[str, Any]] = []
    for entry in include:
        fitted = False
        for combo, original in zip(combos, originals):
            if all(_equal(original[k], v) for k, v in entry.items() if k in original):
                combo.update(entry)
                fitted = True
        if not fitted:
            extra.append(dict(entry))
    return combos + extra


def _entries(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
        raise MatrixError(f"matrix.{name} must be a sequence of mappings")
    return [dict(e) for e in value]


def parse_filter(items: Sequence[str]) -> dict[str, list[str]]:
    """`--matrix k:v` flags -> {k: [v, ...]}; repeating a key allows several values."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition(":")
        if not sep or not key.strip():
            raise MatrixError(f"--matrix {item!r}: expected KEY:VALUE")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def apply_filter(combos: list[dict[str, Any]], wanted: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """Keep combinations whose value for each filtered key is one of the wanted values.

    A combination without a filtered key is kept: the filter narrows matrices that have the key.
    """
    if not wanted:
        return combos
    return [
        c
        for c in combos
        if all(k not in c or display(c[k]) in values for k, values in wanted.items())
    ]


def display(value: Any) -> str:
    """How a matrix value appears in a job name: scalars as GitHub prints them, others as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"))


def job_suffix(combo: Mapping[str, Any]) -> str:
    """`(v1, v2)` as GitHub appends to a matrix job's name."""
    return "(" + ", ".join(display(v) for v in combo.values()) + ")"


def strategy_from(raw: Mapping[str, Any] | None) -> tuple[bool, int | None]:
    """fail-fast and max-parallel from an evaluated `strategy` mapping, with GitHub's defaults."""
    raw = raw or {}
    fail_fast = raw.get("fail-fast", True)
    if isinstance(fail_fast, str):
        fail_fast = fail_fast.strip().lower() != "false"
    max_parallel = raw.get("max-parallel")
    if max_parallel is not None:
        try:
            max_parallel = int(float(max_parallel))
        except (TypeError, ValueError):
            raise MatrixError(f"strategy.max-parallel must be a number, got {max_parallel!r}") from None
        if max_parallel < 1:
            raise MatrixError("strategy.max-parallel must be at least 1")
    return bool(fail_fast), max_parallel
