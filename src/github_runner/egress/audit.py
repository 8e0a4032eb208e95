"""The per-job egress audit log: JSON lines, schema version 1 (egress-design.md §5.2), masked.

Each record carries the step it happened in. Steps run one at a time, so the step is the one
whose time window contains the event (`set_step` is driven by the engine's StepStarted and
StepFinished events through `hook.EgressReporter`). Every string goes through the job's masker
before it is written; DNS names additionally get a check for the lowercased/encoded forms a
secret takes once it is smuggled into labels, which a case-sensitive masker cannot see.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

SCHEMA = 1
MASK = "***"
MAX_KEPT = 20000  # records kept in memory for the summary and annotations


class TextMasker(Protocol):
    def mask(self, text: str) -> str: ...


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def dns_forms(secret: str) -> set[str]:
    """How a secret looks inside a DNS name: lowercased, hex, base32/base64 without padding."""
    raw = secret.encode()
    forms = {
        secret.lower(),
        raw.hex(),
        base64.b32encode(raw).decode().rstrip("=").lower(),
        base64.b64encode(raw).decode().rstrip("=").lower(),
        base64.urlsafe_b64encode(raw).decode().rstrip("=").lower(),
    }
    return {f for f in forms if len(f) >= 4}


def parent_domain(name: str) -> str:
    """The registrable-ish parent (last two labels, three under common 2-letter SLDs)."""
    labels = name.split(".")
    if len(labels) >= 3 and labels[-2] in {"co", "com", "net", "org", "ac", "gov", "edu"} and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


class AuditLog:
    def __init__(
        self,
        path: Path | None,
        job: str,
        mode: str,
        masker: TextMasker | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.path = path
        self.job = job
        self.mode = mode
        self.masker = masker
        self._dns_forms: set[str] = set()
        for s in secrets:
            self.add_secret(s)
        self.step: dict[str, Any] | None = None
        self.counts: Counter[str] = Counter()
        self.records: list[dict[str, Any]] = []
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._lock = threading.Lock()
        self._fh = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def add_secret(self, secret: str) -> None:
        if len(secret) >= 4:
            self._dns_forms |= dns_forms(secret)

    def set_step(self, step: dict[str, Any] | None) -> None:
        self.step = step

    def mask_name(self, name: str) -> str:
        """Mask a secret hidden in a DNS name; keep the parent domain and the lengths."""
        flat = name.replace(".", "").lower()
        if any(form in flat for form in self._dns_forms):
            parent = parent_domain(name)
            head = name[: -len(parent) - 1] if name.endswith("." + parent) else name
            return f"{MASK}[{len(head)} chars].{parent}"
        return self._mask_text(name)

    def _mask_text(self, text: str) -> str:
        if self.masker is None:
            return text
        return self.masker.mask(text)

    def _mask(self, value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            if key in ("qname", "name") or key.endswith("names") or key == "cnames":
                return self.mask_name(value)
            return self._mask_text(value)
        if isinstance(value, list):
            return [self._mask(v, key) for v in value]
        if isinstance(value, dict):  # keys too: a name or URL may be one (counts by host...)
            return {self._mask_text(k) if isinstance(k, str) else k: self._mask(v, k) for k, v in value.items()}
        return value

    def write(self, event: str, action: str, ts: float | None = None, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "v": SCHEMA,
            "ts": rfc3339(ts if ts is not None else time.time()),
            "job": self.job,
            "step": self.step,
            "mode": self.mode,
            "event": event,
            "action": action,
        }
        record.update({k: v for k, v in fields.items() if v is not None})
        record = self._mask(record)
        line = json.dumps(record, sort_keys=False, separators=(",", ":"))
        with self._lock:
            self.counts[event] += 1
            self.counts[f"{event}_{action}"] += 1
            if len(self.records) < MAX_KEPT:
                self.records.append(record)
            if self._fh is not None:
                self._fh.write(line + "\n")
                self._fh.flush()
        for listener in list(self.listeners):
            listener(record)
        return record

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def read_records(path: Path) -> list[dict[str, Any]]:
    """Load a JSONL audit; a bad line is an error naming the file and line."""
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not a JSON line: {exc.msg}") from None
            if not isinstance(rec, dict) or "event" not in rec:
                raise ValueError(f"{path}:{lineno}: not an egress audit record (no 'event')")
            if rec.get("v", SCHEMA) != SCHEMA:
                raise ValueError(f"{path}:{lineno}: unsupported schema version {rec.get('v')!r}")
            out.append(rec)
    return out
