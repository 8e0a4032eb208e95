"""The `github` and `runner` contexts, and the GITHUB_*/RUNNER_* variables derived from them.

`exec` has no GitHub to ask, so `local_github_context` derives what GitHub would send from the
repository on disk (HEAD, origin remote) and the event payload; the worker takes the `github`
context from the job message instead. Either way the environment variables a step sees are
derived here, in one place, so both modes agree with the real runner.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from github_runner.engine.plan import RunnerInfo

SERVER_URL = "https://github.com"
API_URL = "https://api.github.com"
GRAPHQL_URL = "https://api.github.com/graphql"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def git_info(repo: Path) -> dict[str, str]:
    """sha, ref and owner/name of a checkout, read from `.git` without running git.

    Why no subprocess: `exec` must start fast, and these three facts are plain files.
    """
    git = repo / ".git"
    if git.is_file():  # a worktree or submodule: "gitdir: <path>"
        target = (_read(git) or "").removeprefix("gitdir:").strip()
        git = (repo / target).resolve() if target else git
    info: dict[str, str] = {}
    head = _read(git / "HEAD")
    if head:
        if head.startswith("ref:"):
            ref = head[4:].strip()
            info["ref"] = ref
            sha = _read(git / ref)
            if sha is None:
                packed = _read(git / "packed-refs") or ""
                for line in packed.splitlines():
                    parts = line.split(" ", 1)
                    if len(parts) == 2 and parts[1] == ref:
                        sha = parts[0]
            if sha:
                info["sha"] = sha
        else:
            info["sha"] = head
    config = _read(git / "config") or ""
    match = re.search(r'\[remote "origin"\][^\[]*?url\s*=\s*(\S+)', config)
    if match:
        slug = re.search(r"[:/]([^/:]+/[^/]+?)(?:\.git)?/?$", match.group(1))
        if slug:
            info["repository"] = slug.group(1)
    return info


def ref_name_and_type(ref: str) -> tuple[str, str]:
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if ref.startswith(prefix):
            return ref[len(prefix):], kind
    if ref.startswith("refs/pull/"):
        return ref[len("refs/"):], "branch"
    return ref, "branch"


def local_github_context(
    *,
    repo: Path,
    event_name: str,
    event: Mapping[str, Any],
    workflow_name: str,
    workflow_file: str,
    actor: str | None = None,
    run_id: str | None = None,
    token: str = "",
) -> dict[str, Any]:
    """What GitHub would put in `contextData.github` for a run of this local checkout."""
    info = git_info(repo)
    repository = info.get("repository")
    if not repository:
        repo_obj = event.get("repository") if isinstance(event.get("repository"), Mapping) else None
        repository = (repo_obj or {}).get("full_name") or f"local/{repo.resolve().name}"
    owner = repository.split("/", 1)[0]
    sha = info.get("sha") or str(event.get("after") or "0" * 40)
    ref = str(event.get("ref") or info.get("ref") or "refs/heads/main")
    base_ref = head_ref = ""
    pull = event.get("pull_request")
    if event_name in ("pull_request", "pull_request_target") and isinstance(pull, Mapping):
        base_ref = str((pull.get("base") or {}).get("ref", ""))
        head_ref = str((pull.get("head") or {}).get("ref", ""))
        number = pull.get("number") or event.get("number")
        if number is not None and event_name == "pull_request":
            ref = f"refs/pull/{number}/merge"
    ref_name, ref_type = ref_name_and_type(ref)
    actor = actor or str((event.get("sender") or {}).get("login") or "") or os.environ.get(
        "USER", "nektos/act"
    )
    run_id = run_id or str(int(time.time() * 1000) % 10**10)
    return {
        "action": "",
        "action_path": "",
        "action_ref": "",
        "action_repository": "",
        "action_status": "",
        "actor": actor,
        "actor_id": "0",
        "api_url": API_URL,
        "base_ref": base_ref,
        "event": dict(event),
        "event_name": event_name,
        "event_path": "",
        "graphql_url": GRAPHQL_URL,
        "head_ref": head_ref,
        "job": "",
        "ref": ref,
        "ref_name": ref_name,
        "ref_protected": False,
        "ref_type": ref_type,
        "repository": repository,
        "repository_id": "0",
        "repository_owner": owner,
        "repository_owner_id": "0",
        "repositoryUrl": f"git://github.com/{repository}.git",
        "repository_visibility": str((event.get("repository") or {}).get("visibility") or "private")
        if isinstance(event.get("repository"), Mapping)
        else "private",
        "retention_days": "0",
        "run_attempt": "1",
        "run_id": run_id,
        "run_number": "1",
        "secret_source": "None",
        "server_url": SERVER_URL,
        "sha": sha,
        "token": token,
        "triggering_actor": actor,
        "workflow": workflow_name,
        "workflow_ref": f"{repository}/{workflow_file}@{ref}",
        "workflow_sha": sha,
        "workspace": "",
    }


def runner_context(info: RunnerInfo, *, temp: str, tool_cache: str, debug: bool) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "name": info.name,
        "os": info.os,
        "arch": info.arch,
        "temp": temp,
        "tool_cache": tool_cache,
        "environment": info.environment,
    }
    if debug:
        ctx["debug"] = "1"
    return ctx


# github context key -> environment variable, as the runner exports them to every step.
_GITHUB_ENV = {
    "action": "GITHUB_ACTION",
    "action_path": "GITHUB_ACTION_PATH",
    "action_repository": "GITHUB_ACTION_REPOSITORY",
    "action_ref": "GITHUB_ACTION_REF",
    "actor": "GITHUB_ACTOR",
    "actor_id": "GITHUB_ACTOR_ID",
    "api_url": "GITHUB_API_URL",
    "base_ref": "GITHUB_BASE_REF",
    "event_name": "GITHUB_EVENT_NAME",
    "event_path": "GITHUB_EVENT_PATH",
    "graphql_url": "GITHUB_GRAPHQL_URL",
    "head_ref": "GITHUB_HEAD_REF",
    "job": "GITHUB_JOB",
    "ref": "GITHUB_REF",
    "ref_name": "GITHUB_REF_NAME",
    "ref_protected": "GITHUB_REF_PROTECTED",
    "ref_type": "GITHUB_REF_TYPE",
    "repository": "GITHUB_REPOSITORY",
    "repository_id": "GITHUB_REPOSITORY_ID",
    "repository_owner": "GITHUB_REPOSITORY_OWNER",
    "repository_owner_id": "GITHUB_REPOSITORY_OWNER_ID",
    "retention_days": "GITHUB_RETENTION_DAYS",
    "run_attempt": "GITHUB_RUN_ATTEMPT",
    "run_id": "GITHUB_RUN_ID",
    "run_number": "GITHUB_RUN_NUMBER",
    "server_url": "GITHUB_SERVER_URL",
    "sha": "GITHUB_SHA",
    "triggering_actor": "GITHUB_TRIGGERING_ACTOR",
    "workflow": "GITHUB_WORKFLOW",
    "workflow_ref": "GITHUB_WORKFLOW_REF",
    "workflow_sha": "GITHUB_WORKFLOW_SHA",
    "workspace": "GITHUB_WORKSPACE",
}


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def runner_env(github: Mapping[str, Any], runner: Mapping[str, Any]) -> dict[str, str]:
    """CI, GITHUB_* and RUNNER_* as the real runner sets them for every step."""
    env = {"CI": "true", "GITHUB_ACTIONS": "true"}
    for key, name in _GITHUB_ENV.items():
        if key in github:
            env[name] = _env_string(github[key])
    for key in ("name", "os", "arch", "temp", "tool_cache", "environment", "debug"):
        if key in runner:
            env[f"RUNNER_{key.upper()}"] = _env_string(runner[key])
    return env
