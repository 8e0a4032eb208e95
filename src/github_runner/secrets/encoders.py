"""Derived forms of a secret: the ways a program commonly re-prints a value it was given.

A masker that only knows the literal value leaks the moment a step pipes it through `base64`,
`jq`, `curl --data-urlencode` or a YAML dump. GitHub's runner registers a fixed set of encoders
(`HostContext`); we register the same set, plus a few forms GitHub misses that users have been
burned by (base64 with a suffix, `\\uXXXX` JSON escapes, `+` for spaces in form encoding).

Every encoder maps `str -> str`; an empty result adds nothing. Base values (the secret, each
line of a multi-line secret, each string inside a JSON secret) are computed first, then every
encoder is applied to every base value.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

Encoder = Callable[[str], str]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# A short stable form ("b" for "o") would match everywhere; the padded forms still cover short
# values, as in GitHub.
STABLE_BASE64_MIN = 8


def _b64_stable(data: bytes) -> str:
    """The base64 characters fixed by `data` alone, whatever bytes follow it.

    `echo "$SECRET" | base64` encodes the secret plus a newline, so the padded form never
    appears; the first 4*(n//3) + n%3 characters do (the rest mix in bits of the next byte).
    """
    whole, rest = divmod(len(data), 3)
    stable = _b64(data)[: 4 * whole + rest]
    return stable if len(stable) >= STABLE_BASE64_MIN else ""


def base64_aligned(value: str) -> str:
    return _b64(value.encode())


def base64_shift1(value: str) -> str:
    """base64 of the value preceded by 2 (mod 3) bytes: the first group mixes prefix and value."""
    data = value.encode()
    return _b64(data[1:]) if len(data) > 1 else ""


def base64_shift2(value: str) -> str:
    data = value.encode()
    return _b64(data[2:]) if len(data) > 2 else ""


def base64_aligned_stable(value: str) -> str:
    return _b64_stable(value.encode())


def base64_shift1_stable(value: str) -> str:
    data = value.encode()
    return _b64_stable(data[1:]) if len(data) > 1 else ""


def base64_shift2_stable(value: str) -> str:
    data = value.encode()
    return _b64_stable(data[2:]) if len(data) > 2 else ""


def command_line_escape(value: str) -> str:
    return value.replace('"', '\\"')


def expression_string_escape(value: str) -> str:
    return value.replace("'", "''")


def json_string_escape(value: str) -> str:
    """JSON string body as .NET, JavaScript and Python (ensure_ascii=False) print it."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def json_string_escape_ascii(value: str) -> str:
    """JSON string body with non-ASCII as `\\uXXXX`, Python's `json.dumps` default."""
    return json.dumps(value)[1:-1]


def uri_data_escape(value: str) -> str:
    """RFC 3986 percent-encoding of everything but unreserved characters (Uri.EscapeDataString)."""
    return quote(value, safe="")


def form_url_escape(value: str) -> str:
    """application/x-www-form-urlencoded: like `uri_data_escape` but spaces become `+`."""
    return quote_plus(value, safe="")


def xml_escape(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


_SHELL_SPECIAL = frozenset(" \t!\"$&'()*,;<>?[\\]^`{|}")


def shell_backslash_escape(value: str) -> str:
    """bash `printf %q`: a backslash before each shell-special character (values with control
    characters are printed in `$'...'` form instead, not covered)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return ""
    out = "".join("\\" + c if c in _SHELL_SPECIAL else c for c in value)
    return "\\" + out if out[:1] in ("~", "#") else out


def trim_double_quotes(value: str) -> str:
    """A long value registered with its quotes is often printed without them (GitHub: > 8 chars)."""
    if len(value) > 8 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return ""


_AMP_MIN = 6


def powershell_pre_ampersand(value: str) -> str:
    """PowerShell error output may colour the rest of a value after `&`; mask the part before."""
    if "&+" in value:
        part = value[: value.index("&+") + 2]
    elif "&" in value:
        part = value[: value.rindex("&") + 1]
    else:
        return ""
    return part if len(part) >= _AMP_MIN else ""


def powershell_post_ampersand(value: str) -> str:
    if "&+" in value:
        part = value[value.index("&+") + 2 :][1:]
    elif "&" in value:
        part = value[value.rindex("&") + 1 :]
    else:
        return ""
    return part if len(part) >= _AMP_MIN else ""


DEFAULT_ENCODERS: tuple[Encoder, ...] = (
    base64_aligned,
    base64_shift1,
    base64_shift2,
    base64_aligned_stable,
    base64_shift1_stable,
    base64_shift2_stable,
    command_line_escape,
    expression_string_escape,
    json_string_escape,
    json_string_escape_ascii,
    uri_data_escape,
    form_url_escape,
    xml_escape,
    shell_backslash_escape,
    trim_double_quotes,
    powershell_pre_ampersand,
    powershell_post_ampersand,
)

# Names usable in configuration and in the conformance vectors.
NAMED_ENCODERS: dict[str, Encoder] = {
    "base64": base64_aligned,
    "json-string-escape": json_string_escape,
    "uri-data-escape": uri_data_escape,
    "xml-escape": xml_escape,
    "command-line-escape": command_line_escape,
    "expression-string-escape": expression_string_escape,
}


def replacer(old: str, new: str) -> Encoder:
    """An encoder for a site-specific rewrite (a tool that prints `-` as `_`, say)."""

    def encode(value: str) -> str:
        return value.replace(old, new) if old in value else ""

    encode.__name__ = f"replace({old!r},{new!r})"
    return encode


def lines_of(value: str) -> list[str]:
    """Each line of a multi-line value, trimmed, empty lines skipped (GitHub's add-mask rule)."""
    if "\n" not in value and "\r" not in value:
        return []
    pieces = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [p.strip() for p in pieces if p.strip()]


def json_strings(value: str) -> list[str]:
    """Every string inside a secret that is a JSON object or array (keys excluded).

    A credentials file registered as one secret is usually parsed and its fields printed one by
    one (`jq -r .private_key`); GitHub would mask only the whole document.
    """
    text = value.strip()
    if not text or text[0] not in "{[":
        return []
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    found: list[str] = []
    stack: list[object] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def base_values(value: str) -> list[str]:
    """The value itself, its lines and its JSON strings, in that order, without repeats."""
    seen: dict[str, None] = {value: None}
    for extra in lines_of(value):
        seen.setdefault(extra, None)
    for extra in json_strings(value):
        seen.setdefault(extra, None)
        for line in lines_of(extra):
            seen.setdefault(line, None)
    return list(seen)


def derived_forms(value: str, encoders: Iterable[Encoder]) -> set[str]:
    """All strings to mask for `value`: its base values and each encoder applied to each."""
    forms: set[str] = set()
    encoder_list = list(encoders)
    for base in base_values(value):
        forms.add(base)
        for encode in encoder_list:
            encoded = encode(base)
            if encoded:
                forms.add(encoded)
    return forms
