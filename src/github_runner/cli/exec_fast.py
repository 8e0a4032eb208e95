"""`github-runner exec ...` parsed without click, for the common case only.

Importing click and building the `exec` command costs ~10 ms of a ~150 ms cold one-step run.
`parse` reads argv with the table `SPEC` (the `exec` command's parameters: names, option
strings, types, defaults) and returns exactly the dict click would pass to the command, or
None whenever anything is not plainly understood (help, an unknown or abbreviated option,
combined short flags, `--`, a value that click would convert or check differently, a second
positional argument, shell completion): then the click command parses as before, with its own
messages. `SPEC` is written out here rather than taken from click at run time (that would
import click); `spec_of` derives it from the click command and a test holds the two equal, and
also compares `parse` with click's own parsing on many argument lists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# (parameter name, option strings, kind, multiple, default, kind argument). Kinds: "arg" (the
# one optional positional), "flag" (boolean, True when given), "str", "path" (click.Path with
# path_type=Path and no constraint but `readable`), "int" (IntRange with a minimum), "choice"
# (case-sensitive), "click" (anything else: only click parses it, so its presence falls back).
Param = tuple[str, tuple[str, ...], str, bool, Any, Any]
SPEC: tuple[Param, ...] = (
    ("event", (), "arg", False, None, None),
    ("workflows", ("-W", "--workflows"), "path", True, None, None),
    ("jobs", ("-j", "--job"), "str", True, None, None),
    ("list_only", ("--list",), "flag", False, None, None),
    ("dry_run", ("--dry-run",), "flag", False, None, None),
    ("directory", ("-C", "--directory"), "path", False, ".", None),
    ("eventpath", ("--eventpath", "-e"), "path", False, None, None),
    ("secrets", ("-s", "--secret"), "str", True, None, None),
    ("secret_file", ("--secret-file",), "path", False, None, None),
    ("vars_", ("--var",), "str", True, None, None),
    ("var_file", ("--var-file",), "path", False, None, None),
    ("env_file", ("--env-file",), "path", False, None, None),
    ("inputs", ("--input",), "str", True, None, None),
    ("matrix_", ("--matrix",), "str", True, None, None),
    ("concurrency", ("--concurrency",), "int", False, 4, 1),
    ("json_file", ("--json",), "path", False, None, None),
    ("executor", ("--executor",), "choice", False, "shell", ("shell", "sandbox", "docker", "gvisor")),
    ("debug", ("--debug",), "flag", False, None, None),
    ("secrets_from_env", ("--secret-from-env",), "str", True, None, None),
    ("vault_secrets", ("--vault-secret",), "str", True, None, None),
    ("vault_addr", ("--vault-addr",), "str", False, None, None),
    ("egress_mode", ("--egress",), "choice", False, None, ("off", "audit", "block", "monitor", "enforce")),
    ("egress_allow", ("--allow",), "str", True, None, None),
    ("egress_allowlist", ("--allowlist",), "click", False, None, None),
    ("egress_upstream", ("--egress-upstream",), "str", False, None, None),
    ("egress_log", ("--egress-log",), "click", False, None, None),
)

_BY_OPTION: dict[str, Param] = {opt: p for p in SPEC for opt in p[1]}


class _Fallback(Exception):
    """Not a plain case: click parses this command line."""


def _convert(param: Param, raw: str) -> Any:
    """One value as click's type would return it, or _Fallback where click could differ."""
    kind, arg = param[2], param[5]
    if kind == "str":
        return raw
    if kind == "path":
        # click.Path(path_type=Path): refuses an existing path it cannot read; the rest is Path().
        if not raw or (os.path.lexists(raw) and not os.access(raw, os.R_OK)):
            raise _Fallback
        return Path(raw)
    if kind == "int":
        if not raw.isascii() or not raw.isdigit() or int(raw) < arg:
            raise _Fallback
        return int(raw)
    if kind == "choice":
        if raw not in arg:
            raise _Fallback
        return raw
    raise _Fallback


def _defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in SPEC:
        name, _, kind, multiple, default = param[:5]
        if multiple:
            out[name] = ()
        elif kind == "flag":
            out[name] = False
        elif default is None:
            out[name] = None
        else:
            out[name] = _convert(param, default) if isinstance(default, str) else default
    return out


def _completion_requested() -> bool:
    """click's shell completion is driven by a `_<PROG>_COMPLETE` variable: leave that to it."""
    return any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ)


def parse(args: list[str]) -> dict[str, Any] | None:
    """The `exec` command's parameters for `args` (after `exec`), or None: let click parse."""
    if _completion_requested():
        return None
    try:
        return _parse(args)
    except _Fallback:
        return None


def _parse(args: list[str]) -> dict[str, Any]:
    values = _defaults()
    seen: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        if token.startswith("--"):
            option, eq, inline = token.partition("=")
            attached = inline if eq else None
        else:
            option, attached = token[:2], (token[2:] or None)
        param = _BY_OPTION.get(option)
        if param is None or token == "--":
            raise _Fallback
        name, kind, multiple = param[0], param[2], param[3]
        if name in seen and not multiple:
            raise _Fallback  # click keeps the last one; not worth mirroring
        seen.add(name)
        if kind == "flag":
            if attached is not None:
                raise _Fallback
            values[name] = True
            continue
        if attached is None:
            if i >= len(args) or args[i].startswith("-"):
                raise _Fallback
            attached = args[i]
            i += 1
        value = _convert(param, attached)
        values[name] = values[name] + (value,) if multiple else value
    if len(positional) > 1:
        raise _Fallback
    if positional:
        values["event"] = positional[0]
    return values


def spec_of(command: Any) -> tuple[Param, ...]:
    """`SPEC` as derived from a click command (imports click; for the test that keeps SPEC true)."""
    import click

    out: list[Param] = []
    for p in command.params:
        default = p.default if p.default is not None and not repr(p.default).endswith("UNSET") else None
        if isinstance(default, Path):
            default = str(default)
        kind, arg = "click", None
        if isinstance(p, click.Argument):
            kind = "arg" if not p.required and p.nargs == 1 and isinstance(p.type, click.types.StringParamType) else "click"
        elif p.callback is not None or p.envvar or p.count or p.required or p.secondary_opts:
            kind = "click"
        elif p.is_flag:
            bool_flag = p.is_bool_flag and (p.flag_value is True or repr(p.flag_value).endswith("UNSET"))
            kind = "flag" if bool_flag and default in (None, False) else "click"
            default = None
        elif p.nargs != 1:
            kind = "click"
        elif isinstance(p.type, click.Path):
            t = p.type
            plain = (not t.exists and t.file_okay and t.dir_okay and not t.writable and not t.executable
                     and not t.resolve_path and not t.allow_dash and t.type is Path)
            kind = "path" if plain else "click"
        elif isinstance(p.type, click.IntRange):
            t = p.type
            if t.min is not None and t.max is None and not t.min_open and not t.clamp:
                kind, arg = "int", t.min
        elif isinstance(p.type, click.Choice):
            if p.type.case_sensitive and all(isinstance(c, str) for c in p.type.choices):
                kind, arg = "choice", tuple(p.type.choices)
        elif isinstance(p.type, click.types.StringParamType):
            kind = "str"
        if p.multiple:
            default = None
        opts = () if isinstance(p, click.Argument) else tuple(p.opts)
        out.append((p.name, opts, kind, bool(p.multiple), default, arg))
    return tuple(out)
