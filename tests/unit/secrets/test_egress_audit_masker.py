"""The egress audit log masks with the job's own masker, so run-time `::add-mask::` values and
secrets in names, URLs and keys never reach the JSONL file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from github_runner.egress.jobs import network_for_settings
from github_runner.egress.settings import EgressSettings
from github_runner.secrets import Masker, SecretStore
from tests.conftest import require

SECRET = "job-secret-Vq3x-9s8d"
RUNTIME = "added-at-run-time-K7p2"  # what a step registers with ::add-mask:: mid-job


@dataclass
class Plan:
    job_id: str
    job_key: str
    steps: list[Any] = field(default_factory=list)
    egress: Any = None
    secrets: Any = field(default_factory=dict)
    contexts: dict[str, Any] = field(default_factory=dict)


def test_audit_log_uses_the_jobs_masker(tmp_path: Path) -> None:
    require(os.geteuid() == 0, "egress audit mode needs root (network namespaces, nftables)")
    masker = Masker()
    store = SecretStore(masker)
    store.set("TOKEN", SECRET)
    seam = network_for_settings(EgressSettings(mode="audit"), executor="sandbox", log_dir=tmp_path)
    egress = seam(Plan("build", "build", secrets=store))
    assert egress is not None and egress.hook is not None
    masker.add(RUNTIME, source="::add-mask::")  # after the hook was built, as a step would
    audit = egress.hook.audit
    audit.write("connection", "allowed", url=f"https://example.test/p?q={RUNTIME}",
                names=[f"{RUNTIME}.example.test"], counts={f"{SECRET}.example.test": 1},
                reason=f"token {SECRET}")
    audit.close()
    text = next(tmp_path.glob("egress-*.jsonl")).read_text()
    record = json.loads(text)
    assert RUNTIME not in text and SECRET not in text, text
    assert record["url"] == "https://example.test/p?q=***" and record["reason"] == "token ***"
    assert list(record["counts"]) == ["***.example.test"]


def test_a_plain_plan_still_gets_a_masker_of_its_secrets(tmp_path: Path) -> None:
    """A caller that passes a plain dict (no job masker to share) keeps the old behaviour."""
    require(os.geteuid() == 0, "egress audit mode needs root (network namespaces, nftables)")
    seam = network_for_settings(EgressSettings(mode="audit"), executor="sandbox", log_dir=tmp_path)
    egress = seam(Plan("build", "build", secrets={"TOKEN": SECRET}))
    assert egress is not None and egress.hook is not None
    egress.hook.audit.write("connection", "allowed", reason=f"token {SECRET}")
    egress.hook.audit.close()
    text = next(tmp_path.glob("egress-*.jsonl")).read_text()
    assert SECRET not in text and "token ***" in text
