"""`options:` of a job or service container: the `docker create` flags a workflow may pass.

Only the flags below are understood; everything else is refused before anything starts, with
an error naming the flag. Refused on purpose: whatever hands the host to the container
(`--privileged`, host namespaces, devices, security-opt overrides, extra mounts, other networks,
another runtime). `--cap-add` is allowed only for capabilities listed in the executor's `cap_add`.
"""

from __future__ import annotations

import shlex

from msgspec import Struct, field

from github_runner.executors.base import ExecutorError
from github_runner.executors.limits import parse_cpus, parse_memory, parse_pids

REFUSED: dict[str, str] = {
    "--privileged": "privileged containers control the host",
    "--network": "jobs use their own per-job network only",
    "--net": "jobs use their own per-job network only",
    "--pid": "host or shared pid namespaces are refused",
    "--ipc": "host or shared ipc namespaces are refused",
    "--uts": "host uts namespace is refused",
    "--userns": "the user namespace is the daemon's choice",
    "--cgroupns": "host cgroup namespace is refused",
    "--security-opt": "seccomp/apparmor/no-new-privileges are fixed by the executor",
    "--device": "host devices are refused",
    "--device-cgroup-rule": "host devices are refused",
    "--gpus": "host devices are refused",
    "--volume": "use `volumes:` (validated) instead",
    "-v": "use `volumes:` (validated) instead",
    "--mount": "use `volumes:` (validated) instead",
    "--volumes-from": "mounts from other containers are refused",
    "--runtime": "the runtime is the executor's setting",
    "--cgroup-parent": "the cgroup is the executor's",
    "--sysctl": "kernel parameters are refused",
    "--group-add": "extra groups are refused",
    "--link": "use service names on the job network",
    "--publish": "use `ports:`",
    "-p": "use `ports:`",
    "--publish-all": "use `ports:`",
    "-P": "use `ports:`",
    "--dns": "DNS is the executor's setting (egress control)",
    "--dns-search": "DNS is the executor's setting (egress control)",
    "--dns-option": "DNS is the executor's setting (egress control)",
    "--name": "container names are the executor's",
    "--oom-kill-disable": "the memory limit must be enforceable",
    "--memory-swap": "swap past the memory limit is refused",
    "--kernel-memory": "not supported",
    "--env-file": "host files are not read; use `env:`",
    "--isolation": "not supported on Linux",
    "--platform": "not supported",
}
FLAGS = {"--read-only", "--init", "--rm", "--tty", "-t", "--interactive", "-i"}


class ContainerOptions(Struct):
    env: dict[str, str] = field(default_factory=dict)
    memory: int | None = None
    cpus: float | None = None
    pids: int | None = None
    hostname: str | None = None
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    tmpfs: dict[str, str] = field(default_factory=dict)
    shm_size: int | None = None
    read_only: bool = False
    cap_add: list[str] = field(default_factory=list)
    extra_hosts: dict[str, str] = field(default_factory=dict)
    healthcheck: dict[str, object] = field(default_factory=dict)
    network_aliases: list[str] = field(default_factory=list)


def _duration_ns(opt: str, value: str) -> int:
    units = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    for u in sorted(units, key=len, reverse=True):
        if value.endswith(u):
            try:
                return int(float(value[: -len(u)]) * units[u])
            except ValueError:
                break
    raise ExecutorError(f"container options: {opt} expects a duration like 10s, got {value!r}")


def _pair(opt: str, value: str, sep: str) -> tuple[str, str]:
    k, s, v = value.partition(sep)
    if not k or not s:
        raise ExecutorError(f"container options: {opt} expects KEY{sep}VALUE, got {value!r}")
    return k, v


def parse_options(text: str, allowed_caps: set[str] | frozenset[str] = frozenset()) -> ContainerOptions:
    try:
        words = shlex.split(text or "")
    except ValueError as e:
        raise ExecutorError(f"container options: cannot parse {text!r}: {e}") from None
    o = ContainerOptions()
    i = 0
    while i < len(words):
        w = words[i]
        opt, eq, inline = w.partition("=") if w.startswith("--") else (w, "", "")
        i += 1
        if not opt.startswith("-"):
            raise ExecutorError(f"container options: unexpected argument {w!r} (only --flags are accepted)")
        if opt in REFUSED:
            raise ExecutorError(f"container options: {opt} is refused: {REFUSED[opt]}")
        if opt in FLAGS:
            if eq and inline not in ("true", "false"):
                raise ExecutorError(f"container options: {opt} takes no value")
            if opt == "--read-only":
                o.read_only = inline != "false"
            continue
        if eq:
            value = inline
        elif i < len(words):
            value = words[i]
            i += 1
        else:
            raise ExecutorError(f"container options: {opt} needs a value")
        if opt in ("-e", "--env"):
            k, s, v = value.partition("=")
            o.env[k] = v
        elif opt in ("-m", "--memory"):
            o.memory = parse_memory(value, "container options --memory")
        elif opt == "--cpus":
            o.cpus = parse_cpus(value, "container options --cpus")
        elif opt == "--pids-limit":
            o.pids = parse_pids(value, "container options --pids-limit")
        elif opt in ("-h", "--hostname"):
            o.hostname = value
        elif opt in ("-w", "--workdir"):
            o.workdir = value
        elif opt in ("-u", "--user"):
            o.user = value
        elif opt == "--entrypoint":
            o.entrypoint = value
        elif opt in ("-l", "--label"):
            k, _, v = value.partition("=")
            o.labels[k] = v
        elif opt == "--tmpfs":
            path, _, mount_opts = value.partition(":")
            if not path.startswith("/"):
                raise ExecutorError(f"container options: --tmpfs {value!r}: path must be absolute")
            o.tmpfs[path] = mount_opts
        elif opt == "--shm-size":
            o.shm_size = parse_memory(value, "container options --shm-size")
        elif opt == "--cap-add":
            cap = value.upper().removeprefix("CAP_")
            if cap not in allowed_caps:
                raise ExecutorError(
                    f"container options: --cap-add {value} is refused: not in the executor's cap_add "
                    f"list ({', '.join(sorted(allowed_caps)) or 'empty'})"
                )
            o.cap_add.append(cap)
        elif opt == "--cap-drop":
            continue  # everything is dropped already
        elif opt == "--add-host":
            k, v = _pair(opt, value, ":")
            o.extra_hosts[k] = v
        elif opt == "--network-alias":
            o.network_aliases.append(value)
        elif opt == "--health-cmd":
            o.healthcheck["test"] = ["CMD-SHELL", value]
        elif opt in ("--health-interval", "--health-timeout", "--health-start-period"):
            o.healthcheck[opt.removeprefix("--health-").replace("-", "_")] = _duration_ns(opt, value)
        elif opt == "--health-retries":
            if not value.isdigit():
                raise ExecutorError(f"container options: --health-retries expects a number, got {value!r}")
            o.healthcheck["retries"] = int(value)
        else:
            raise ExecutorError(f"container options: {opt} is not supported")
    return o
