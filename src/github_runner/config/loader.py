"""Load `config.toml`: TOML -> `${VAR}` interpolation -> validated `Settings`.

Every error names the file and the key path (`runner.labels[2]`) so the fix is obvious.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from github_runner.config.settings import Settings

ENV_CONFIG = "GITHUB_RUNNER_CONFIG"
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A one-line, user-facing description of what to fix in the config."""


def _path(parts: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<root>"


def interpolate(value: Any, env: Mapping[str, str], where: list[Any], source: str) -> Any:
    """Replace `${VAR}` in every string (`$$` is a literal `$`); unset variables are errors."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name = m.group(1)
            if name not in env:
                raise ConfigError(f"{source}: {_path(where)}: environment variable {name} is not set")
            return env[name]

        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: interpolate(v, env, [*where, k], source) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, [*where, i], source) for i, v in enumerate(value)]
    return value


def _format_validation(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    loc = _path(list(first["loc"]))
    if first["type"] == "extra_forbidden":
        return f"{source}: {loc}: unknown key"
    return f"{source}: {loc}: {first['msg']}"


def parse(data: Mapping[str, Any], *, source: str = "<config>",
          env: Mapping[str, str] | None = None) -> Settings:
    data = interpolate(dict(data), os.environ if env is None else env, [], source)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source)) from None


def load(path: Path | None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Load `path`, or `$GITHUB_RUNNER_CONFIG`, or defaults when neither is given."""
    env = os.environ if env is None else env
    if path is None and env.get(ENV_CONFIG):
        path = Path(env[ENV_CONFIG])
    if path is None:
        return parse({}, env=env)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    settings = parse(data, source=str(path), env=env)
    base = path.parent
    # relative paths in the file are relative to the file, not to the caller's cwd
    r, h = settings.runner, settings.http
    if r.state_dir is not None and not r.state_dir.is_absolute():
        r.state_dir = base / r.state_dir
    if h.ca_bundle is not None and not h.ca_bundle.is_absolute():
        h.ca_bundle = base / h.ca_bundle
    return settings
