"""Walk a token tree against a template schema, the way GitHub's template reader does.

It reports every mismatch (unknown key, wrong type, missing required key, duplicate key,
expression not allowed or naming a value or function the key does not allow) and returns the
tree with `${{ }}` strings turned into `ExpressionToken`s. Messages are GitHub's, word for word.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import ErrorList
from .exprcheck import check_expression
from .schema import Definition, DefinitionInfo, Property, Schema, split_context
from .tokens import ExpressionToken, LiteralToken, MappingToken, SequenceToken, Token

OPEN, CLOSE = "${{", "}}"
INSERT = "insert"
_BACKGROUND_KEYS = {"background", "wait", "wait-all", "cancel"}
_BACKGROUND_ONLY_KEYS = {"wait", "wait-all", "cancel"}

ExpressionChecker = Callable[[str, list[str], dict[str, tuple[int, int]]], str | None]


class TemplateValidator:
    def __init__(
        self,
        schema: Schema,
        errors: ErrorList,
        background_steps: bool = False,
        expression_checker: ExpressionChecker = check_expression,
    ) -> None:
        self.schema = schema
        self.errors = errors
        self.background_steps = background_steps
        self.check_expression = expression_checker

    def validate(self, token: Token, root: str) -> Token:
        return self.read(token, DefinitionInfo.root(self.schema, root))

    # -- values -------------------------------------------------------------------------------

    def read(self, token: Token, info: DefinitionInfo) -> Token:
        if isinstance(token, LiteralToken):
            return self._check_scalar(self.parse_scalar(token, info), info)
        if isinstance(token, SequenceToken):
            seq_defs = self.schema.of_kind(info.definition, "sequence")
            if not seq_defs:
                self.errors.add(token.pos, "A sequence was not expected")
                return token
            item_info = info.child(self.schema, seq_defs[0].item_type)
            token.items = [self.read(item, item_info) for item in token.items]
            return token
        if isinstance(token, MappingToken):
            map_defs = self.schema.of_kind(info.definition, "mapping")
            if not map_defs:
                self.errors.add(token.pos, "A mapping was not expected")
                return token
            first = map_defs[0]
            if len(map_defs) > 1 or first.properties or not first.loose_key_type:
                self._well_known(token, info, list(map_defs))
            else:
                self._all_loose(token, info, first)
            return token
        return token

    def _check_scalar(self, token: Token, info: DefinitionInfo) -> Token:
        if isinstance(token, LiteralToken):
            candidates = self.schema.scalars(info.definition)
            if any(d.matches(token) for d in candidates):
                return token
            if token.kind != "string":
                as_string = token.as_string()
                if any(d.matches(as_string) for d in candidates):
                    return as_string
            self.errors.add(token.pos, f"Unexpected value '{token}'")
            return token
        if isinstance(token, ExpressionToken):
            if token.directive:
                self.errors.add(token.pos, f"Unexpected value '{token}'")
            elif not info.allowed:
                self.errors.add(token.pos, "A template expression is not allowed in this context")
        return token

    # -- mappings -----------------------------------------------------------------------------

    def _key(self, key: Token, info: DefinitionInfo) -> Token:
        if isinstance(key, LiteralToken):
            parsed = self.parse_scalar(key, info)
            if isinstance(parsed, LiteralToken) and parsed.kind != "string":
                return parsed.as_string()
            return parsed
        return key

    def _key_name(self, raw_key: Token, key: Token, seen: set[str]) -> str | None:
        """The key's text, or None (error reported) for a non-scalar or duplicate key."""
        if not isinstance(key, LiteralToken):
            self.errors.add(raw_key.pos, "A mapping key must be a string")
            return None
        name = str(key.value)
        if name:
            if name.upper() in seen:  # keys compare case-insensitively, like GitHub's
                self.errors.add(key.pos, f"'{name}' is already defined")
                return None
            seen.add(name.upper())
        return name

    def _expression_key(
        self, key: Token, value: Token, info: DefinitionInfo, value_info: DefinitionInfo
    ) -> Token:
        if info.allowed:
            return self.read(value, value_info)
        self.errors.add(key.pos, "A template expression is not allowed in this context")
        return value

    def _well_known(
        self, mapping: MappingToken, info: DefinitionInfo, defs: list[Definition]
    ) -> None:
        loose_key = defs[0].loose_key_type
        loose_value = defs[0].loose_value_type
        seen: set[str] = set()
        has_expression_key = False
        pairs: list[tuple[Token, Token]] = []
        for raw_key, value in mapping.pairs:
            key = self._key(raw_key, info)
            if isinstance(key, ExpressionToken):
                has_expression_key = True
                pairs.append(
                    (key, self._expression_key(key, value, info, info.child(self.schema, "any")))
                )
                continue
            name = self._key_name(raw_key, key, seen)
            if name is None:
                continue
            prop = self._match_property(defs, name)
            if prop is not None:
                if not self.background_steps and name in _BACKGROUND_KEYS:
                    self.errors.add(key.pos, f"Unexpected value '{name}'")
                    continue
                pairs.append((key, self.read(value, info.child(self.schema, prop.type))))
                continue
            if loose_key:
                self._check_scalar(key, info.child(self.schema, loose_key))
                pairs.append((key, self.read(value, info.child(self.schema, loose_value))))
                continue
            self.errors.add(key.pos, f"Unexpected value '{name}'")
        mapping.pairs = pairs

        if len(defs) > 1:
            hits: dict[str, int] = {}
            for d in defs:
                for prop_name in d.properties:
                    hits[prop_name] = hits.get(prop_name, 0) + 1
            unique = [k for k, n in hits.items() if n == 1]
            if not self.background_steps:
                unique = [k for k in unique if k not in _BACKGROUND_ONLY_KEYS]
            self.errors.add(
                mapping.pos,
                "There's not enough info to determine what you meant. Add one of these "
                f"properties: {', '.join(sorted(unique))}",
            )
        elif not has_expression_key:
            for prop_name, prop in defs[0].properties.items():
                if prop.required and prop_name.upper() not in seen:
                    self.errors.add(mapping.pos, f"Required property is missing: {prop_name}")

    @staticmethod
    def _match_property(defs: list[Definition], name: str) -> Property | None:
        """Find `name` among the candidate mappings and drop the candidates that lack it."""
        found = None
        missing = False
        for d in defs:
            if name in d.properties:
                found = d.properties[name]
            else:
                missing = True
        if found is not None and missing:
            defs[:] = [d for d in defs if name in d.properties]
        return found

    def _all_loose(
        self, mapping: MappingToken, info: DefinitionInfo, definition: Definition
    ) -> None:
        key_info = info.child(self.schema, definition.loose_key_type)
        value_info = info.child(self.schema, definition.loose_value_type)
        seen: set[str] = set()
        pairs: list[tuple[Token, Token]] = []
        for raw_key, value in mapping.pairs:
            key = self._key(raw_key, info)
            if isinstance(key, ExpressionToken):
                pairs.append((key, self._expression_key(key, value, info, value_info)))
                continue
            name = self._key_name(raw_key, key, seen)
            if name is None:
                continue
            self._check_scalar(key, key_info)
            pairs.append((key, self.read(value, value_info)))
        mapping.pairs = pairs

    # -- expressions --------------------------------------------------------------------------

    def parse_scalar(self, token: LiteralToken, info: DefinitionInfo) -> Token:
        """Split a string on `${{ }}`; validate each expression against the allowed context."""
        if token.kind != "string" or not token.value:
            return token
        raw = str(token.value)
        start = raw.find(OPEN)
        if start < 0:
            return token
        named, functions = split_context(list(info.allowed))
        segments: list[tuple[str, str]] = []  # ("lit", text) | ("expr", expression)
        i = 0
        while i < len(raw):
            if i == start:
                end = -1
                in_string = False
                j = i + len(OPEN)
                while j < len(raw):
                    ch = raw[j]
                    if ch == "'":
                        in_string = not in_string
                    elif not in_string and ch == "}" and raw[j - 1] == "}":
                        end = j
                        break
                    j += 1
                if end < 0:
                    self.errors.add(
                        token.pos,
                        "The expression is not closed. An unescaped ${{ sequence was found, but "
                        "the closing }} sequence was not found.",
                    )
                    return token
                inner = raw[start + len(OPEN) : end - 1]
                i = end + 1
                kind, text, error = self._parse_expression(inner, named, functions)
                if error is not None:  # GitHub reports the first bad expression of a value
                    self.errors.add(token.pos, error)
                    return token
                if kind == "directive":
                    if start != 0 or i < len(raw):
                        self.errors.add(
                            token.pos,
                            f"The directive '{text}' is not allowed in this context. Directives are "
                            "not supported for expressions that are embedded within a string. "
                            "Directives are only supported when the entire value is an expression.",
                        )
                        return token
                    segments.append(("directive", text))
                else:
                    segments.append(("expr", text))
                start = raw.find(OPEN, i)
            elif start < 0 or i < start:
                stop = len(raw) if start < 0 else start
                if segments and segments[-1][0] == "lit":
                    segments[-1] = ("lit", segments[-1][1] + raw[i:stop])
                else:
                    segments.append(("lit", raw[i:stop]))
                i = stop
        if len(segments) == 1:
            kind, text = segments[0]
            if kind == "directive":
                return ExpressionToken(token.pos, "", raw, directive=text)
            if kind == "expr":
                literal = _string_literal(text)
                if literal is not None:
                    return LiteralToken(token.pos, "string", literal)
                return ExpressionToken(token.pos, text, raw)
            return token
        fmt: list[str] = []
        args: list[str] = []
        for kind, text in segments:
            if kind == "lit":
                fmt.append(text.replace("'", "''").replace("{", "{{").replace("}", "}}"))
            else:
                fmt.append(f"{{{len(args)}}}")
                args.append(text)
        joined = "".join(f", {a}" for a in args)
        return ExpressionToken(token.pos, f"format('{''.join(fmt)}'{joined})", raw)

    def _parse_expression(
        self, inner: str, named: list[str], functions: dict[str, tuple[int, int]]
    ) -> tuple[str, str, str | None]:
        trimmed = inner.strip()
        if not trimmed:
            return "expr", "", "An expression was expected"
        if trimmed.startswith(INSERT) and (
            len(trimmed) == len(INSERT) or trimmed[len(INSERT)].isspace()
        ):
            params = trimmed[len(INSERT) :].split()
            if params:
                return (
                    "directive",
                    INSERT,
                    (
                        "Exactly 0 parameter(s) were expected following the directive 'insert'. "
                        f"Actual parameter count: {len(params)}"
                    ),
                )
            return "directive", INSERT, None
        error = self.check_expression(trimmed, named, functions)
        return "expr", trimmed, error


def _string_literal(expr: str) -> str | None:
    """`'{{ literal }}'` -> its text, when the whole expression is one string literal."""
    if len(expr) < 2 or expr[0] != "'" or expr[-1] != "'":
        return None
    body = expr[1:-1]
    if body.replace("''", "").find("'") >= 0:
        return None
    return body.replace("''", "'")


def expression_of(text: str) -> str | None:
    """The expression GitHub evaluates for a value written as `text` (already validated):
    `${{ x }}` -> `x`, `a-${{ x }}` -> `format('a-{0}', x)`; None for plain literal text."""
    from .errors import ErrorList
    from .schema import load_schema

    validator = TemplateValidator(
        load_schema("workflow"), ErrorList("-"), expression_checker=lambda *_: None
    )
    info = DefinitionInfo.root(validator.schema, "string-steps-context")
    token = validator.parse_scalar(LiteralToken(None, "string", text), info)
    return token.expr if isinstance(token, ExpressionToken) and not token.directive else None
