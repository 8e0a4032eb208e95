"""The `[executor]` section of config.toml, and how it becomes an Executor.

    [executor]
    name = "sandbox"            # shell | sandbox | docker | gvisor  (or just executor = "sandbox")
    user = "ghr-job"            # who job processes run as (shell/sandbox)
    allow_root = false
    env_denylist = ["AWS_*"]
    limits = { memory = "2g", cpus = 1.5, pids = 512 }
    tune_cgroup_migrations = true   # remount cgroup2 with favordynmods (root; see cgtune.py)

    [executor.sandbox]
    hidden_paths = ["/etc/my-secrets"]
    ro_binds = ["/opt/hostedtoolcache"]

    [executor.docker]           # also used by gvisor
    image = "ghr-debian:..."    # jobs without `container:`
    allowed_images = ["ubuntu:*", "ghcr.io/acme/*"]
    volumes = ["/srv/cache:/cache"]
    writable_volumes = ["/srv/cache"]
    cap_add = ["NET_BIND_SERVICE"]
    dns = ["198.18.0.53"]
    runtime = "runsc-host"
    read_only_rootfs = false
    network_internal = true
    subnet_pool = "198.18.0.0/16"

Unknown keys and bad values are errors at load time, naming the key; the same parsers the
executors use run here, so a config that loads is one the executor accepts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from github_runner.executors.base import Executor, ExecutorError
from github_runner.executors.limits import parse_limits
from github_runner.policy.volumes import parse_volumes

ExecutorName = Literal["shell", "sandbox", "docker", "gvisor"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except ExecutorError as e:
        raise ValueError(str(e)) from None


class LimitsSettings(_Strict):
    memory: str | int | None = None
    cpus: float | None = None
    pids: int | None = None

    @model_validator(mode="after")
    def _valid(self) -> "LimitsSettings":
        _check(parse_limits, self.model_dump())
        return self


class SandboxSettings(_Strict):
    hidden_paths: list[str] = Field(default_factory=list)
    ro_binds: list[str] = Field(default_factory=list)

    @field_validator("hidden_paths", "ro_binds")
    @classmethod
    def _absolute(cls, v: list[str]) -> list[str]:
        for p in v:
            if not p.startswith("/"):
                raise ValueError(f"{p!r} must be an absolute path")
        return v


class DockerSettings(_Strict):
    image: str | None = None
    allowed_images: list[str] = Field(default_factory=list)
    volumes: list[str] = Field(default_factory=list)
    writable_volumes: list[str] = Field(default_factory=list)
    cap_add: list[str] = Field(default_factory=list)
    dns: list[str] = Field(default_factory=list)
    runtime: str | None = None
    read_only_rootfs: bool = False
    network_internal: bool = True
    subnet_pool: str | None = None
    container_user: str | None = None
    protected_paths: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _volumes(self) -> "DockerSettings":
        _check(parse_volumes, self.volumes, self.writable_volumes, self.protected_paths)
        return self


class ExecutorSettings(_Strict):
    name: ExecutorName = "sandbox"
    user: str | None = None
    allow_root: bool = False
    env_denylist: list[str] = Field(default_factory=list)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    state_dir: str | None = None
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    docker: DockerSettings = Field(default_factory=DockerSettings)
    # a root runner remounts the cgroup2 hierarchy with `favordynmods` (host-wide: fast moves of
    # job processes into their cgroups, slightly slower fork/exit); see executors/cgtune.py
    tune_cgroup_migrations: bool = True

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    def backend_kwargs(self) -> dict[str, Any]:
        """Keyword settings for `get_executor(self.name, ...)`: only what that backend takes."""
        common: dict[str, Any] = {
            "allow_root": self.allow_root,
            "env_denylist": list(self.env_denylist),
            "limits": self.limits.model_dump(),
        }
        if self.name == "shell":
            return {**common, "user": self.user}
        if self.name == "sandbox":
            return {**common, "user": self.user, "state_dir": self.state_dir,
                    "hidden_paths": self.sandbox.hidden_paths, "ro_binds": self.sandbox.ro_binds}
        d = self.docker.model_dump()
        if self.name == "gvisor" and d["runtime"] is None:
            d.pop("runtime")
        return {**common, **d, "state_dir": self.state_dir}

    def build(self) -> Executor:
        from github_runner.executors import get_executor

        return get_executor(self.name, tune_cgroup_migrations=self.tune_cgroup_migrations,
                            **self.backend_kwargs())
