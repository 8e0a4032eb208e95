"""Score `workflows/*/manifest.json` folders by running each case through `github-runner exec`.

Per case (README "Workflows"): a fresh copy of the repository folder, then
`github-runner exec -W <workflow> <event>` with the event payload, `.secrets`/`.env`, inputs,
matrix filter, secrets and vars the case names; the case passes when the run's conclusion
(exit code 0 success, 130 cancelled, anything else failure) equals `expect`, and the combined
log satisfies `log_must_contain`/`log_must_not_contain`.

Skipped, with the reason: cases that are not `offline_host_runnable`, that need Docker images,
the network or JavaScript actions (`node`), pwsh when it is not installed, whose workflow files
are not in the folder, or whose note marks them as implementation-specific.

Cases run in parallel subprocesses (`GITHUB_RUNNER_SCORE_JOBS`, default 2 for this 2-core box).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scorers.common import CaseResult  # noqa: E402

CASE_TIMEOUT = 120


@dataclass
class Case:
    id: str
    root: Path  # folder copied as the repository
    workflows: list[Path]  # relative to root
    event: str
    expect: str  # success | failure
    secrets: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    matrix: list[str] = field(default_factory=list)
    event_file: Path | None = None  # relative to root
    secret_file: Path | None = None
    env_file: Path | None = None
    symlinks: list[tuple[str, str]] = field(default_factory=list)  # (link, target) relative to root
    origin: str | None = None  # the upstream repository the test data comes from
    must_contain: list[str] = field(default_factory=list)
    must_not_contain: list[str] = field(default_factory=list)


def _manifest(path: Path) -> tuple[Path, dict[str, Any]]:
    file = path if path.name == "manifest.json" else path / "manifest.json"
    return file.parent, json.loads(file.read_text(encoding="utf-8"))


def _root_for(folder: Path, manifest: dict[str, Any], files: list[str]) -> Path:
    """The manifest folder, or its one top folder when the layout says that is the repository."""
    tops = {f.split("/", 1)[0] for f in files}
    layout = str(manifest.get("layout") or "").lower()
    if len(tops) == 1:
        top = next(iter(tops))
        if f"whole {top.lower()}" in layout:
            return folder / top
    return folder


def _expect(case: dict[str, Any], run: dict[str, Any] | None) -> str | None:
    raw = str((run or {}).get("expect") or case.get("expect") or "").strip().lower()
    if raw.startswith("implementation-specific"):
        return "success"  # GitHub accepts what that runner rejects (see the case note)
    if raw.startswith("unrecorded"):
        # Self-asserting workflows: a failing step means a broken feature. Upstream names the
        # ones that must be rejected `expect-...-error...`.
        name = Path(str(case.get("id", ""))).name.lower()
        return "failure" if name.startswith("expect-") and "error" in name else "success"
    for word in ("success", "failure"):
        if raw.startswith(word):
            return word
    return None


def _pick_run(case: dict[str, Any]) -> dict[str, Any] | None:
    runs = case.get("runs") or []
    host = [r for r in runs if str(r.get("platform", "")).startswith("host")]
    plain = [r for r in runs if "unreachable" not in str(r.get("platform", ""))]
    return (host or plain or runs or [None])[0]


def _skip_reason(case: dict[str, Any], folder: Path) -> str | None:
    if not case.get("offline_host_runnable"):
        return "not offline host-runnable: needs " + (", ".join(case.get("needs") or []) or "containers")
    needs = set(case.get("needs") or [])
    for need, why in (("docker-images", "Docker images"), ("network", "the network"),
                      ("node", "JavaScript actions (node)")):
        if need in needs:
            return f"needs {why}"
    if "pwsh" in needs and shutil.which("pwsh") is None:
        return "needs pwsh, which is not installed"
    if "python" in needs and shutil.which("python3") is None:
        return "needs python"
    missing = [f for f in case.get("files") or [] if not (folder / f).exists()]
    if missing:
        return f"workflow files not included in the test data: {', '.join(missing)}"
    note = str(case.get("note") or "").lower()
    if "implementation-specific case" in note:
        return "implementation-specific (GitHub rejects it)"
    return None


_INPUTS = re.compile(r"inputs\s*\{([^}]*)\}", re.I)
_MATRIX = re.compile(r"(\w[\w-]*)\s+in\s+\{([^}]*)\}")
_SYMLINK = re.compile(r"(\S+) is a symlink[^(]*\(to (\S+?)\)")
_EVENT_FILE = re.compile(r"event payload (\S+\.json)")


def _parse_config(text: str, case: Case) -> None:
    """The `config` sentence of a case: inputs, matrix filter, event payload it names."""
    m = _INPUTS.search(text)
    if m:
        for pair in m.group(1).split(","):
            key, _, value = pair.partition(":")
            if key.strip():
                case.inputs[key.strip()] = value.strip()
    if "matrix" in text.lower():
        for key, values in _MATRIX.findall(text):
            case.matrix += [f"{key}:{v.strip()}" for v in values.split(",") if v.strip()]
    m = _EVENT_FILE.search(text)
    if m and (case.root / m.group(1)).is_file():
        case.event_file = Path(m.group(1))


def build_case(folder: Path, manifest: dict[str, Any], raw: dict[str, Any]) -> Case | CaseResult:
    cid = str(raw.get("id"))
    reason = _skip_reason(raw, folder)
    if reason:
        return CaseResult(cid, "skipped", reason)
    run = _pick_run(raw)
    expect = _expect(raw, run)
    if expect is None:
        return CaseResult(cid, "skipped", f"no success/failure expectation: {raw.get('expect')!r}")
    files = [str(f) for f in raw.get("files") or []]
    root = _root_for(folder, manifest, files)
    rel = [(folder / f).relative_to(root) for f in files]
    workflows = [p for p in rel if p.name not in ("action.yml", "action.yaml")]
    if not workflows:
        return CaseResult(cid, "skipped", "no workflow file among the case files")
    event = str((run or {}).get("event") or raw.get("event") or "push")
    case = Case(cid, root, workflows, event, expect)
    case.secrets = {str(k): str(v) for k, v in (raw.get("secrets") or {}).items()} if isinstance(raw.get("secrets"), dict) else {}
    case.vars = {str(k): str(v) for k, v in (raw.get("vars") or {}).items()} if isinstance(raw.get("vars"), dict) else {}
    case.must_contain = list(raw.get("log_must_contain") or [])
    case.must_not_contain = list(raw.get("log_must_not_contain") or [])
    wf_dir = workflows[0].parent
    for name, attr in (("event.json", "event_file"), (".secrets", "secret_file"), (".env", "env_file")):
        if (root / wf_dir / name).is_file():
            setattr(case, attr, wf_dir / name)
    if case.event_file is None and event == "push" and (root / "payload.json").is_file():
        case.event_file = Path("payload.json")
    _parse_config(str(raw.get("config") or ""), case)
    for link, target in _SYMLINK.findall(str(raw.get("note") or "")):
        case.symlinks.append((link, target))
    source = manifest.get("source") if isinstance(manifest.get("source"), dict) else {}
    if source.get("repo"):
        case.origin = f"https://github.com/{source['repo']}.git"
    return case


def _argv(case: Case, repo: Path) -> list[str]:
    argv = [sys.executable, "-m", "github_runner", "exec", case.event, "-C", str(repo), "--concurrency", "2"]
    for wf in case.workflows:
        argv += ["-W", str(repo / wf)]
    if case.event_file:
        argv += ["--eventpath", str(repo / case.event_file)]
    if case.secret_file:
        argv += ["--secret-file", str(repo / case.secret_file)]
    if case.env_file:
        argv += ["--env-file", str(repo / case.env_file)]
    for k, v in case.secrets.items():
        argv += ["-s", f"{k}={v}"]
    for k, v in case.vars.items():
        value = str(repo) if v.startswith("<path of the checked-out repository") else v
        argv += ["--var", f"{k}={value}"]
    for k, v in case.inputs.items():
        argv += ["--input", f"{k}={v}"]
    for m in case.matrix:
        argv += ["--matrix", m]
    return argv


def run_case(case: Case) -> CaseResult:
    with tempfile.TemporaryDirectory(prefix="ghr-wf-") as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(case.root, repo, symlinks=True)
        for dirpath, dirnames, filenames in os.walk(repo):
            for n in (*dirnames, *filenames):
                p = os.path.join(dirpath, n)
                if not os.path.islink(p):
                    os.chmod(p, os.stat(p).st_mode | 0o200)
        os.chmod(repo, 0o755)
        for link, target in case.symlinks:
            dest = repo / link
            if not dest.exists():
                dest.symlink_to(target)
        if case.origin and not (repo / ".git").exists() and shutil.which("git"):
            # Upstream runs these inside its own clone: github.repository is that repository.
            subprocess.run(["git", "init", "-q", str(repo)], check=False)
            subprocess.run(["git", "-C", str(repo), "remote", "add", "origin", case.origin], check=False)
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
        try:
            proc = subprocess.run(
                _argv(case, repo), capture_output=True, text=True, timeout=CASE_TIMEOUT, env=env,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            return CaseResult(case.id, "failed", f"timed out after {CASE_TIMEOUT}s")
    log = proc.stdout + proc.stderr
    conclusion = {0: "success", 130: "cancelled"}.get(proc.returncode, "failure")
    problems: list[str] = []
    if conclusion != case.expect:
        tail = " | ".join(line for line in log.strip().splitlines()[-4:])
        problems.append(f"expected {case.expect}, got {conclusion} (exit {proc.returncode}): {tail}")
    problems += [f"log lacks {s!r}" for s in case.must_contain if s not in log]
    problems += [f"log has {s!r}" for s in case.must_not_contain if s in log]
    return CaseResult.check(case.id, not problems, "; ".join(problems))


def score(path: Path) -> list[CaseResult]:
    folder, manifest = _manifest(path)
    built = [build_case(folder, manifest, raw) for raw in manifest.get("cases") or []]
    jobs = int(os.environ.get("GITHUB_RUNNER_SCORE_JOBS", "2"))
    runnable = [c for c in built if isinstance(c, Case)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        ran = dict(zip((c.id for c in runnable), pool.map(run_case, runnable)))
    return [ran[c.id] if isinstance(c, Case) else c for c in built]
