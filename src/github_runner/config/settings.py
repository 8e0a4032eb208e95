"""The runner's settings model: what `config.toml` may contain.

Unknown keys are errors (a typo in a security setting must not be silently ignored). Secrets
never belong here: tokens are given on the command line or through `${VAR}` interpolation and
the runner's credentials live in the state directory.

Sections owned by other areas are imported from them when they exist (`executors/settings.py`,
`egress/settings.py`); until then a minimal placeholder keeps the file format stable.
"""

from __future__ import annotations

import importlib
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunnerSection(Strict):
    url: str | None = None  # https://github.com/<owner>[/<repo>] or a GHES URL
    name: str = Field(default_factory=socket.gethostname)
    labels: list[str] = Field(default_factory=list)
    runner_group: str | None = None
    work_dir: Path = Path("_work")
    concurrency: int = Field(default=1, ge=1, le=64)
    ephemeral: bool = False
    state_dir: Path | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [x.strip() for x in v.split(",") if x.strip()]
        return v


class HttpSection(Strict):
    ca_bundle: Path | None = None
    proxy: str | None = None
    no_proxy: list[str] = Field(default_factory=list)
    max_retries: int = Field(default=5, ge=0, le=20)
    backoff_base: float = Field(default=1.0, gt=0)
    backoff_max: float = Field(default=60.0, gt=0)
    timeout: float = Field(default=100.0, gt=0)


class ListenerSection(Strict):
    """Protocol timings; the defaults are the official runner's (runner-protocol.md §4-5)."""

    poll_timeout: float = Field(default=100.0, gt=0)  # client-side long-poll timeout
    retry_interval: float = Field(default=30.0, gt=0)  # session create / poll error back-off
    session_conflict_timeout: float = Field(default=240.0, gt=0)
    renew_interval: float = Field(default=60.0, gt=0)
    cancel_timeout: float = Field(default=300.0, gt=0)  # graceful cancel before killing a worker
    complete_retries: int = Field(default=5, ge=0)
    complete_retry_interval: float = Field(default=5.0, ge=0)
    max_message_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    warm_workers: bool = True  # keep one worker process started ahead of the next job


class LogSection(Strict):
    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "info"


def _section(module: str, attr: str, fallback: type[BaseModel]) -> type[BaseModel]:
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return fallback
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else fallback


class ExecutorPlaceholder(Strict):
    """Placeholder until `executors/settings.py` provides `ExecutorSettings`."""

    name: str = "shell"
    options: dict[str, Any] = Field(default_factory=dict)  # passed to the executor's constructor


class EgressPlaceholder(BaseModel):
    """Placeholder until `egress/settings.py` provides `EgressSettings` (keys passed through)."""

    model_config = ConfigDict(extra="allow")


ExecutorSettings = _section("github_runner.executors.settings", "ExecutorSettings",
                            ExecutorPlaceholder)
EgressSettings = _section("github_runner.egress.settings", "EgressSettings", EgressPlaceholder)


class Settings(Strict):
    runner: RunnerSection = Field(default_factory=RunnerSection)
    http: HttpSection = Field(default_factory=HttpSection)
    listener: ListenerSection = Field(default_factory=ListenerSection)
    log: LogSection = Field(default_factory=LogSection)
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)  # type: ignore[valid-type]
    egress: EgressSettings = Field(default_factory=EgressSettings)  # type: ignore[valid-type]

    def http_settings(self) -> "Any":
        from github_runner.config.plain import http_settings_from

        return http_settings_from(self.http.model_dump(mode="json"))
