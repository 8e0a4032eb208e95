"""What `exec` reads from flags and files: NAME=VALUE pairs, dotenv files, event payloads.

Every error names the flag or the file and line, because these are typed by people and a
silently ignored secret or input makes a run behave differently from GitHub.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """A flag value or input file is malformed; the message names the flag or file:line."""


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


def parse_pairs(
    values: Iterable[str], flag: str, *, from_env: bool = False, secret: bool = False
) -> dict[str, str]:
    """`NAME=VALUE` flags. With `from_env`, a bare `NAME` takes the value of $NAME (like act).

    With `secret`, an error names the flag and the argument's position only: a value typed
    without its `NAME=` (or a token pasted where a name belongs) must not be printed back.
    """
    out: dict[str, str] = {}
    for position, item in enumerate(values, 1):
        name, sep, value = item.partition("=")
        name = name.strip()
        where = f"{flag} argument {position}" if secret else f"{flag} {item!r}"
        hidden = " (the argument is not shown: it may hold a secret)" if secret else ""
        if not sep:
            if from_env and _NAME.match(name):
                if name not in os.environ:
                    unset = "no such environment variable is set" if secret else f"${name} is not set"
                    raise InputError(f"{where}: no value given and {unset}{hidden}")
                out[name] = os.environ[name]
                continue
            raise InputError(f"{where}: expected NAME=VALUE{hidden}")
        if not name or not _NAME.match(name):
            what = "the NAME before '=' is empty or not a valid name" if secret else f"{name!r} is not a valid name"
            raise InputError(f"{where}: {what}{hidden}")
        out[name] = value
    return out


def _unquote(value: str, where: str) -> str:
    value = value.strip()
    if not value:
        return ""
    quote = value[0]
    if quote in ("'", '"'):
        end = value.find(quote, 1)
        while quote == '"' and end > 0 and value[end - 1] == "\\" and not value[: end].endswith("\\\\"):
            end = value.find(quote, end + 1)
        if end < 0:
            raise InputError(f"{where}: unterminated {quote} quote")
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise InputError(f"{where}: unexpected text after the closing quote")
        body = value[1:end]
        if quote == "'":
            return body
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)
    hash_at = value.find(" #")
    return (value[:hash_at] if hash_at >= 0 else value).strip()


def parse_dotenv(path: Path, flag: str) -> dict[str, str]:
    """A dotenv file (`NAME=value`, `export NAME=value`, quotes, `#` comments)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{flag} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:  # the bytes around it are not shown: they may be a secret
        raise InputError(f"{flag} {path}: not UTF-8 text (byte {exc.start})") from None
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        where = f"{path}:{i + 1}"
        i += 1
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        if not sep:
            name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise InputError(f"{where}: expected NAME=VALUE (the line is not shown: it may hold a secret)")
        value = value.strip()
        # A quoted value may span lines until its closing quote.
        if value[:1] in ("'", '"') and value.count(value[0]) - value.count("\\" + value[0]) < 2:
            while i < len(lines):
                value += "\n" + lines[i]
                i += 1
                if lines[i - 1].rstrip().endswith(value[0]):
                    break
        out[name] = _unquote(value, where)
    return out


def load_event(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError(f"--eventpath {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"--eventpath {path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"--eventpath {path} (Line: {exc.lineno}, Col: {exc.colno}): {exc.msg}") from None
    if not isinstance(data, dict):
        raise InputError(f"--eventpath {path}: the event payload must be a JSON object")
    return data


def workflow_inputs(
    declared: dict[str, dict[str, Any]], given: dict[str, str], event: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `inputs` context and `github.event.inputs` for workflow_dispatch/workflow_call.

    Declared defaults first, then the payload's `inputs`, then `--input`; booleans and numbers
    are typed in the `inputs` context and strings in the event payload, as on GitHub.
    """
    raw: dict[str, Any] = {}
    for name, definition in declared.items():
        default = definition.get("default") if isinstance(definition, dict) else None
        if default is not None:
            raw[name] = default
    payload = event.get("inputs")
    if isinstance(payload, dict):
        raw.update(payload)
    raw.update(given)
    typed: dict[str, Any] = {}
    for name, value in raw.items():
        found = declared.get(name)
        spec: dict[str, Any] = found if isinstance(found, dict) else {}
        kind = str(spec.get("type", "string")).lower()
        if kind == "boolean":
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("true", "false"):
                    raise InputError(f"--input {name}={value}: input {name!r} is a boolean (true or false)")
                value = lowered == "true"
            typed[name] = bool(value)
        elif kind == "number":
            try:
                typed[name] = float(value) if not isinstance(value, (int, float)) else value
            except ValueError:
                raise InputError(f"--input {name}={value}: input {name!r} is a number") from None
        elif kind == "choice":
            options = [str(o) for o in spec.get("options") or []]
            if options and str(value) not in options:
                raise InputError(
                    f"--input {name}={value}: must be one of {', '.join(options)}"
                )
            typed[name] = str(value)
        else:
            typed[name] = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else _scalar(value)
    event_inputs = {k: _scalar(v) if not isinstance(v, str) else v for k, v in typed.items()}
    return typed, event_inputs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
