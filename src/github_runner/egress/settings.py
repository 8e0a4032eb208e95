"""The `[egress]` section of the runner config (pydantic), validated when the config loads.

The config is the operator's ceiling: jobs may narrow it (see `policy.py`), and per-label or
per-repository overrides let one runner serve trusted and untrusted repositories differently.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from github_runner.egress.allowlist import Allowlist

Mode = Literal["off", "audit", "block"]
MODE_ALIASES = {"monitor": "audit", "enforce": "block", "disabled": "off", "none": "off"}
METADATA_DENY = ("169.254.169.254", "fd00:ec2::254", "168.63.129.16", "100.100.100.200")


def normalize_mode(value: object, where: str = "egress.mode") -> Mode:
    text = str(value).strip().lower()
    text = MODE_ALIASES.get(text, text)
    if text not in ("off", "audit", "block"):
        raise ValueError(
            f"{where}: {value!r} is not a mode (off, audit|monitor, block|enforce)"
        )
    return text  # type: ignore[return-value]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("allow", "deny", check_fields=False)
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        Allowlist.parse(value, "egress")  # raises with entry and index
        return value


class EgressOverride(_Base):
    """Applies when a job's labels or repository match; later overrides win."""

    labels: list[str] = Field(default_factory=list)  # all must be on the job
    repositories: list[str] = Field(default_factory=list)  # glob, e.g. "acme/*"
    mode: Mode | None = None
    allow: list[str] | None = None
    deny: list[str] | None = None
    job_may_widen: bool | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        return None if value is None else normalize_mode(value)

    def applies(self, labels: Sequence[str], repository: str | None) -> bool:
        if self.labels and not set(x.lower() for x in self.labels) <= {x.lower() for x in labels}:
            return False
        if self.repositories:
            return repository is not None and any(
                fnmatch.fnmatch(repository.lower(), p.lower()) for p in self.repositories
            )
        return True


class EgressSettings(_Base):
    mode: Mode = "off"
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)  # always-deny additions; win over allow
    job_may_widen: bool = False  # may a job's egress:/harden-runner policy loosen the config?
    on_violation: Literal["annotate", "fail"] = "annotate"
    deny_private: bool = True  # RFC 1918 / ULA / link-local blocked unless listed (block mode)
    deny_metadata: list[str] = Field(default_factory=lambda: list(METADATA_DENY))
    upstream_dns: str | None = None  # HOST:PORT; default: first nameserver in /etc/resolv.conf
    ttl_floor: int = Field(default=300, ge=1)
    ttl_grace: int = Field(default=60, ge=0)
    log_dir: str | None = None
    # Address plan. The job link is private to each gateway, so every job can reuse it; the
    # uplink pool is carved into /30 (/126) pieces, one per concurrent job.
    link4: str = "198.18.0.0/30"
    link6: str = "2001:db8:4752::/64"
    uplink_pool4: str = "198.18.128.0/17"
    uplink_pool6: str = "2001:db8:4753::/48"
    uplink_netns: str | None = None  # None: the runner's own namespace (production)
    log_rate: int = Field(default=200, ge=1)  # NFLOG records per second before suppression
    overrides: list[EgressOverride] = Field(default_factory=list)

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        return normalize_mode(value)

    @field_validator("deny_metadata")
    @classmethod
    def _addrs(cls, value: list[str]) -> list[str]:
        for i, item in enumerate(value):
            try:
                ipaddress.ip_network(item)
            except ValueError as exc:
                raise ValueError(f"egress.deny_metadata[{i}] {item!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _plan(self) -> "EgressSettings":
        for field_name, version, max_prefix in (
            ("link4", 4, 30),
            ("link6", 6, 126),
            ("uplink_pool4", 4, 30),
            ("uplink_pool6", 6, 126),
        ):
            value = getattr(self, field_name)
            try:
                net = ipaddress.ip_network(value)
            except ValueError as exc:
                raise ValueError(f"egress.{field_name} {value!r}: {exc}") from None
            if net.version != version or net.prefixlen > max_prefix:
                raise ValueError(
                    f"egress.{field_name} {value!r}: need an IPv{version} /{max_prefix} or wider"
                )
        if self.upstream_dns is not None:
            parse_hostport(self.upstream_dns, "egress.upstream_dns")
        return self

    def for_job(self, labels: Sequence[str] = (), repository: str | None = None) -> "EgressSettings":
        """This config with the matching overrides applied (operator-level, so may widen)."""
        data = self.model_dump()
        for override in self.overrides:
            if override.applies(labels, repository):
                for key in ("mode", "allow", "deny", "job_may_widen"):
                    value = getattr(override, key)
                    if value is not None:
                        data[key] = value
        data["overrides"] = []
        return EgressSettings.model_validate(data)


def parse_hostport(text: str, where: str = "upstream") -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT`, or a bare address (port 53)."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"{where}: {text!r} is not [ADDR]:PORT")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_s = text.partition(":")
        if not port_s.isdigit():
            raise ValueError(f"{where}: {text!r}: port {port_s!r} is not a number")
        port = int(port_s)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{where}: {host!r} is not an IP address") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{where}: port {port} is outside 1-65535")
    return host, port


def system_resolver(resolv_conf: str = "/etc/resolv.conf") -> tuple[str, int]:
    """The host's first nameserver: the default upstream when none is configured."""
    try:
        with open(resolv_conf, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parse_hostport(parts[1].split("%")[0], resolv_conf)
    except OSError:
        pass
    raise ValueError(f"no nameserver in {resolv_conf}: set egress.upstream_dns")
