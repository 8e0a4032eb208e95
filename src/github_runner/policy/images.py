"""`allowed_images`: which images a job may use, checked before anything is pulled or started.

Patterns are shell globs matched against the reference as written *and* in Docker's normalised
form, so `ubuntu:*`, `docker.io/library/ubuntu:*` and `ghcr.io/acme/*` all mean what they say.
An empty list (the default) allows every image; the images this runner builds (`ghr-*`) are
always allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from github_runner.executors.base import ExecutorError

OWN_IMAGES = ("ghr-busybox:*", "ghr-debian:*")


def normalize(ref: str) -> str:
    """`ubuntu` -> `docker.io/library/ubuntu:latest`, as Docker resolves it (patterns too: a
    trailing `*` gets no `:latest`)."""
    name, digest = (ref.split("@", 1) + [""])[:2]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest and not last.endswith("*"):
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}"
    return f"{name}@{digest}" if digest else name


def check_image(ref: str, allowed: Sequence[str], setting: str = "allowed_images") -> None:
    if not ref or any(c.isspace() for c in ref):
        raise ExecutorError(f"image {ref!r} is not a valid image reference")
    if not allowed:
        return
    forms = {ref, normalize(ref)}
    patterns = {q for p in (*allowed, *OWN_IMAGES) for q in (p, normalize(p))}
    if any(fnmatchcase(f, p) for f in forms for p in patterns):
        return
    raise ExecutorError(
        f"image {ref!r} is not allowed by {setting} ({', '.join(allowed)}): "
        f"add a matching pattern to {setting} or use an allowed image"
    )
