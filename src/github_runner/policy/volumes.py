"""Volume specs (`volumes:` of a job/service container, and the executor's own `volumes`).

Refused before anything starts, naming the volume: relative paths, duplicate targets (one mount
shadowing another), host paths that give the host away (`/`, `/dev`, `/proc`, `/sys`, `/etc`,
the Docker socket or any directory holding it, the runner's state dir, other jobs' work dirs).
Host paths are mounted read-only unless listed in `writable_volumes`; named volumes are private
to the job (created with its labels, removed with it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from msgspec import Struct

from github_runner.executors.base import ExecutorError

SENSITIVE_TREES = ("/dev", "/proc", "/sys", "/etc", "/boot", "/var/lib/docker", "/var/lib/containerd")
SENSITIVE_FILES = ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock")
RESERVED_TARGETS = ("/__w", "/__t", "/__e")  # where the executor mounts the job's own dirs


class Volume(Struct, frozen=True):
    source: str | None  # absolute host path, a volume name, or None for an anonymous volume
    target: str
    read_only: bool
    named: bool = False

    @property
    def bind(self) -> bool:
        return self.source is not None and not self.named


def _norm(path: str) -> str:
    return os.path.normpath(os.path.realpath(path)) if os.path.exists(path) else os.path.normpath(path)


def _within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _refuse_source(spec: str, src: str, protected: Iterable[str]) -> None:
    real = {os.path.normpath(src), _norm(src)}
    for p in real:
        if p == "/":
            raise ExecutorError(f"volume {spec!r}: mounting the host root filesystem is refused")
        for tree in SENSITIVE_TREES:
            if _within(p, tree):
                raise ExecutorError(f"volume {spec!r}: host path {tree} is refused (host devices/config)")
        for f in (*SENSITIVE_FILES, *(os.path.normpath(x) for x in protected)):
            if _within(f, p) or _within(p, f):
                raise ExecutorError(
                    f"volume {spec!r}: it exposes {f} (the Docker socket or the runner's own files)"
                )


def parse_volume(spec: str, writable: Sequence[str] = (), protected: Iterable[str] = ()) -> Volume:
    parts = spec.split(":")
    if not spec or len(parts) > 3 or any(p == "" for p in parts):
        raise ExecutorError(f"volume {spec!r}: expected SOURCE:TARGET[:ro|rw] or TARGET")
    mode = None
    if len(parts) == 3 or (len(parts) == 2 and parts[1] in ("ro", "rw")):
        mode = parts.pop()
        if mode not in ("ro", "rw"):
            raise ExecutorError(f"volume {spec!r}: mode must be ro or rw, not {mode!r}")
    source, target = (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    if not target.startswith("/"):
        raise ExecutorError(f"volume {spec!r}: target {target!r} must be an absolute path")
    target = os.path.normpath(target)
    if any(_within(target, r) for r in RESERVED_TARGETS) or target == "/":
        raise ExecutorError(f"volume {spec!r}: target {target} is reserved for the job's own directories")
    if source is None:
        return Volume(None, target, read_only=mode == "ro")
    if not source.startswith("/"):
        if "/" in source or source.startswith(".") or source.startswith("~"):
            raise ExecutorError(f"volume {spec!r}: source {source!r} is a relative path; use an absolute path")
        return Volume(source, target, read_only=mode == "ro", named=True)
    _refuse_source(spec, source, protected)
    source = os.path.normpath(source)
    listed = any(_within(source, os.path.normpath(w)) for w in writable)
    if mode == "rw" and not listed:
        raise ExecutorError(
            f"volume {spec!r}: host path {source} is mounted read-only; list it in writable_volumes "
            "to allow :rw"
        )
    return Volume(source, target, read_only=not listed or mode == "ro")


def parse_volumes(
    specs: Iterable[str], writable: Sequence[str] = (), protected: Iterable[str] = (),
    taken: Iterable[str] = (),
) -> list[Volume]:
    """All of a container's volumes; `taken` are targets already used (e.g. executor volumes)."""
    protected = list(protected)
    seen = {os.path.normpath(t): "(executor volume)" for t in taken}
    out: list[Volume] = []
    for spec in specs:
        v = parse_volume(spec, writable, protected)
        if v.target in seen:
            raise ExecutorError(f"volume {spec!r}: duplicate target {v.target} (also used by {seen[v.target]!r})")
        seen[v.target] = spec
        out.append(v)
    return out
