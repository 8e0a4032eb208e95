"""The docker executor: each job in hardened containers on its own bridge network (docker SDK).

Defaults (security-model.txt): all capabilities dropped (only the `cap_add` list may come back),
never privileged, no-new-privileges, a per-job bridge network (never `host`, never the default
bridge; `internal` by default so nothing leaves it until egress control links it out), sensitive
mounts refused, host paths read-only unless listed, images checked against `allowed_images`
before anything is pulled, memory/cpu/pids limits, DNS override, runtime choice (gVisor), and an
optional read-only root filesystem. Everything made for the job (containers, network, volumes)
carries the labels `ghr.job` and `ghr.owner` and is removed at the end, or by the orphan sweep
when the worker that made it died.

Jobs without `container:` run in the executor's `image` (a locally built Debian by default).
Paths: the job's work dir is `/__w` inside, the tool cache `/__t`, a workspace outside the work
dir `/__ws`.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from msgspec import Struct

from github_runner.executors.base import ContainerSpec, ExecutorError, JobSpec, Limits, Process
from github_runner.executors.dockerexec import DockerExecProcess
from github_runner.executors.envfilter import EnvFilter
from github_runner.executors.limits import merge, parse_limits
from github_runner.executors.shell import chown_tree
from github_runner.policy.images import check_image
from github_runner.policy.options import ContainerOptions, parse_options
from github_runner.policy.volumes import Volume, parse_volumes

LABEL_JOB = "ghr.job"
LABEL_OWNER = "ghr.owner"
JOB_ENTRYPOINT = ["tail", "-f", "/dev/null"]  # keeps the job container up between steps


def _lowest(*values: float | None) -> Any:
    """The tightest of the executor's and the job's limit (options may only lower it)."""
    present = [v for v in values if v is not None]
    return min(present) if present else None


def owner_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _client() -> Any:
    import docker  # imported lazily: the other executors must not need it

    try:
        return docker.from_env(timeout=120)
    except docker.errors.DockerException as e:
        raise ExecutorError(
            f"docker executor: cannot reach dockerd ({e}): start it (.ci/setup.d/20-dockerd.sh) "
            "or set DOCKER_HOST"
        ) from None


class Prepared(Struct, frozen=True):
    """Everything validated before the first side effect."""

    image: str
    options: ContainerOptions
    volumes: list[Volume]
    services: dict[str, tuple[ContainerSpec, ContainerOptions, list[Volume]]]
    limits: Limits


class DockerJob:
    name = "docker"

    def __init__(self, executor: "DockerExecutor", spec: JobSpec) -> None:
        self.ex = executor
        self.spec = spec
        self.client = executor.client
        self.api = executor.client.api
        self.labels = {**spec.labels, LABEL_JOB: spec.job_id, LABEL_OWNER: owner_label()}
        self.base = f"ghr-{spec.job_id}"
        self.network: Any = None
        self.container: Any = None
        self.services: dict[str, Any] = {}
        self.procs: list[DockerExecProcess] = []
        self.maps: list[tuple[Path, str]] = [(spec.work_dir, "/__w")]
        if not spec.tool_cache.is_relative_to(spec.work_dir):
            self.maps.append((spec.tool_cache, "/__t"))
        if not spec.workspace.is_relative_to(spec.work_dir):
            self.maps.append((spec.workspace, "/__ws"))
        if not spec.temp.is_relative_to(spec.work_dir):
            self.maps.append((spec.temp, "/__w/_temp_outside"))
        self._attached = False
        self._closed = False

    def to_job_path(self, host_path: Path) -> str:
        best: tuple[Path, str] | None = None
        for host, inside in self.maps:
            if host_path.is_relative_to(host) and (best is None or len(host.parts) > len(best[0].parts)):
                best = (host, inside)
        if best is None:
            return str(host_path)
        rel = host_path.relative_to(best[0])
        return best[1] if rel == Path(".") else f"{best[1]}/{rel.as_posix()}"

    # -- creation ---------------------------------------------------------------------------

    def _bridge_name(self) -> str:
        return "ghr" + hashlib.sha1(self.spec.job_id.encode()).hexdigest()[:11]  # IFNAMSIZ 15

    def _create_network(self) -> None:
        from docker.types import IPAMConfig, IPAMPool

        ipam = None
        if self.ex.subnet_pool:
            ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=self._free_subnet())])
        self.network = self.client.networks.create(
            # with egress control the gateway is the only way out: services too stay internal
            self.base, driver="bridge", internal=self.ex.network_internal or self.spec.network is not None,
            labels=self.labels,
            options={"com.docker.network.bridge.name": self._bridge_name()}, ipam=ipam,
            check_duplicate=True,
        )

    def _free_subnet(self) -> str:
        used = []
        for n in self.client.networks.list():
            for cfg in (n.attrs.get("IPAM") or {}).get("Config") or []:
                if cfg.get("Subnet"):
                    used.append(ipaddress.ip_network(cfg["Subnet"], strict=False))
        for sub in ipaddress.ip_network(self.ex.subnet_pool).subnets(new_prefix=24):
            if not any(sub.overlaps(u) for u in used):
                return str(sub)
        raise ExecutorError(f"docker executor: no free /24 left in subnet_pool {self.ex.subnet_pool}")

    def _volume_binds(self, volumes: Iterable[Volume]) -> dict[str, dict[str, str]]:
        binds: dict[str, dict[str, str]] = {}
        for i, v in enumerate(volumes):
            mode = "ro" if v.read_only else "rw"
            if v.bind:
                binds[str(v.source)] = {"bind": v.target, "mode": mode}
                continue
            name = f"{self.base}-{v.source or f'anon{i}'}"
            self.client.volumes.create(name=name, labels=self.labels)
            binds[name] = {"bind": v.target, "mode": mode}
        return binds

    def _hardened(self, opts: ContainerOptions, limits: Limits, volumes: list[Volume]) -> dict[str, Any]:
        mem = _lowest(limits.memory_bytes, opts.memory)
        cpus = _lowest(limits.cpus, opts.cpus)
        pids = _lowest(limits.pids, opts.pids)
        if self.ex.min_pids and pids is not None and pids < self.ex.min_pids:
            raise ExecutorError(
                f"{self.ex.name} executor: pids limit {pids} is below {self.ex.min_pids}, which this "
                "runtime needs for itself (gVisor's sentry threads count); raise limits.pids"
            )
        read_only = self.ex.read_only_rootfs or opts.read_only
        tmpfs = dict(opts.tmpfs)
        if read_only:
            tmpfs.setdefault("/tmp", "rw,nosuid,nodev,size=256m,mode=1777")
            tmpfs.setdefault("/run", "rw,nosuid,nodev,size=16m")
        kw: dict[str, Any] = {
            "cap_drop": ["ALL"],
            "cap_add": opts.cap_add or None,
            "privileged": False,
            "security_opt": ["no-new-privileges:true"],
            "read_only": read_only,
            "tmpfs": tmpfs or None,
            "ipc_mode": "private",
            "init": True,
            "labels": {**opts.labels, **self.labels},
            "network": self.network.name,
            "dns": list(self.ex.dns) or None,
            "runtime": self.ex.runtime,
            "mem_limit": mem,
            "memswap_limit": mem,
            "nano_cpus": int(cpus * 1e9) if cpus else None,
            "pids_limit": pids,
            "shm_size": opts.shm_size,
            "extra_hosts": opts.extra_hosts or None,
            "volumes": self._volume_binds(volumes),
            "detach": True,
        }
        return {k: v for k, v in kw.items() if v is not None}

    def _create_services(self, prepared: Prepared) -> None:
        for key, (svc, opts, vols) in prepared.services.items():
            kw = self._hardened(opts, prepared.limits, vols)
            kw["networking_config"] = {
                self.network.name: self.api.create_endpoint_config(aliases=[key, *opts.network_aliases])
            }
            ports = {}
            for p in svc.ports:
                host, _, inner = str(p).rpartition(":")
                ports[inner if "/" in inner else f"{inner}/tcp"] = ("127.0.0.1", int(host)) if host else None
            ctr = self.client.containers.create(
                svc.image, name=f"{self.base}-{key}", hostname=opts.hostname or key,
                environment={**svc.env, **opts.env}, entrypoint=opts.entrypoint, user=opts.user,
                healthcheck=opts.healthcheck or None, ports=ports or None, **kw,
            )
            self.services[key] = ctr
            ctr.start()

    def _create_job_container(self, prepared: Prepared) -> None:
        opts = prepared.options
        kw = self._hardened(opts, prepared.limits, prepared.volumes)
        kw["volumes"].update({str(h): {"bind": c, "mode": "rw"} for h, c in self.maps})
        env = {"HOME": "/__w/_home", **(self.spec.container.env if self.spec.container else {}), **opts.env}
        self.container = self.client.containers.create(
            prepared.image, entrypoint=JOB_ENTRYPOINT, command=[], name=self.base,
            hostname=opts.hostname or "job", user=opts.user or self.ex.container_user,
            working_dir=opts.workdir or self.to_job_path(self.spec.workspace), environment=env, **kw,
        )
        self.container.start()

    async def start(self, prepared: Prepared) -> None:
        await asyncio.to_thread(self._create_network)
        await asyncio.to_thread(self._create_services, prepared)
        await asyncio.to_thread(self._create_job_container, prepared)
        if self.spec.network is not None:
            self.container.reload()
            pid = self.container.attrs["State"]["Pid"]
            await self.spec.network.attach(Path(f"/proc/{pid}/ns/net"))
            self._attached = True

    # -- steps ------------------------------------------------------------------------------

    async def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str,
        stdin: bytes | None = None,
        container: str | None = None,
    ) -> Process:
        if self._closed or self.container is None:
            raise ExecutorError("docker executor: the job's containers are gone")
        target = self.container if container is None else self.services.get(container)
        if target is None:
            raise ExecutorError(f"docker executor: no service container {container!r} in this job")
        if not argv:
            raise ExecutorError("docker executor: empty command")
        if self.ex.chown_uid is not None:
            await asyncio.to_thread(chown_tree, self.spec.temp, self.ex.chown_uid, self.ex.chown_gid)
        import docker

        try:
            proc = await DockerExecProcess.start(
                self.api, target.id, argv, env=self.ex.envfilter.apply(env), cwd=cwd, stdin=stdin, user=None
            )
        except docker.errors.APIError as e:
            state = await asyncio.to_thread(self._state, target)
            raise ExecutorError(f"{self.ex.name} executor: cannot run in {target.name}: {e.explanation} {state}") from None
        self.procs.append(proc)
        return proc

    @staticmethod
    def _state(ctr: Any) -> str:
        try:
            ctr.reload()
            st = ctr.attrs["State"]
        except Exception:  # gone entirely
            return "(container gone)"
        return f"(state {st.get('Status')}, exit code {st.get('ExitCode')}, OOM-killed {st.get('OOMKilled')})"

    # -- teardown ---------------------------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for p in self.procs:
                p.close()
            await asyncio.to_thread(remove_labelled, self.client, {LABEL_JOB: self.spec.job_id, LABEL_OWNER: owner_label()})
        finally:
            if self._attached and self.spec.network is not None:
                await self.spec.network.detach()

    async def __aenter__(self) -> "DockerJob":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def remove_labelled(client: Any, labels: Mapping[str, str]) -> list[str]:
    """Remove every container, then network, then volume carrying all these labels."""
    import docker

    flt = {"label": [f"{k}={v}" for k, v in labels.items()]}
    gone: list[str] = []
    for c in client.containers.list(all=True, filters=flt):
        try:
            c.remove(force=True, v=True)
            gone.append(f"container {c.name}")
        except docker.errors.NotFound:
            pass
    for n in client.networks.list(filters=flt):
        try:
            n.remove()
            gone.append(f"network {n.name}")
        except docker.errors.NotFound:
            pass
    for v in client.volumes.list(filters=flt):
        try:
            v.remove(force=True)
            gone.append(f"volume {v.name}")
        except docker.errors.NotFound:
            pass
    return gone


def sweep_orphans(client: Any | None = None) -> list[str]:
    """Remove what dead workers of this host left (owner label names a pid that is gone)."""
    client = client or _client()
    host = socket.gethostname()
    owners: set[str] = set()
    listers = (
        lambda f: client.containers.list(all=True, filters=f),
        lambda f: client.networks.list(filters=f),
        lambda f: client.volumes.list(filters=f),
    )
    for lister in listers:
        for obj in lister({"label": LABEL_OWNER}):
            owners.add((obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}).get(LABEL_OWNER, ""))
    gone: list[str] = []
    for owner in owners:
        h, _, pid = owner.rpartition(":")
        if h != host or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        gone += remove_labelled(client, {LABEL_OWNER: owner})
    return gone


class DockerExecutor:
    """Settings: `image` (jobs without `container:`), `allowed_images` globs, `volumes` (added to
    every job container), `writable_volumes`, `cap_add` (what `--cap-add` may ask for), `dns`,
    `runtime`, `read_only_rootfs`, `network_internal`, `subnet_pool` (e.g. 198.18.0.0/16),
    `container_user` (uid:gid inside; default: the host's job user, so files line up),
    `allow_root`, `env_denylist`, `limits`, `state_dir` and `protected_paths` (never mountable)."""

    name = "docker"
    min_pids: int | None = None

    def __init__(
        self,
        image: str | None = None,
        allowed_images: Sequence[str] = (),
        volumes: Sequence[str] = (),
        writable_volumes: Sequence[str] = (),
        cap_add: Iterable[str] = (),
        dns: Sequence[str] = (),
        runtime: str | None = None,
        read_only_rootfs: bool = False,
        network_internal: bool = True,
        subnet_pool: str | None = None,
        container_user: str | None = None,
        allow_root: bool = False,
        env_denylist: Iterable[str] = (),
        limits: Limits | Mapping[str, Any] | None = None,
        state_dir: str | None = None,
        protected_paths: Sequence[str] = (),
    ) -> None:
        self.image = image
        self.allowed_images = list(allowed_images)
        self.writable_volumes = list(writable_volumes)
        self.protected = [*protected_paths, *([state_dir] if state_dir else [])]
        self.volumes = parse_volumes(volumes, self.writable_volumes, self.protected)
        self.cap_add = frozenset(c.upper().removeprefix("CAP_") for c in cap_add)
        self.dns = list(dns)
        for d in self.dns:
            try:
                ipaddress.ip_address(d)
            except ValueError:
                raise ExecutorError(f"docker executor setting dns: {d!r} is not an IP address") from None
        self.runtime = runtime
        self.read_only_rootfs = read_only_rootfs
        self.network_internal = network_internal
        if subnet_pool is not None:
            try:
                ipaddress.ip_network(subnet_pool)
            except ValueError as e:
                raise ExecutorError(f"docker executor setting subnet_pool: {e}") from None
        self.subnet_pool = subnet_pool
        self.allow_root = allow_root
        self.container_user, self.chown_uid, self.chown_gid = self._container_user(container_user)
        self.envfilter = EnvFilter(env_denylist)
        self.limits = parse_limits(limits)
        self._client: Any = None
        self._info: dict[str, Any] | None = None

    def _container_user(self, setting: str | None) -> tuple[str, int | None, int | None]:
        import pwd

        if setting is None:
            try:
                pw = pwd.getpwnam("ghr-job")
                setting = f"{pw.pw_uid}:{pw.pw_gid}"
            except KeyError:
                setting = "1001:1001"
        uid_s, _, gid_s = setting.partition(":")
        if not uid_s.isdigit() or (gid_s and not gid_s.isdigit()):
            raise ExecutorError(f"docker executor setting container_user: {setting!r} must be numeric UID[:GID]")
        uid, gid = int(uid_s), int(gid_s or uid_s)
        if uid == 0 and not self.allow_root:
            raise ExecutorError("docker executor: container_user 0 (root) needs allow_root = true")
        if os.geteuid() != 0:  # cannot hand the work dirs over; they stay the runner's
            return setting, None, None
        return setting, uid, gid

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client()
        return self._client

    def info(self) -> dict[str, Any]:
        if self._info is None:
            try:
                self._info = self.client.info()
            except Exception as e:  # the SDK raises requests' errors for a dead socket
                raise ExecutorError(
                    f"docker executor: dockerd does not answer ({e}): start it (.ci/setup.d/20-dockerd.sh)"
                ) from None
        return self._info

    def default_image(self) -> str:
        if self.image:
            return self.image
        from github_runner.executors.images import debian_ref

        return debian_ref()

    def check(self) -> list[str]:
        try:
            info = self.info()
        except ExecutorError as e:
            return [str(e)]
        missing = []
        if self.runtime and self.runtime not in (info.get("Runtimes") or {}):
            missing.append(f"runtime {self.runtime!r} is not registered with dockerd")
        return missing

    def _prepare(self, spec: JobSpec) -> Prepared:
        """All validation, no side effects: a refused job leaves nothing behind."""
        image = spec.container.image if spec.container else self.default_image()
        check_image(image, self.allowed_images)
        opts = parse_options(spec.container.options if spec.container else "", self.cap_add)
        if opts.user in ("0", "root") and not self.allow_root:
            raise ExecutorError("container options: --user root is refused (set allow_root = true)")
        taken = [v.target for v in self.volumes]
        vols = [*self.volumes, *parse_volumes(
            spec.container.volumes if spec.container else (), self.writable_volumes, self.protected, taken)]
        services = {}
        for key, svc in spec.services.items():
            check_image(svc.image, self.allowed_images, f"allowed_images (service {key})")
            s_opts = parse_options(svc.options, self.cap_add)
            services[key] = (svc, s_opts, parse_volumes(svc.volumes, self.writable_volumes, self.protected))
        limits = merge(self.limits, spec.limits)
        if self.runtime and self.runtime not in (self.info().get("Runtimes") or {}):
            raise ExecutorError(
                f"docker executor setting runtime: {self.runtime!r} is not registered with dockerd; "
                "add it to /etc/docker/daemon.json `runtimes` (see .ci/setup.d/20-dockerd.sh) and restart dockerd"
            )
        return Prepared(image, opts, vols, services, limits)

    def _ensure_images(self, prepared: Prepared) -> None:
        import docker

        for ref in {prepared.image, *(s.image for s, _, _ in prepared.services.values())}:
            try:
                self.client.images.get(ref)
            except docker.errors.ImageNotFound:
                try:
                    self.client.images.pull(ref)
                except docker.errors.DockerException as e:
                    raise ExecutorError(f"image {ref!r} is not on this host and pulling it failed: {e}") from None

    async def prepare(self, spec: JobSpec) -> DockerJob:
        prepared = self._prepare(spec)
        await asyncio.to_thread(self.info)
        await asyncio.to_thread(self._ensure_images, prepared)
        (spec.work_dir / "_home").mkdir(exist_ok=True)  # $HOME inside: /__w/_home
        if self.chown_uid is not None:
            for d in {spec.work_dir, spec.workspace, spec.temp, spec.tool_cache}:
                await asyncio.to_thread(chown_tree, d, self.chown_uid, self.chown_gid)
        job = DockerJob(self, spec)
        try:
            await job.start(prepared)
        except BaseException as e:
            await job.close()
            import docker

            if isinstance(e, docker.errors.DockerException):
                raise ExecutorError(f"docker executor: {e}") from None
            raise
        return job
