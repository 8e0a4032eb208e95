"""Parsing of resource-limit settings ("512m", "1.5", 256) into `Limits`, with errors that name
the setting, shared by every backend and by the config model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from github_runner.executors.base import ExecutorError, Limits

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_MEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_memory(value: Any, setting: str = "limits.memory") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ExecutorError(f"{setting}: expected a size like 512m or 2g, got {value!r}")
    if isinstance(value, int):
        n = value
    else:
        m = _MEM.match(str(value))
        if not m:
            raise ExecutorError(f"{setting}: expected a size like 512m or 2g, got {value!r}")
        n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if n < 4 << 20:
        raise ExecutorError(f"{setting}: {value!r} is below the 4 MiB minimum")
    return n


def parse_cpus(value: Any, setting: str = "limits.cpus") -> float | None:
    if value is None:
        return None
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise ExecutorError(f"{setting}: expected a number of CPUs like 1 or 0.5, got {value!r}") from None
    if isinstance(value, bool) or not 0.01 <= cpus <= 1024:
        raise ExecutorError(f"{setting}: {value!r} is out of range (0.01 .. 1024)")
    return cpus


def parse_pids(value: Any, setting: str = "limits.pids") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or str(value).isdigit()):
        raise ExecutorError(f"{setting}: expected a whole number of processes, got {value!r}")
    n = int(value)
    if n < 8:
        raise ExecutorError(f"{setting}: {value!r} is too low for a shell to start (minimum 8)")
    return n


def parse_limits(value: Limits | Mapping[str, Any] | None, setting: str = "limits") -> Limits:
    if value is None:
        return Limits()
    if isinstance(value, Limits):
        return value
    if not isinstance(value, Mapping):
        raise ExecutorError(f"{setting}: expected a table with memory, cpus, pids; got {value!r}")
    unknown = set(value) - {"memory", "cpus", "pids"}
    if unknown:
        raise ExecutorError(f"{setting}: unknown key(s) {', '.join(sorted(unknown))} (memory, cpus, pids)")
    return Limits(
        memory_bytes=parse_memory(value.get("memory"), f"{setting}.memory"),
        cpus=parse_cpus(value.get("cpus"), f"{setting}.cpus"),
        pids=parse_pids(value.get("pids"), f"{setting}.pids"),
    )


def merge(default: Limits, job: Limits) -> Limits:
    """The job's own limits win field by field; the executor's fill the gaps."""
    return Limits(
        memory_bytes=job.memory_bytes if job.memory_bytes is not None else default.memory_bytes,
        cpus=job.cpus if job.cpus is not None else default.cpus,
        pids=job.pids if job.pids is not None else default.pids,
    )


def is_set(limits: Limits) -> bool:
    return any(v is not None for v in (limits.memory_bytes, limits.cpus, limits.pids))
