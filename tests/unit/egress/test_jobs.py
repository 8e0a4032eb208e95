"""The engine seam: a plan in, a hook and reporter out (or a clear refusal)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

from github_runner.egress.jobs import network_for_settings
from github_runner.egress.policy import PolicyError
from github_runner.egress.settings import EgressSettings


@dataclass
class Step:
    id: str
    uses: str | None = None
    with_: Any = field(default_factory=dict)


@dataclass
class Plan:
    job_id: str
    job_key: str
    steps: list[Step]
    egress: Any = None
    secrets: dict[str, str] = field(default_factory=dict)
    contexts: dict[str, Any] = field(default_factory=dict)


def test_off_and_no_harden_runner_means_no_network() -> None:
    seam = network_for_settings(EgressSettings(), executor="sandbox")
    assert seam(Plan("build", "build", [Step("a")])) is None


def test_harden_runner_step_is_taken_out_with_a_notice() -> None:
    plan = Plan("build", "build", [Step("h", "step-security/harden-runner@v2", {"egress-policy": "audit"}),
                                   Step("run")])
    seam = network_for_settings(EgressSettings(), executor="shell")
    egress = None
    if os.geteuid() == 0:
        with pytest.raises(PolicyError, match="needs the sandbox, docker or gvisor executor"):
            seam(plan)  # audit requested on the shell executor: refused, never silently unmonitored
    plan.steps.insert(0, Step("h", "step-security/harden-runner@v2", {"egress-policy": "block"}))
    seam_off = network_for_settings(EgressSettings(), executor="sandbox")
    try:
        egress = seam_off(plan)
    except PolicyError as exc:  # not root: egress cannot be provided, and says so
        assert "needs a root runner" in str(exc)
        return
    assert egress is not None and [s.id for s in plan.steps] == ["run"]
    assert egress.reporter.notices and "harden-runner is not run" in egress.reporter.notices[0][1]
    assert egress.hook is not None and egress.hook.policy.mode == "block"


def test_repository_override_applies() -> None:
    settings = EgressSettings(mode="audit", overrides=[{"repositories": ["acme/*"], "mode": "off"}])
    seam = network_for_settings(settings, executor="sandbox")
    plan = Plan("build", "build", [Step("a")], contexts={"github": {"repository": "acme/web"}})
    assert seam(plan) is None
