"""The effective egress policy of one job, and where each part of it came from.

Sources, in order: the runner config (with per-label/repository overrides) is the ceiling; the
job may narrow it through its `egress:` key or the inputs of a `step-security/harden-runner`
step, and may widen it only when the config says `job_may_widen`. Narrowing a list keeps only
the job's entries that the ceiling covers (ports intersected), so a job can never reach more
than the operator allowed. Every decision is recorded in `origins`/`notices` and printed at job
start, because a policy nobody can see is a policy nobody trusts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from msgspec import Struct, field
from msgspec.structs import replace

from github_runner.egress.allowlist import Allowlist, AllowlistError, Rule, split_entries
from github_runner.egress.settings import EgressSettings, Mode, normalize_mode

STRICTNESS = {"off": 0, "audit": 1, "block": 2}
HARDEN_RUNNER = "step-security/harden-runner"
HARDEN_RUNNER_NOTICE = (
    "step-security/harden-runner is not run: this runner enforces its inputs itself, "
    "outside the job (egress-policy={mode})"
)


class PolicyError(ValueError):
    """A job's egress policy is malformed; the job must not start."""


class JobEgressRequest(Struct, frozen=True):
    """What a job asked for, in either of the two forms users write."""

    mode: Mode | None = None
    allow: Allowlist | None = None
    source: str = ""


class EffectivePolicy(Struct):
    mode: Mode
    allow: Allowlist
    deny: Allowlist
    settings: EgressSettings
    origins: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        """The lines printed at job start."""
        lines = [f"egress: mode {self.mode}"]
        lines += [f"  {o}" for o in self.origins]
        if self.mode == "block":
            entries = ", ".join(self.allow.canonical()) or "(nothing)"
            lines.append(f"  allowed: {entries}")
        lines += [f"  note: {n}" for n in self.notices]
        return lines


def is_harden_runner(uses: object) -> bool:
    return isinstance(uses, str) and uses.split("@", 1)[0].strip().lower() == HARDEN_RUNNER


def request_from_job(job: Mapping[str, Any], where: str = "job") -> list[JobEgressRequest]:
    """Read the job-level `egress:` key and harden-runner step inputs from a raw job mapping."""
    out: list[JobEgressRequest] = []
    egress = job.get("egress")
    if egress is not None:
        out.append(_from_egress_key(egress, f"{where}.egress"))
    for i, step in enumerate(job.get("steps") or []):
        if isinstance(step, Mapping) and is_harden_runner(step.get("uses")):
            inputs = step.get("with") or {}
            if not isinstance(inputs, Mapping):
                raise PolicyError(f"{where}.steps[{i}].with: expected a mapping")
            out.append(harden_runner_request(inputs, f"{where}.steps[{i}] (harden-runner)"))
    return out


def _from_egress_key(egress: object, where: str) -> JobEgressRequest:
    if isinstance(egress, str):
        return JobEgressRequest(mode=_mode(egress, f"{where}"), source=where)
    if not isinstance(egress, Mapping):
        raise PolicyError(f"{where}: expected a mapping with mode: and allow:")
    unknown = set(egress) - {"mode", "allow"}
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    mode = _mode(egress["mode"], f"{where}.mode") if "mode" in egress else None
    allow = None
    if "allow" in egress:
        raw = egress["allow"]
        if isinstance(raw, str):
            raw = split_entries(raw)
        if not isinstance(raw, list):
            raise PolicyError(f"{where}.allow: expected a list of entries")
        allow = _parse(raw, f"{where}.allow")
    return JobEgressRequest(mode=mode, allow=allow, source=where)


def harden_runner_request(inputs: Mapping[str, Any], where: str) -> JobEgressRequest:
    mode = None
    if inputs.get("egress-policy") is not None:
        mode = _mode(inputs["egress-policy"], f"{where} egress-policy")
    allow = None
    if inputs.get("allowed-endpoints") is not None:
        allow = _parse(split_entries(str(inputs["allowed-endpoints"])), f"{where} allowed-endpoints")
    return JobEgressRequest(mode=mode, allow=allow, source=where)


def _mode(value: object, where: str) -> Mode:
    try:
        return normalize_mode(value, where)
    except ValueError as exc:
        raise PolicyError(str(exc)) from None


def _parse(entries: Iterable[str], where: str) -> Allowlist:
    try:
        return Allowlist.parse(entries, where)
    except AllowlistError as exc:
        raise PolicyError(str(exc)) from None


def effective_policy(
    settings: EgressSettings,
    requests: Sequence[JobEgressRequest] = (),
    *,
    labels: Sequence[str] = (),
    repository: str | None = None,
    config_source: str = "runner config",
) -> EffectivePolicy:
    ceiling = settings.for_job(labels, repository)
    mode: Mode = ceiling.mode
    allow = Allowlist.parse(ceiling.allow, config_source)
    deny = Allowlist.parse(ceiling.deny, f"{config_source} deny")
    origins = [f"mode {mode} from {config_source}"]
    if allow:
        origins.append(f"{len(allow.rules)} allow entr{'y' if len(allow.rules) == 1 else 'ies'} from {config_source}")
    notices: list[str] = []
    job_list: Allowlist | None = None
    for req in requests:
        if req.mode is not None:
            if STRICTNESS[req.mode] >= STRICTNESS[mode] or ceiling.job_may_widen:
                if req.mode != mode:
                    origins.append(f"mode {req.mode} from {req.source}")
                mode = req.mode
            else:
                notices.append(
                    f"{req.source} asks for mode {req.mode}; the runner config requires "
                    f"{mode} (job_may_widen is false)"
                )
        if req.allow is not None:
            job_list = req.allow if job_list is None else _intersect(job_list, req.allow, notices, req.source)
            origins.append(f"{len(req.allow.rules)} allow entries from {req.source}")
    if job_list is not None:
        if ceiling.job_may_widen:
            allow = job_list if not allow else Allowlist(allow.rules + job_list.rules)
        elif ceiling.mode == "block":
            allow = _intersect(allow, job_list, notices, "the job")
        else:
            allow = job_list  # an audit/off ceiling allows everything, so the job's list stands
    return EffectivePolicy(mode, allow, deny, ceiling, origins, notices)


def _intersect(ceiling: Allowlist, wanted: Allowlist, notices: list[str], who: str) -> Allowlist:
    """The entries of `wanted` narrowed to what `ceiling` covers; the rest dropped with a note."""
    kept: list[Rule] = []
    for rule in wanted.rules:
        narrowed = _narrow(rule, ceiling)
        if narrowed is None:
            notices.append(f"{who}: {rule.canonical} dropped: not within the runner's allowlist")
        else:
            if narrowed.canonical != rule.canonical:
                notices.append(f"{who}: {rule.canonical} narrowed to {narrowed.canonical}")
            kept.append(narrowed)
    return Allowlist(tuple(kept))


def _narrow(rule: Rule, ceiling: Allowlist) -> Rule | None:
    best: Rule | None = None
    for cover in ceiling.rules:
        if cover.proto != rule.proto or not _host_covered(rule, cover):
            continue
        ports = _port_intersection(rule.ports, cover.ports)
        if ports is None:
            continue
        candidate = replace(rule, ports=ports[0])
        if best is None or _width(candidate.ports) > _width(best.ports):
            best = candidate
    return best


def _width(ports: tuple[int, int] | None) -> int:
    return 65536 if ports is None else ports[1] - ports[0] + 1


def _port_intersection(
    a: tuple[int, int] | None, b: tuple[int, int] | None
) -> tuple[tuple[int, int] | None] | None:
    if a is None:
        return (b,)
    if b is None:
        return (a,)
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return ((lo, hi),) if lo <= hi else None


def _host_covered(rule: Rule, cover: Rule) -> bool:
    if rule.network is not None:
        if cover.network is None or cover.network.version != rule.network.version:
            return False
        return rule.network.subnet_of(cover.network)  # type: ignore[arg-type]
    if cover.network is not None or rule.name is None:
        return False
    if not rule.wildcard:
        return cover.matches_name(rule.name)
    if cover.wildcard == "any":
        return rule.name == cover.name or rule.name.endswith("." + str(cover.name))
    if cover.wildcard == "label" and rule.wildcard == "label":
        return (
            rule.name == cover.name
            and rule.label_prefix.startswith(cover.label_prefix)
            and rule.label_suffix.endswith(cover.label_suffix)
        )
    return False


PRIVATE4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
PRIVATE6 = ("fc00::/7", "fe80::/10")


def is_private(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    nets = PRIVATE4 if ip.version == 4 else PRIVATE6
    return any(ip in ipaddress.ip_network(n) for n in nets)
