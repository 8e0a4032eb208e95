"""Where a job's egress policy comes from: config ceiling, job key, harden-runner inputs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from github_runner.egress.policy import PolicyError, effective_policy, request_from_job
from github_runner.egress.settings import EgressSettings, parse_hostport


def test_job_narrows_block_ceiling() -> None:
    cfg = EgressSettings(mode="block", allow=["*.example.com:*", "pypi.org"])
    job = {"egress": {"mode": "enforce", "allow": ["api.example.com:443", "evil.test", "pypi.org:8080"]}}
    pol = effective_policy(cfg, request_from_job(job))
    assert pol.mode == "block"
    assert pol.allow.canonical() == ["api.example.com:443"]
    assert any("evil.test:443 dropped" in n for n in pol.notices)
    assert any("pypi.org:8080 dropped" in n for n in pol.notices)


def test_job_cannot_loosen_mode_unless_allowed() -> None:
    cfg = EgressSettings(mode="block", allow=["a.example"])
    pol = effective_policy(cfg, request_from_job({"egress": {"mode": "monitor"}}))
    assert pol.mode == "block" and "job_may_widen is false" in pol.notices[0]
    cfg2 = EgressSettings(mode="block", allow=["a.example"], job_may_widen=True)
    job = {"egress": {"mode": "audit", "allow": ["b.example"]}}
    pol2 = effective_policy(cfg2, request_from_job(job))
    assert pol2.mode == "audit" and pol2.allow.canonical() == ["a.example:443", "b.example:443"]


def test_harden_runner_inputs_are_read_and_enforced_by_us() -> None:
    cfg = EgressSettings(mode="audit")
    job = {"steps": [
        {"uses": "step-security/harden-runner@0634a2670c59f64b4a01f0f96f84700a4088b9f0",
         "with": {"egress-policy": "block", "allowed-endpoints": "ghcr.io:443\n  pypi.org:443 api.github.com:443"}},
        {"run": "make"},
    ]}
    pol = effective_policy(cfg, request_from_job(job))
    assert pol.mode == "block"
    assert pol.allow.canonical() == ["ghcr.io:443", "pypi.org:443", "api.github.com:443"]
    text = "\n".join(pol.describe())
    assert "harden-runner" in text and "mode block" in text


def test_overrides_per_label_and_repository() -> None:
    cfg = EgressSettings(mode="audit", overrides=[
        {"repositories": ["acme/*"], "mode": "block", "allow": ["acme.example"]},
        {"labels": ["trusted"], "mode": "off"},
    ])
    assert effective_policy(cfg, repository="acme/web").mode == "block"
    assert effective_policy(cfg, repository="other/x").mode == "audit"
    assert effective_policy(cfg, labels=["self-hosted", "trusted"], repository="other/x").mode == "off"


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ({"egress": {"mode": "sometimes"}}, "job.egress.mode: 'sometimes' is not a mode"),
        ({"egress": {"allow": ["ok.example", "a.*.com"]}}, "job.egress.allow: entry 1 'a.*.com'"),
        ({"egress": {"mode": "block", "extra": 1}}, "unknown key(s) extra"),
        ({"steps": [{"uses": "step-security/harden-runner@v2", "with": {"allowed-endpoints": "x:0"}}]},
         "job.steps[0] (harden-runner) allowed-endpoints: entry 0 'x:0'"),
    ],
)
def test_bad_job_policy_is_a_clear_error(job: dict, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        request_from_job(job)
    assert message in str(info.value)


def test_settings_validation_names_the_field() -> None:
    with pytest.raises(ValidationError, match="entry 0"):
        EgressSettings(allow=["host:0"])
    with pytest.raises(ValidationError, match="egress.upstream_dns"):
        EgressSettings(upstream_dns="dns.example:53")
    with pytest.raises(ValidationError, match="link4"):
        EgressSettings(link4="198.18.0.0/31")
    assert parse_hostport("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_hostport("[::1]:53") == ("::1", 53)
