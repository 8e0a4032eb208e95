"""The fake's bookkeeping: agents, tokens, sessions, jobs and everything they reported."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakegithub.jobs import JobDef


@dataclass
class Agent:
    id: int
    name: str
    labels: list[str]
    public_key: rsa.RSAPublicKey
    client_id: str
    ephemeral: bool
    pool_id: int = 1
    version: str = ""
    busy: bool = False
    deleted: bool = False
    fips: bool = True

    def label_set(self) -> set[str]:
        return {x.lower() for x in self.labels}


@dataclass
class Session:
    id: str
    agent_id: int
    v2: bool
    aes_key: bytes | None = None
    queue: deque[dict[str, Any]] = field(default_factory=deque)
    event: asyncio.Event = field(default_factory=asyncio.Event)
    owner: str = ""
    polls: int = 0
    deleted: bool = False
    migrated_to: str = ""  # v1 session told to poll the broker (BrokerMigration)
    broker_queue: deque[dict[str, Any]] = field(default_factory=deque)


@dataclass
class FakeJob:
    definition: JobDef
    id: str  # job id (timeline record id of the job)
    plan_id: str
    timeline_id: str
    job_token: str
    request_id: int
    runner_request_id: str
    message: dict[str, Any] = field(default_factory=dict)
    state: str = "queued"  # queued, assigned, acquired, completed
    agent_id: int | None = None
    agent_name: str = ""
    assigned_at: float = 0.0
    locked_until: float = 0.0
    renewals: int = 0
    deliveries: int = 0
    acquisitions: int = 0
    conclusion: str | None = None
    lost: bool = False  # failed by the lock watchdog ("lost communication")
    outputs: dict[str, Any] = field(default_factory=dict)
    step_results: list[dict[str, Any]] = field(default_factory=list)  # v2 completejob
    annotations: list[dict[str, Any]] = field(default_factory=list)
    step_updates: dict[str, dict[str, Any]] = field(default_factory=dict)  # results / timeline
    step_order: list[str] = field(default_factory=list)
    step_logs: dict[str, str] = field(default_factory=dict)  # record id -> log text
    job_log: str = ""
    summaries: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # v1 timeline
    feed: list[tuple[str, str]] = field(default_factory=list)  # (step id, line)
    logs: dict[int, bytes] = field(default_factory=dict)  # v1 log id -> content
    events: list[dict[str, Any]] = field(default_factory=list)
    completions: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    duplicate: int = 0  # deliver this many extra copies

    def logs_by_step(self) -> dict[str, str]:
        """Log text per step record id, whichever service carried it (v2 blobs or v1 logs)."""
        out = dict(self.step_logs)
        for rid, rec in self.records.items():
            log = rec.get("log") or {}
            lid = log.get("id") if isinstance(log, dict) else None
            if lid is not None and int(lid) in self.logs:
                out[rid] = self.logs[int(lid)].decode("utf-8", "replace").removeprefix("\ufeff")
        return out

    def steps(self) -> list[dict[str, Any]]:
        """Per-step state as the server last saw it, in order (name, status, conclusion)."""
        return [self.step_updates[i] for i in self.step_order]


def new_token(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


def now() -> float:
    return time.time()
