"""Egress for the engine: `exec` flags, and one call that gives a job its hook and reporter.

The runner (or `exec`) states the ceiling once with `configure()`; the engine calls
`for_job(plan, reporter, masker)` when it builds a job's `JobSpec`. A context variable carries
the configuration, so no engine signature has to change: `asyncio.run` and every task copy it.
harden-runner steps are taken out of the plan here, because the runner enforces their inputs
itself, outside the job, instead of running an agent the job could switch off.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct

from github_runner.egress.allowlist import AllowlistError, load_file
from github_runner.egress.hook import EgressHook, EgressReporter
from github_runner.egress.policy import (
    HARDEN_RUNNER_NOTICE,
    PolicyError,
    effective_policy,
    is_harden_runner,
    request_from_job,
)
from github_runner.egress.settings import EgressSettings
from github_runner.engine.events import Reporter

_CONFIG: contextvars.ContextVar["EgressConfig | None"] = contextvars.ContextVar("egress", default=None)


# Executors that hand the job's network namespace to the NetworkHook. The shell executor runs
# jobs in the host's namespace: egress there would be a promise nobody keeps, so it is refused.
ATTACHING_EXECUTORS = frozenset({"sandbox", "docker", "gvisor"})


class EgressConfig(Struct):
    settings: EgressSettings
    log: Path | None = None
    source: str = "runner config"
    executor: str | None = None  # None: unknown (the caller guarantees an attaching executor)
    labels: tuple[str, ...] = ()  # the runner's labels, for per-label overrides


def configure(settings: EgressSettings, log: Path | None = None, source: str = "runner config",
              executor: str | None = None) -> None:
    _CONFIG.set(EgressConfig(settings, log, source, executor))


def configure_from_options(options: Mapping[str, Any]) -> None:
    """Validate the exec flags and set the ceiling; ValueError names the flag/entry at fault."""
    allow = list(options.get("egress_allow") or ())
    path = options.get("egress_allowlist")
    if path is not None:
        try:
            allow += load_file(str(path), Path(path).read_text()).canonical()
        except (AllowlistError, OSError) as exc:
            raise ValueError(f"--allowlist: {exc}") from None
    data: dict[str, Any] = {"mode": options.get("egress_mode") or "off", "allow": allow}
    if options.get("egress_upstream"):
        data["upstream_dns"] = options["egress_upstream"]
    uplink = os.environ.get("GITHUB_RUNNER_EGRESS_UPLINK_NETNS")
    if uplink:  # a dedicated egress namespace instead of the runner's own (tests use a fake internet)
        data["uplink_netns"] = uplink
    try:
        settings = EgressSettings.model_validate(data)
    except Exception as exc:  # pydantic ValidationError: keep its field-naming message
        raise ValueError(f"egress flags: {exc}") from None
    configure(settings, options.get("egress_log"), source="exec flags",
              executor=str(options.get("executor") or "shell"))


class JobEgress(Struct):
    """What the engine's `RunnerInfo.network(plan)` seam returns for one job."""

    hook: EgressHook | None  # None: egress off (only harden-runner steps were taken out)
    reporter: EgressReporter  # receives the job's events; `bind` gives it the engine's reporter

    def bind(self, sink: Reporter) -> None:
        """Where annotations, policy lines and the summary table go (the job's reporter)."""
        self.reporter.sink = sink


def network_for(plan: Any, config: EgressConfig | None = None) -> JobEgress | None:
    """The egress of one job, or None when its effective mode is off and nothing is to say.

    Takes harden-runner steps out of `plan.steps` (the runner enforces their inputs itself).
    Raises PolicyError for a malformed job policy or when egress is wanted on a host that cannot
    provide it: the job must not start either way.
    """
    config = config or _CONFIG.get() or EgressConfig(EgressSettings())
    steps = [{"uses": s.uses, "with": s.with_ if isinstance(s.with_, dict) else {}} for s in plan.steps]
    raw_job: dict[str, Any] = {"steps": steps}
    if getattr(plan, "egress", None) is not None:
        raw_job["egress"] = plan.egress
    github = (getattr(plan, "contexts", None) or {}).get("github") or {}
    policy = effective_policy(config.settings, request_from_job(raw_job, f"jobs.{plan.job_key}"),
                              labels=config.labels, repository=github.get("repository"),
                              config_source=config.source)
    notices = []
    for step in plan.steps:
        if is_harden_runner(step.uses):
            inputs = step.with_ if isinstance(step.with_, dict) else {}
            notices.append((step.id, HARDEN_RUNNER_NOTICE.format(mode=inputs.get("egress-policy", "audit"))))
    plan.steps = [s for s in plan.steps if not is_harden_runner(s.uses)]
    if policy.mode == "off" and not notices:
        return None
    hook = None
    if policy.mode != "off":
        if config.executor is not None and config.executor not in ATTACHING_EXECUTORS:
            raise PolicyError(f"egress {policy.mode} mode needs the sandbox, docker or gvisor executor: the "
                              f"{config.executor} executor runs jobs in the host's network namespace")
        if os.geteuid() != 0:
            raise PolicyError(f"egress {policy.mode} mode needs a root runner (network namespaces, "
                              "nftables); run as root or set egress off")
        from github_runner.secrets.masker import Masker

        secrets = [v for v in (getattr(plan, "secrets", {}) or {}).values() if v]
        # The job's own masker (the engine's SecretStore carries it): values a step registers
        # with ::add-mask:: while the job runs are masked in the audit log too.
        masker = getattr(getattr(plan, "secrets", None), "masker", None)
        if masker is None:
            masker = Masker()
            for value in secrets:
                masker.add(value, source="secret")
        hook = EgressHook(policy, job=plan.job_id, audit_path=config.log, masker=masker, secrets=secrets)
    reporter = EgressReporter(hook, None, job_id=plan.job_id, notices=notices)
    if hook is not None:
        hook.on_detach = reporter.job_end
        hook.on_failure = reporter.gateway_failed
    return JobEgress(hook, reporter)


def network_from_options(options: Mapping[str, Any]) -> Callable[[Any], JobEgress | None]:
    """`exec`: validate the flags now (ValueError names the flag/entry) and return the seam."""
    configure_from_options(options)
    config = _CONFIG.get()
    return lambda plan: network_for(plan, config)


def network_for_settings(settings: EgressSettings, *, executor: str | None, labels: tuple[str, ...] = (),
                         log_dir: Path | None = None) -> Callable[[Any], JobEgress | None]:
    """The worker's seam: the runner config's `[egress]` section -> `RunnerInfo.network`."""
    def network(plan: Any) -> JobEgress | None:
        log_path = None
        directory = log_dir or (Path(settings.log_dir) if settings.log_dir else None)
        if directory is not None:
            log_path = directory / f"egress-{''.join(c if c.isalnum() else '-' for c in plan.job_id)}.jsonl"
        return network_for(plan, EgressConfig(settings, log_path, "runner config", executor, labels))

    return network
