"""GitHub's template schema (`workflow-v1.0.json`, `action-v1.0.json`) read generically.

The schema file is data, not a key list written here: each definition is a mapping (named
properties, optionally loose keys), a sequence, a scalar (null/boolean/number/string with
constant or non-empty), or a one-of; and may carry a `context` list naming the values and
functions allowed inside `${{ }}` at that key and below. `allowed-values` is a one-of of
string constants.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from .tokens import LiteralToken

SCALAR_KINDS = ("null", "boolean", "number", "string")
UNLIMITED = 2**31 - 1  # a context function's `MAX` argument count
_FUNCTION_ITEM = re.compile(r"^([a-zA-Z0-9_]+)\(([0-9]+),([0-9]+|MAX)\)$")


class Property(Struct):
    type: str
    required: bool = False


class Definition(Struct):
    name: str
    kind: str  # null, boolean, number, string, sequence, mapping, one-of
    context: list[str] = field(default_factory=list)
    # mapping
    properties: dict[str, Property] = field(default_factory=dict)
    loose_key_type: str = ""
    loose_value_type: str = ""
    # sequence
    item_type: str = ""
    # one-of
    one_of: list[str] = field(default_factory=list)
    # string
    constant: str = ""
    ignore_case: bool = False
    require_non_empty: bool = False

    def matches(self, literal: LiteralToken) -> bool:
        """Whether a scalar (already typed by the YAML reader) satisfies this definition."""
        if self.kind != literal.kind:
            return False
        if self.kind != "string":
            return True
        value = str(literal.value)
        if self.constant:
            if self.ignore_case:
                return self.constant.upper() == value.upper()
            return self.constant == value
        if self.require_non_empty:
            return bool(value)
        return True


def split_context(context: list[str]) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """`["github", "success(0,MAX)"]` -> named values and {function: (min, max)}."""
    named: list[str] = []
    functions: dict[str, tuple[int, int]] = {}
    for item in context:
        match = _FUNCTION_ITEM.match(item)
        if match:
            high = UNLIMITED if match.group(3) == "MAX" else int(match.group(3))
            functions[match.group(1)] = (int(match.group(2)), high)
        else:
            named.append(item)
    return named, functions


class Schema:
    """All definitions of one template schema, with GitHub's built-in types added."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.definitions: dict[str, Definition] = {
            "null": Definition("null", "null"),
            "boolean": Definition("boolean", "boolean"),
            "number": Definition("number", "number"),
            "string": Definition("string", "string"),
            "sequence": Definition("sequence", "sequence", item_type="any"),
            "mapping": Definition(
                "mapping", "mapping", loose_key_type="string", loose_value_type="any"
            ),
            "any": Definition(
                "any",
                "one-of",
                one_of=["null", "boolean", "number", "string", "sequence", "mapping"],
            ),
        }
        for name, body in data.get("definitions", {}).items():
            self.definitions[name] = self._definition(name, body)
        for name, definition in self.definitions.items():
            for ref in self._references(definition):
                if ref not in self.definitions:
                    raise ValueError(f"schema definition '{name}' refers to unknown '{ref}'")

    def _definition(self, name: str, body: dict[str, Any]) -> Definition:
        context = list(body.get("context", []))
        if "mapping" in body:
            spec = body["mapping"] or {}
            props = {}
            for key, value in (spec.get("properties") or {}).items():
                if isinstance(value, str):
                    props[key] = Property(value)
                else:
                    props[key] = Property(value["type"], bool(value.get("required", False)))
            return Definition(
                name,
                "mapping",
                context,
                properties=props,
                loose_key_type=spec.get("loose-key-type", ""),
                loose_value_type=spec.get("loose-value-type", ""),
            )
        if "sequence" in body:
            return Definition(name, "sequence", context, item_type=body["sequence"]["item-type"])
        if "one-of" in body:
            return Definition(name, "one-of", context, one_of=list(body["one-of"]))
        if "allowed-values" in body:
            names = []
            for value in body["allowed-values"]:
                sub = f"{name}-{value}"
                self.definitions[sub] = Definition(sub, "string", constant=str(value))
                names.append(sub)
            return Definition(name, "one-of", context, one_of=names)
        if "string" in body:
            spec = body["string"] or {}
            return Definition(
                name,
                "string",
                context,
                constant=spec.get("constant", ""),
                ignore_case=bool(spec.get("ignore-case", False)),
                require_non_empty=bool(spec.get("require-non-empty", False)),
            )
        for kind in ("null", "boolean", "number"):
            if kind in body:
                return Definition(name, kind, context)
        raise ValueError(f"schema definition '{name}' has no type")

    @staticmethod
    def _references(definition: Definition) -> list[str]:
        refs = [p.type for p in definition.properties.values()] + list(definition.one_of)
        refs += [
            t
            for t in (definition.loose_key_type, definition.loose_value_type, definition.item_type)
            if t
        ]
        return refs

    def get(self, name: str) -> Definition:
        return self.definitions[name]

    def of_kind(self, definition: Definition, kind: str) -> list[Definition]:
        """The definition itself, or its one-of members, that are of `kind` (one level, like GitHub)."""
        if definition.kind == kind:
            return [definition]
        if definition.kind == "one-of":
            return [d for d in (self.get(n) for n in definition.one_of) if d.kind == kind]
        return []

    def scalars(self, definition: Definition) -> list[Definition]:
        """All scalar definitions reachable through nested one-ofs."""
        if definition.kind in SCALAR_KINDS:
            return [definition]
        if definition.kind == "one-of":
            out: list[Definition] = []
            for name in definition.one_of:
                out.extend(self.scalars(self.get(name)))
            return out
        return []


class DefinitionInfo(Struct, frozen=True):
    """A definition plus the expression context accumulated from the root down to it."""

    definition: Definition
    allowed: tuple[str, ...]

    @classmethod
    def root(cls, schema: Schema, name: str) -> DefinitionInfo:
        definition = schema.get(name)
        return cls(definition, tuple(definition.context))

    def child(self, schema: Schema, target: str | Definition) -> DefinitionInfo:
        definition = schema.get(target) if isinstance(target, str) else target
        if not definition.context:
            return DefinitionInfo(definition, self.allowed)
        seen = {c.upper() for c in self.allowed}
        allowed = list(self.allowed)
        for item in definition.context:
            if item.upper() not in seen:
                allowed.append(item)
                seen.add(item.upper())
        return DefinitionInfo(definition, tuple(allowed))


SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def _with_egress(data: dict[str, Any]) -> dict[str, Any]:
    """Add this runner's one extension: `jobs.<id>.egress` (issue 7), on normal jobs only."""
    defs = data["definitions"]
    if "job-factory" in defs and "egress" not in defs["job-factory"]["mapping"]["properties"]:
        defs["job-factory"]["mapping"]["properties"]["egress"] = "job-egress"
        defs["job-egress"] = {
            "description": "github-runner extension: the job's network egress policy.",
            "mapping": {
                "properties": {
                    "mode": "job-egress-mode",
                    "allow": "sequence-of-non-empty-string",
                }
            },
        }
        defs["job-egress-mode"] = {"allowed-values": ["monitor", "enforce", "audit", "block"]}
    return data


@cache
def load_schema(name: str) -> Schema:
    """`workflow` or `action`: the vendored schema file of that name (a UTF-8 BOM is allowed)."""
    data = json.loads((SCHEMA_DIR / f"{name}-v1.0.json").read_text(encoding="utf-8-sig"))
    if name == "workflow":
        data = _with_egress(data)
    return Schema(data)
