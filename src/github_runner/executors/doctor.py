"""Host checks per executor, for `github-runner doctor`: what protection is active, what is
missing and how to get it. Every check runs the real thing (a namespace, a bwrap, a container)
rather than trusting a version number; the slow ones (containers) only with `deep`."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from msgspec import Struct, field

from github_runner.executors import cgroups, cgtune
from github_runner.executors.sandbox import TOOLS
from github_runner.executors.users import DEFAULT_JOB_USER

NAMESPACES = ("user", "pid", "mnt", "ipc", "uts", "cgroup", "net")


class Check(Struct):
    name: str
    ok: bool
    detail: str
    fix: str = ""
    advisory: bool = False  # a tuning, not a protection: does not make the executor "not ready"


class Report(Struct):
    executor: str
    boundary: str
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(c.ok or c.advisory for c in self.checks)


def _run(argv: list[str], timeout: float = 30) -> tuple[bool, str]:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def _job_user(user: str | None) -> Check:
    name = user or DEFAULT_JOB_USER
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return Check("job user", False, f"no user {name!r}", f"useradd --system --create-home {name}")
    if pw.pw_uid == 0:
        return Check("job user", False, f"{name} is root", "configure an unprivileged `user`")
    return Check("job user", True, f"{name} (uid {pw.pw_uid}): jobs drop to it, no capabilities, no_new_privs")


def _cgroup_check() -> Check:
    why = cgroups.available()
    if why:
        return Check("cgroups", False, why, "run the runner as root on a host with cgroup v1 memory/pids/cpu")
    orphans = [p.name for p in cgroups.leftovers() if not cgroups.owner_alive(p.name)]
    detail = "cgroup v1 memory, pids, cpu: limits and kill-everything at job end"
    if orphans:
        detail += f"; {len(orphans)} orphaned job cgroup(s): run `github-runner doctor --cleanup`"
    return Check("cgroups", True, detail)


def migration_check() -> Check:
    """Whether moving a job process into its cgroup is fast (favordynmods), see cgtune.py."""
    st = cgtune.status()
    return Check("fast cgroup migration", st.on, st.detail,
                 "" if st.on else f"start the runner as root with tune_cgroup_migrations = true, or "
                                  f"`mount -o remount,{cgtune.OPTION} <cgroup2 mount>`", advisory=True)


def shell_report(user: str | None) -> Report:
    r = Report("shell", "weakest: a uid; jobs see the host's files, processes and network")
    r.checks.append(_job_user(user))
    ok = shutil.which("setpriv") is not None
    r.checks.append(Check("setpriv", ok, "drops uid, capabilities, sets no_new_privs" if ok else "missing",
                          "" if ok else "apt-get install util-linux"))
    r.checks.append(_cgroup_check())
    r.checks.append(migration_check())
    return r


def sandbox_report(user: str | None) -> Report:
    r = Report("sandbox", "fresh user/pid/mount/ipc/uts/cgroup/net namespaces, read-only system, private workspace")
    for tool, pkg in TOOLS.items():
        if shutil.which(tool) is None:
            r.checks.append(Check(tool, False, "not found", f"apt-get install {pkg}"))
    missing_ns = [n for n in NAMESPACES if not Path(f"/proc/self/ns/{n}").exists()]
    r.checks.append(Check("namespaces", not missing_ns,
                          f"missing: {', '.join(missing_ns)}" if missing_ns else ", ".join(NAMESPACES)))
    try:
        max_userns = int(Path("/proc/sys/user/max_user_namespaces").read_text())
    except (OSError, ValueError):
        max_userns = -1
    r.checks.append(Check("user namespaces", max_userns != 0, f"max_user_namespaces={max_userns}",
                          "" if max_userns else "sysctl -w user.max_user_namespaces=15000"))
    if shutil.which("bwrap"):
        ok, out = _run(["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                        "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"])
        r.checks.append(Check("bubblewrap", ok, "bwrap --unshare-all --disable-userns works" if ok else out,
                              "" if ok else "apt-get install bubblewrap (0.8+ for --disable-userns)"))
    r.checks.append(_job_user(user))
    r.checks.append(_cgroup_check())
    r.checks.append(migration_check())
    if os.geteuid() != 0:
        r.checks.append(Check("root", False, "the sandbox executor needs a root runner (netns, cgroups, nsenter)",
                              "run the runner as root; it drops every job to `user`"))
    else:
        r.notes.append("network: loopback-only netns owned by root; egress attaches through NetworkHook")
    return r


def _docker_info() -> tuple[bool, dict[str, object] | str]:
    try:
        import docker

        c = docker.from_env(timeout=10)
        return True, dict(c.info())
    except Exception as e:  # any failure to talk to the daemon is the finding
        return False, str(e)


def docker_report(deep: bool, runtime: str | None = None, name: str = "docker") -> Report:
    from github_runner.executors.images import busybox_ref, debian_ref

    r = Report(name, "container: all caps dropped, no_new_privs, per-job internal bridge, limits"
               if name == "docker" else "gVisor user-space kernel inside a hardened container")
    ok, info = _docker_info()
    if not ok:
        r.checks.append(Check("dockerd", False, str(info), "start dockerd: bash .ci/setup.d/20-dockerd.sh"))
        return r
    assert isinstance(info, dict)
    r.checks.append(Check("dockerd", True, f"server {info.get('ServerVersion')}, cgroup driver "
                                            f"{info.get('CgroupDriver')}, security {info.get('SecurityOptions')}"))
    runtimes = info.get("Runtimes") or {}
    if runtime:
        ok = runtime in runtimes  # type: ignore[operator]
        r.checks.append(Check(f"runtime {runtime}", ok, "registered" if ok else "not registered",
                              "" if ok else "add it to /etc/docker/daemon.json (see .ci/setup.d/20-dockerd.sh), restart dockerd"))
    for ref, what in ((debian_ref(), "default job image"), (busybox_ref(), "busybox image")):
        ok, _ = _run(["docker", "image", "inspect", ref])
        r.checks.append(Check(what, ok, ref if ok else f"{ref} not built",
                              "" if ok else "python -m github_runner.executors.images all"))
    if deep:
        argv = ["docker", "run", "--rm", "--network", "none", "--cap-drop", "ALL", "--security-opt",
                "no-new-privileges:true", "--pids-limit", "128", *(["--runtime", runtime] if runtime else []),
                busybox_ref(), "true"]
        ok, out = _run(argv, timeout=60)
        r.checks.append(Check("hardened container", ok, "starts" if ok else out))
    return r


def gvisor_report(deep: bool) -> Report:
    r = docker_report(deep, "runsc-host", "gvisor")
    ok, out = _run(["runsc", "--version"])
    r.checks.insert(0, Check("runsc", ok, out.splitlines()[0] if ok else "not found",
                             "" if ok else "apt-get install runsc"))
    r.notes += [
        "this runsc (Debian 2022) cannot use its own netstack here: registered as runsc-host "
        "(--network=host), i.e. gVisor uses the job container's own netns on the per-job bridge",
        "pids limits count the sandbox's host threads: below 128 the sandbox fails to start (refused)",
        "the memory limit is the whole sandbox's: exceeding it kills the job container",
        "statx(2) returns EINVAL: GNU coreutils `ls -l`/`stat` fail in Debian images; busybox works",
        "direct `runsc` without Docker: not offered. `runsc do` overlays the whole host / and drops "
        "writes; `runsc run` of an OCI bundle boots, but this build's state tracking then reports the "
        "container stopped (PID -1), so `runsc exec` of later steps is refused",
    ]
    return r


def egress_report() -> Report:
    """The egress checks (`github-runner egress doctor`), so one command shows every protection.
    Imported lazily: the egress package loads libnftables."""
    r = Report("egress", "per-job gateway with an nftables allowlist (sandbox, docker, gvisor)")
    try:
        from github_runner.egress import doctor as egress_doctor

        found = egress_doctor.checks()
    except Exception as e:  # a broken egress install is a finding, not a doctor crash
        r.checks.append(Check("egress checks", False, f"{type(e).__name__}: {e}",
                              "run `github-runner egress doctor` for details"))
        return r
    r.checks = [Check(c.name, c.ok, c.detail, "" if c.ok else c.fix) for c in found]
    r.notes = [f"{name}: {note}" for name, note in egress_doctor.EXECUTOR_NOTES.items()]
    return r


def all_reports(user: str | None = None, deep: bool = False) -> list[Report]:
    return [shell_report(user), sandbox_report(user), docker_report(deep), gvisor_report(deep), egress_report()]
