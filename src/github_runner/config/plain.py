"""The settings as the long-lived listener holds them: plain values, no pydantic.

Why: `github-runner run` validates `config.toml` with the pydantic `Settings` model (and the
executors' and egress' section validators), then re-executes itself as a listener process that
never imports pydantic, click or those validators; together they were ~20 MB of an idle
listener's RSS (docs/protocol.md, "Idle memory"). The validated settings cross the exec as
JSON (`model_dump(mode="json")`), which is also exactly what the listener hands to workers, so
a worker re-validates the same data the listener was started with.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from msgspec import Struct

if TYPE_CHECKING:
    from github_runner.config.settings import ListenerSection, LogSection, Settings
    from github_runner.github.http import HttpSettings


def http_settings_from(http: dict[str, Any]) -> "HttpSettings":
    """`HttpSettings` from the JSON form of the `[http]` section (used by both processes)."""
    from github_runner.github.http import HttpSettings

    ca = http.get("ca_bundle")
    return HttpSettings(
        ca_bundle=Path(ca) if ca else None, proxy=http.get("proxy"),
        no_proxy=tuple(http.get("no_proxy") or ()), max_retries=int(http["max_retries"]),
        backoff_base=float(http["backoff_base"]), backoff_max=float(http["backoff_max"]),
        timeout=float(http["timeout"]),
    )


class PlainSettings(Struct, dict=True):  # dict: room for the cached sections
    """What the listener reads of the settings; `data` is every section, JSON-ready."""

    data: dict[str, Any]
    work_dir_override: Path | None  # runner.work_dir when the config file set it

    @cached_property
    def listener(self) -> "ListenerSection":
        return SimpleNamespace(**self.data["listener"])  # type: ignore[return-value]

    @cached_property
    def log(self) -> "LogSection":
        return SimpleNamespace(**self.data["log"])  # type: ignore[return-value]

    def http_settings(self) -> "HttpSettings":
        return http_settings_from(self.data["http"])

    @classmethod
    def from_settings(cls, settings: "Settings") -> "PlainSettings":
        r = settings.runner
        return cls(settings.model_dump(mode="json"),
                   r.work_dir if "work_dir" in r.model_fields_set else None)

    def to_wire(self) -> dict[str, Any]:
        work = self.work_dir_override
        return {"settings": self.data, "work_dir_override": str(work) if work else None}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> "PlainSettings":
        work = wire.get("work_dir_override")
        return cls(wire["settings"], Path(work) if work else None)
