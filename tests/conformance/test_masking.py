"""The masking vectors (GitHub runner, Azure Pipelines agent, GitLab runner) score 100%."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TESTDATA

FILES = sorted((TESTDATA / "masking").glob("*.json")) if (TESTDATA / "masking").is_dir() else []


def test_all_three_upstreams_are_present() -> None:
    names = {p.name for p in FILES}
    assert {"runner-secret-masker.json", "azure-pipelines-agent-secret-masker.json",
            "gitlab-runner-masker.json"} <= names  # fmt: skip


@pytest.mark.parametrize("engine", ["hyperscan", "ahocorasick"])
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_vector_file_scores_fully(path: Path, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from scorers.masking import score

    from github_runner.secrets.matchers import ENGINE_ENV

    monkeypatch.setenv(ENGINE_ENV, engine)
    results = score(path)
    failed = [f"{r.id}: {r.detail}" for r in results if r.status == "failed"]
    assert not failed, "\n".join(failed)
    passed = sum(r.status == "passed" for r in results)
    assert passed >= 0.9 * len(results), "too many cases skipped"
