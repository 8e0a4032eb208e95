"""Shared result type for the conformance scorers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CaseResult:
    id: str
    status: Literal["passed", "failed", "skipped"]
    detail: str = ""

    @classmethod
    def check(cls, id: str, ok: bool, detail: str = "") -> "CaseResult":
        return cls(id, "passed" if ok else "failed", "" if ok else detail)


def rate(results: list[CaseResult]) -> float:
    attempted = [r for r in results if r.status != "skipped"]
    return sum(r.status == "passed" for r in attempted) / len(attempted) if attempted else 1.0
