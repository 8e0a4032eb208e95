"""Docker policy: images, volumes, container options. Pure parsing, refused with named errors."""

from __future__ import annotations

import pytest

from github_runner.executors.base import ExecutorError
from github_runner.policy.images import check_image, normalize
from github_runner.policy.options import parse_options
from github_runner.policy.volumes import parse_volume, parse_volumes


@pytest.mark.parametrize(
    ("ref", "norm"),
    [("ubuntu", "docker.io/library/ubuntu:latest"), ("node:18", "docker.io/library/node:18"),
     ("acme/app:1", "docker.io/acme/app:1"), ("ghcr.io/o/i", "ghcr.io/o/i:latest"),
     ("localhost:5000/x:2", "localhost:5000/x:2"), ("a@sha256:ab", "docker.io/library/a@sha256:ab")],
)
def test_normalize(ref: str, norm: str) -> None:
    assert normalize(ref) == norm


def test_allowed_images_globs() -> None:
    allowed = ["ubuntu:*", "ghcr.io/acme/*"]
    check_image("ubuntu:22.04", allowed)
    check_image("docker.io/library/ubuntu:22.04", allowed)
    check_image("ghcr.io/acme/tool:1", allowed)
    check_image("ghr-busybox:abc", allowed)  # our own builds
    check_image("anything", [])
    check_image("ubuntu", allowed)  # = ubuntu:latest
    for bad in ("alpine", "ghcr.io/evil/tool", "docker.io/evil/ubuntu:1"):
        with pytest.raises(ExecutorError, match=f"image {bad!r} is not allowed by allowed_images"):
            check_image(bad, allowed)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("/var/run/docker.sock:/var/run/docker.sock", "docker.sock"),
        ("/run:/hostrun", "docker.sock"),
        ("/etc:/etc2", "/etc is refused"),
        ("/etc/ssl:/ssl", "/etc is refused"),
        ("/:/host", "host root"),
        ("/proc:/p", "/proc is refused"),
        ("/sys/fs/cgroup:/cg", "/sys is refused"),
        ("/dev/sda:/d", "/dev is refused"),
        ("./data:/data", "relative path"),
        ("data/x:/data", "relative path"),
        ("/srv/x:data", "must be an absolute path"),
        ("/srv/x:/data:rx", "mode must be ro or rw"),
        ("/srv/x:/__w/x", "reserved"),
        ("/srv/x:/data:rw", "writable_volumes"),
        ("/var/lib/ghr-state/sub:/s", "runner's own files"),
        ("/var/lib:/s", "runner's own files"),
    ],
)
def test_refused_volumes_name_the_volume(spec: str, error: str) -> None:
    with pytest.raises(ExecutorError, match=f"volume {spec!r}.*") as e:
        parse_volume(spec, protected=["/var/lib/ghr-state"])
    assert error in str(e.value)


def test_volume_modes_and_named_volumes() -> None:
    v = parse_volume("/srv/cache:/cache")
    assert (v.source, v.target, v.read_only, v.bind) == ("/srv/cache", "/cache", True, True)
    assert not parse_volume("/srv/cache:/cache:rw", writable=["/srv"]).read_only
    assert parse_volume("/srv/cache:/cache:ro", writable=["/srv"]).read_only
    n = parse_volume("mydata:/data")
    assert n.named and not n.read_only and n.source == "mydata"
    anon = parse_volume("/scratch")
    assert anon.source is None and anon.target == "/scratch"


def test_duplicate_targets_refused() -> None:
    with pytest.raises(ExecutorError, match="duplicate target /data"):
        parse_volumes(["/srv/a:/data", "/srv/b:/data/"])
    with pytest.raises(ExecutorError, match="duplicate target /cache"):
        parse_volumes(["/srv/a:/cache"], taken=["/cache"])


@pytest.mark.parametrize(
    ("options", "flag"),
    [("--privileged", "--privileged"), ("--network host", "--network"), ("--network=host", "--network"),
     ("--net=bridge", "--net"), ("--pid=host", "--pid"), ("-v /:/host", "-v"),
     ("--security-opt seccomp=unconfined", "--security-opt"), ("--device /dev/kvm", "--device"),
     ("--runtime runc", "--runtime"), ("--cap-add SYS_ADMIN", "--cap-add SYS_ADMIN"),
     ("--userns=host", "--userns"), ("--frobnicate 1", "--frobnicate"), ("--cpus", "--cpus")],
)
def test_refused_options_name_the_flag(options: str, flag: str) -> None:
    with pytest.raises(ExecutorError, match="container options: " + flag.replace("-", r"\-")):
        parse_options(options)


def test_accepted_options() -> None:
    o = parse_options(
        "--cpus 0.5 -m 256m --pids-limit 100 -e A=1 --env=B=2 --hostname h --user 1000 --read-only "
        "--health-cmd 'pg_isready -U x' --health-interval 10s --health-retries 5 --cap-add net_bind_service "
        "--tmpfs /scratch:size=64m --add-host db.local:198.18.0.5 --network-alias svc",
        allowed_caps={"NET_BIND_SERVICE"},
    )
    assert (o.cpus, o.memory, o.pids) == (0.5, 256 << 20, 100)
    assert o.env == {"A": "1", "B": "2"} and o.hostname == "h" and o.user == "1000" and o.read_only
    assert o.healthcheck == {"test": ["CMD-SHELL", "pg_isready -U x"], "interval": 10**10, "retries": 5}
    assert o.cap_add == ["NET_BIND_SERVICE"] and o.tmpfs == {"/scratch": "size=64m"}
    assert o.extra_hosts == {"db.local": "198.18.0.5"} and o.network_aliases == ["svc"]
