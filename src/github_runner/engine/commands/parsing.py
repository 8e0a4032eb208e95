"""Recognising a workflow command in one line of step output, as GitHub's runner does.

Two syntaxes exist. v2 (`::name k=v,k2=v2::data`) must start the line, after leading whitespace.
v1 (`##[name k=v;k2=v2]data`) may appear anywhere in the line. Only *registered* names are
commands (case-insensitive); anything else is plain output. Escapes are undone by plain string
replacement in a fixed order with `%25` last, so `%250A` becomes the literal text `%0A`.

This runs for every output line, so the common case (no `::` and no `##[` in the line) costs two
substring searches and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping

from msgspec import Struct, field

V2_KEY = "::"
V1_PREFIX = "##["

# (escaped form, character) in the runner's unescape order; `%25` must stay last.
_V2_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_V2_PROPERTY = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_V1 = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


def _unescape(text: str, table: tuple[tuple[str, str], ...]) -> str:
    if "%" not in text:
        return text
    for escaped, char in table:
        text = text.replace(escaped, char)
    return text


def _escape(text: str, table: tuple[tuple[str, str], ...]) -> str:
    for escaped, char in reversed(table):  # `%` first, so nothing is escaped twice
        text = text.replace(char, escaped)
    return text


def unescape_data(text: str) -> str:
    return _unescape(text, _V2_DATA)


def unescape_property(text: str) -> str:
    return _unescape(text, _V2_PROPERTY)


def unescape_v1(text: str) -> str:
    return _unescape(text, _V1)


def escape_data(text: str) -> str:
    """What `@actions/core` writes for command data (`%`, CR, LF)."""
    return _escape(text, _V2_DATA)


def escape_property(text: str) -> str:
    """What `@actions/core` writes for property values (also `:` and `,`)."""
    return _escape(text, _V2_PROPERTY)


def escape_v1(text: str) -> str:
    return _escape(text, _V1)


class Properties(MutableMapping[str, str]):
    """Command properties: keys compare case-insensitively and keep their first spelling."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for key, value in items:
            self[key] = value

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __setitem__(self, key: str, value: str) -> None:
        folded = key.lower()
        old = self._items.get(folded)
        self._items[folded] = (old[0] if old else key, value)

    def __delitem__(self, key: str) -> None:
        del self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (spelled for spelled, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Properties({dict(self)!r})"

    def as_dict(self) -> dict[str, str]:
        return dict(self.items())


class ActionCommand(Struct):
    command: str  # as written in the line (lookups are case-insensitive)
    properties: Properties = field(default_factory=Properties)
    data: str = ""
    syntax: str = "v2"  # "v2" (`::`) or "v1" (`##[`)


class CommandNames:
    """A case-insensitive set of registered command names (the stop token joins it while active)."""

    __slots__ = ("_names",)

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names: set[str] = {n.lower() for n in names}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._names

    def add(self, name: str) -> None:
        self._names.add(name.lower())

    def discard(self, name: str) -> None:
        self._names.discard(name.lower())

    def copy(self) -> "CommandNames":
        clone = CommandNames()
        clone._names = set(self._names)
        return clone


def _split_pair(text: str) -> tuple[str, str] | None:
    """`text.Split('=', 2, RemoveEmptyEntries)` keeping only two-part results, as .NET does it.

    Leading `=` are empty entries and vanish; after the key, further empty entries are skipped
    before the value starts, so `k==v` gives ("k", "v") and `k=` or `=v` give nothing.
    """
    start = len(text) - len(text.lstrip("="))
    eq = text.find("=", start)
    if start == len(text) or eq < 0:
        return None
    value = text[eq + 1 :].lstrip("=")
    return (text[start:eq], value) if value else None


def _properties(text: str, separator: str, unescape: tuple[tuple[str, str], ...]) -> Properties:
    props = Properties()
    for part in text.split(separator):
        if part:
            pair = _split_pair(part)
            if pair is not None:
                props[pair[0]] = _unescape(pair[1], unescape)
    return props


def parse_v2(line: str, registered: CommandNames) -> ActionCommand | None:
    message = line.lstrip()
    if not message.startswith(V2_KEY):
        return None
    end = message.find(V2_KEY, 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if not name or name not in registered:
        return None
    props = _properties(info[space + 1 :].strip(), ",", _V2_PROPERTY) if space > 0 else Properties()
    return ActionCommand(name, props, unescape_data(message[end + 2 :]), "v2")


def parse_v1(line: str, registered: CommandNames) -> ActionCommand | None:
    prefix = line.find(V1_PREFIX)
    if prefix < 0:
        return None
    bracket = line.find("]", prefix)
    if bracket < 0:
        return None
    info = line[prefix + 3 : bracket]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if not name or name not in registered:
        return None
    props = _properties(info[space + 1 :], ";", _V1) if space > 0 else Properties()
    return ActionCommand(name, props, unescape_v1(line[bracket + 1 :]), "v1")


def might_be_command(line: str) -> bool:
    """The runner's cheap pre-check: only lines containing `##[` or `::` are parsed at all."""
    return V2_KEY in line or V1_PREFIX in line


def parse_command(line: str, registered: CommandNames) -> ActionCommand | None:
    """v2 first, then v1, as the runner tries them; None when the line is not a command."""
    if not line or not might_be_command(line):
        return None
    return parse_v2(line, registered) or parse_v1(line, registered)
