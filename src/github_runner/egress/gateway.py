"""The per-job egress gateway: a namespace the runner owns between the job and the world.

    job netns ──veth(grTj│grTg)── gateway netns gr-T-gw ──veth(grTu│grTh)── uplink namespace
                                  nft table inet gr, DNS proxy sockets, NFLOG

The job namespace's only link is the veth into the gateway, so rules and proxy are out of the
job's reach even when it is root in its own user namespace. Every resource is recorded in a
state file *before* it is created, so `sweep_stale()` at runner start removes whatever a crash
left behind, by name prefix. `start()` either returns a working gateway or removes everything
it made and raises: block mode never runs a job behind half a gateway.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import os
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from msgspec import Struct

from github_runner.egress import detect, health, hostguard, linkopts, nflog, nftset, ruleset
from github_runner.egress.audit import AuditLog
from github_runner.egress.dnsproxy import DNSProxy, NameHistory, Upstream
from github_runner.egress.netns import (
    CommandError,
    list_netns,
    netns_path,
    run,
    run_in_netns,
    write_sysctl,
)
from github_runner.egress.nft import Nft
from github_runner.egress.policy import EffectivePolicy, is_private

PREFIX = "gr-"
STATE_DIR = Path(os.environ.get("GITHUB_RUNNER_EGRESS_STATE", "/run/github-runner/egress"))
DEDUPE_SECONDS = 2.0
OWNER_ALIAS = "gr-owner-pid:"
ORPHAN_GRACE = 60.0  # seconds a state-less gateway namespace is left alone (it may be starting)


class GatewayError(RuntimeError):
    """The gateway could not be set up; the job must not start."""


class Addressing(Struct, frozen=True):
    gw4: str
    job4: str
    gw6: str
    job6: str
    prefix4: int
    prefix6: int
    up_gw4: str
    up_peer4: str
    up_gw6: str
    up_peer6: str


def plan_addresses(policy: EffectivePolicy, slot: int) -> Addressing:
    s = policy.settings
    link4, link6 = ipaddress.ip_network(s.link4), ipaddress.ip_network(s.link6)
    pool4, pool6 = ipaddress.ip_network(s.uplink_pool4), ipaddress.ip_network(s.uplink_pool6)
    base4 = int(pool4.network_address) + slot * 4
    base6 = int(pool6.network_address) + slot * 4
    return Addressing(
        gw4=str(link4.network_address + 1),
        job4=str(link4.network_address + 2),
        gw6=str(link6.network_address + 1),
        job6=str(link6.network_address + 2),
        prefix4=link4.prefixlen,
        prefix6=link6.prefixlen,
        up_peer4=str(ipaddress.IPv4Address(base4 + 1)),
        up_gw4=str(ipaddress.IPv4Address(base4 + 2)),
        up_peer6=str(ipaddress.IPv6Address(base6 + 1)),
        up_gw6=str(ipaddress.IPv6Address(base6 + 2)),
    )


def slot_count(policy: EffectivePolicy) -> int:
    s = policy.settings
    return min(
        ipaddress.ip_network(s.uplink_pool4).num_addresses // 4,
        ipaddress.ip_network(s.uplink_pool6).num_addresses // 4,
        65536,
    )


class Gateway:
    def __init__(
        self,
        job_netns: str | Path,
        policy: EffectivePolicy,
        audit: AuditLog,
        upstream: tuple[str, int],
        state_dir: Path | None = None,
    ) -> None:
        if policy.mode not in ("audit", "block"):
            raise GatewayError(f"no gateway for egress mode {policy.mode!r}")
        self.job_netns = Path(job_netns)
        self.policy = policy
        self.audit = audit
        self.upstream_addr = upstream
        self.state_dir = state_dir or STATE_DIR
        self.token = secrets.token_hex(4)
        self.gw_name = f"{PREFIX}{self.token}-gw"
        self.job_if, self.gwj_if = f"gr{self.token}j", f"gr{self.token}g"
        self.up_if, self.host_if = f"gr{self.token}u", f"gr{self.token}h"
        self.slot: int | None = None
        self.addr: Addressing | None = None
        self.nft: Nft | None = None
        self.history = NameHistory()
        self.proxy: DNSProxy | None = None
        self.upstream: Upstream | None = None
        self._socks: list[socket.socket] = []
        self._nflog: socket.socket | None = None
        self._recent: dict[tuple[Any, ...], float] = {}
        self._admitted: dict[tuple[str, str, Any], float] = {}
        self._setw: nftset.SetWriter | None = None
        self.setup_seconds = 0.0
        self.started = False
        self.job_ipv6 = True
        self.watchdog: health.Watchdog | None = None
        self.side_subnets: list[str] = []  # the job's other links (a Docker bridge), guarded on the host
        self.failure: tuple[str, str] | None = None  # (component, reason) of a mid-job failure
        self.sealed = False  # block mode after a failure: the job's link is down
        # told about a mid-job failure (the hook turns it into an annotation and a failed job)
        self.on_failure: Callable[[str, str], Awaitable[None]] | None = None

    # --- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        t0 = time.perf_counter()
        try:
            await self._start()
        except BaseException as exc:
            await self.stop(reason="setup failed")
            if isinstance(exc, (CommandError, OSError, RuntimeError, ValueError)):
                raise GatewayError(f"egress gateway for {self.job_netns}: {exc}") from exc
            raise
        self.setup_seconds = time.perf_counter() - t0
        self.started = True
        s = self.policy.settings
        self.audit.write(
            "lifecycle", "job_start", gateway=self.gw_name, upstream=f"{self.upstream_addr[0]}:{self.upstream_addr[1]}",
            allow=self.policy.allow.canonical(), setup_ms=round(self.setup_seconds * 1000, 1),
            ttl_floor=s.ttl_floor,
        )

    async def _start(self) -> None:
        if not self.job_netns.exists():
            raise GatewayError(f"job network namespace {self.job_netns} does not exist")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.slot = self._claim_slot()
        self.addr = a = plan_addresses(self.policy, self.slot)
        uplink = self.policy.settings.uplink_netns
        self._write_state(uplink)
        await run(["ip", "netns", "add", self.gw_name])
        up_ip = ["ip", "-n", uplink] if uplink else ["ip"]
        await run([*up_ip, "-b", "-"], stdin=(
            f"link add {self.host_if} type veth peer name {self.up_if} netns {self.gw_name}\n"
            f"addr add {a.up_peer4}/30 dev {self.host_if}\n"
            f"addr add {a.up_peer6}/126 dev {self.host_if} nodad\n"
            f"link set {self.host_if} addrgenmode none up\n"
        ))
        # Docker disables IPv6 in its containers: the job then simply has no IPv6 (never unfiltered)
        self.job_ipv6 = run_in_netns(self.job_netns, _ipv6_enabled)
        await run(["nsenter", f"--net={self.job_netns}", "ip", "-b", "-"], stdin=(
            f"link add {self.job_if} type veth peer name {self.gwj_if} netns {self.gw_name}\n"
            "link set lo up\n"
            f"addr add {a.job4}/{a.prefix4} dev {self.job_if}\n"
            + (f"addr add {a.job6}/{a.prefix6} dev {self.job_if} nodad\n" if self.job_ipv6 else "")
            + f"link set {self.job_if} addrgenmode none up\n"
            f"route replace default via {a.gw4}\n"  # Docker may have put its own there
            + (f"route replace default via {a.gw6}\n" if self.job_ipv6 else "")
        ))
        # a Docker job's bridge (services) must not be a way around the gateway, to the host or out
        self.side_subnets = await hostguard.side_subnets(str(self.job_netns), {self.job_if})
        if self.side_subnets:
            hostguard.install(self.token, self.side_subnets)
        await run(["ip", "-n", self.gw_name, "-b", "-"], stdin=(
            f"link set lo up alias {OWNER_ALIAS}{os.getpid()}\n"  # the owner, for sweeps
            f"addr add {a.gw4}/{a.prefix4} dev {self.gwj_if}\n"
            f"addr add {a.gw6}/{a.prefix6} dev {self.gwj_if} nodad\n"
            f"link set {self.gwj_if} addrgenmode none up\n"
            f"addr add {a.up_gw4}/30 dev {self.up_if}\n"
            f"addr add {a.up_gw6}/126 dev {self.up_if} nodad\n"
            f"link set {self.up_if} addrgenmode none up\n"
            f"route add default via {a.up_peer4}\n"
            f"route add default via {a.up_peer6}\n"
        ))
        gw_path = netns_path(self.gw_name)
        # bigger GSO/GRO packets on all four links: the hop costs per packet (best effort)
        run_in_netns(self.job_netns, lambda: linkopts.set_big_packets([self.job_if]))
        run_in_netns(gw_path, lambda: linkopts.set_big_packets([self.gwj_if, self.up_if]))
        if uplink:
            run_in_netns(netns_path(uplink), lambda: linkopts.set_big_packets([self.host_if]))
        else:
            linkopts.set_big_packets([self.host_if])
        write_sysctl(gw_path, "net.ipv4.ip_forward", "1")
        write_sysctl(gw_path, "net.ipv6.conf.all.forwarding", "1")
        self.nft = Nft(gw_path)
        self.nft.run(ruleset.render_ruleset(self._plan()))
        self._socks, self._nflog = run_in_netns(gw_path, self._open_sockets)
        self.upstream = Upstream(*self.upstream_addr)
        await self.upstream.start()
        self.proxy = DNSProxy(self.policy, self.audit, self.upstream, self._admit, self.history)
        udp = [s for s in self._socks if s.type == socket.SOCK_DGRAM]
        tcp = [s for s in self._socks if s.type == socket.SOCK_STREAM]
        await self.proxy.serve(udp, tcp)
        asyncio.get_running_loop().add_reader(self._nflog.fileno(), self._read_nflog)
        self.proxy.probe_name = health.probe_name()
        self.watchdog = health.Watchdog(gw_path, self.gwj_if, [a.gw4, a.gw6], self.proxy.probe_name,
                                        self._failed)
        self.watchdog.start()
        self.proxy.on_broken = self._proxy_broken

    def _plan(self) -> ruleset.RulesetPlan:
        assert self.addr is not None
        a, s = self.addr, self.policy.settings
        deny = list(s.deny_metadata) + [a.up_peer4, a.up_peer6]
        deny += [str(r.network) for r in self.policy.deny.rules if r.network is not None]
        return ruleset.RulesetPlan(
            mode=self.policy.mode, job_if=self.gwj_if, uplink_if=self.up_if,
            gw4=a.gw4, gw6=a.gw6, job4=a.job4, job6=a.job6,
            static=self.policy.allow.address_rules(),
            deny4=[d for d in deny if ":" not in d], deny6=[d for d in deny if ":" in d],
            deny_private=s.deny_private, log_rate=s.log_rate,
        )

    def _open_sockets(self) -> tuple[list[socket.socket], socket.socket]:
        assert self.addr is not None
        socks: list[socket.socket] = []
        try:
            for family, host in ((socket.AF_INET, self.addr.gw4), (socket.AF_INET6, self.addr.gw6)):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(family, kind)
                    socks.append(s)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if family == socket.AF_INET6:
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: the v6 address may be settling
                    s.bind((host, 53))
                    if kind == socket.SOCK_STREAM:
                        s.listen(64)
                    s.setblocking(False)
            self._setw = nftset.SetWriter(ruleset.TABLE)
            return socks, nflog.open_socket(ruleset.NFLOG_GROUP)
        except BaseException:
            for s in socks:
                s.close()
            raise

    async def check(self) -> tuple[str, str] | None:
        """A last health check at job end: a part that died in the last second still counts."""
        if self.watchdog is None or not self.started:
            return self.failure
        return await self.watchdog.check(final=True)

    def _proxy_broken(self, reason: str) -> None:
        if self.watchdog is not None:
            self.watchdog.report("dns_proxy", reason)

    async def _failed(self, component: str, reason: str) -> None:
        """A gateway part stopped working mid-job. Block mode never fails open: the job's link
        goes down (the table may be the part that is gone) before anyone is told."""
        self.failure = (component, reason)
        action = "blocked" if self.policy.mode == "block" else "logged"
        if self.policy.mode == "block":
            reason += "; the job's network is cut off"
            try:
                await self.seal()
            except (CommandError, OSError) as exc:
                reason += f" (sealing failed: {exc})"
        self.audit.write("lifecycle", "error", kind="gateway_failure", component=component, action_taken=action,
                         reason=reason)
        if self.on_failure is not None:
            await self.on_failure(component, reason)

    async def seal(self) -> None:
        """Take the job's link down and stop forwarding: nothing passes whatever the rules say."""
        gw_path = netns_path(self.gw_name)
        write_sysctl(gw_path, "net.ipv4.ip_forward", "0")
        write_sysctl(gw_path, "net.ipv6.conf.all.forwarding", "0")
        out = await run(["ip", "-n", self.gw_name, "-o", "link", "show"])
        if self.gwj_if in out:  # else the job's namespace (and with it the link) is gone already
            await run(["ip", "-n", self.gw_name, "link", "set", self.gwj_if, "down"])
        self.sealed = True

    async def stop(self, reason: str = "job end") -> None:
        """Remove everything; safe to call twice and after a partial start."""
        if self.watchdog is not None:
            await self.watchdog.stop()
            self.watchdog = None
        if self._nflog is not None:
            try:
                self._read_nflog()  # drain what the job's last packets logged
                asyncio.get_running_loop().remove_reader(self._nflog.fileno())
            except (RuntimeError, ValueError, OSError):
                pass
        suppressed = self._suppressed()
        if self.proxy is not None:
            await self.proxy.close()
            self.proxy = None
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
        for s in self._socks:
            s.close()
        self._socks = []
        if self._nflog is not None:
            self._nflog.close()
            self._nflog = None
        if self._setw is not None:
            self._setw.close()
            self._setw = None
        if self.nft is not None:
            self.nft.close()
            self.nft = None
        await remove_gateway(self.token, self.policy.settings.uplink_netns, self.state_dir)
        if self.started:
            self.started = False
            counts = {k: v for k, v in sorted(self.audit.counts.items())}
            self.audit.write("lifecycle", "job_end", reason=reason, counts=counts, log_suppressed=suppressed)

    def _suppressed(self) -> int:
        if self.nft is None:
            return 0
        try:
            out = self.nft.run(f"list counter inet {ruleset.TABLE} suppressed")
        except RuntimeError:
            return 0
        m = re.search(r"packets (\d+)", out)
        return int(m.group(1)) if m else 0

    # --- set admission and connection records ------------------------------------------------

    def _admit(self, addrs: list[str], proto_ports: Sequence[tuple[str, Any]], timeout: int) -> None:
        now = time.monotonic()
        todo = []
        for addr in addrs:
            for proto, ports in proto_ports:
                key = (addr, proto, ports)
                if self._admitted.get(key, 0) - now > timeout / 2:
                    continue
                todo.append((addr, proto, ports))
                self._admitted[key] = now + timeout
        if not todo or self.nft is None:
            if self.nft is None:
                raise RuntimeError("gateway is stopped")
            return
        if self._setw is not None:
            groups: dict[str, list[bytes]] = {}
            for addr, proto, ports in todo:
                for port in (range(ports[0], ports[1] + 1) if ports is not None else (None,)):
                    version, k = nftset.key(addr, proto, port)
                    groups.setdefault(f"{'allow' if port is not None else 'any'}{version}", []).append(k)
            try:
                for set_name, keys in groups.items():
                    self._setw.add(set_name, keys, timeout)
                return
            except OSError as exc:  # fall back to libnftables (slower, same result)
                self.audit.write("lifecycle", "error", reason=f"raw set update failed, using nft: {exc}")
                self._setw.close()
                self._setw = None
        cmds = [ruleset.set_elements([a], [(p, ports)], timeout) for a, p, ports in todo]
        self.nft.run("\n".join(cmds))

    def _read_nflog(self) -> None:
        if self._nflog is None:
            return
        while True:
            try:
                data = self._nflog.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    self.audit.write("lifecycle", "error", reason="NFLOG buffer overrun; records lost")
                    continue
                return
            for pkt in nflog.parse_messages(data):
                self._on_packet(pkt)

    def _on_packet(self, pkt: nflog.LoggedPacket) -> None:
        kind = next((k for k, p in ruleset.PREFIXES.items() if p.strip() == pkt.prefix), None)
        if kind is None:
            return
        key = (kind, pkt.proto, pkt.src, pkt.sport, pkt.dst, pkt.dport, pkt.icmp_type)
        now = time.monotonic()
        if now - self._recent.get(key, -1e9) < DEDUPE_SECONDS:
            return
        self._recent[key] = now
        if len(self._recent) > 4096:
            self._recent = {k: v for k, v in self._recent.items() if now - v < DEDUPE_SECONDS}
        common: dict[str, Any] = dict(ts=pkt.ts, family=pkt.family, proto=pkt.proto, src=pkt.src, sport=pkt.sport,
                      dst=pkt.dst, dport=pkt.dport, icmp_type=pkt.icmp_type)
        if kind == "redirect":
            self.audit.write("dns", "redirected", reason=f"query to {pkt.dst}:{pkt.dport} sent to the proxy",
                             resolver=pkt.dst, **common)
            return
        names = self.history.names(pkt.dst, before=pkt.ts)
        action, reason = {
            "allow": ("allowed", None),
            "audit": ("logged", None),
            "block": ("blocked", "not in allowlist"),
            "deny": ("blocked", "always-deny"),
            "private": ("blocked", "private range"),
            "input": ("blocked", "gateway port"),
        }[kind]
        private = is_private(pkt.dst) or None
        self.audit.write("connection", action, names=names, direct_ip=not names, private=private,
                         reason=reason, **common)
        for det_kind, reasons in detect.connection_reasons(pkt.proto, pkt.dport):
            self.audit.write("detection", action, ts=pkt.ts, kind=det_kind, severity="high",
                             dst=pkt.dst, dport=pkt.dport, names=names, reasons=reasons)

    # --- state files, slots ------------------------------------------------------------------

    def _claim_slot(self) -> int:
        total = slot_count(self.policy)
        start = secrets.randbelow(total)
        for i in range(total):
            n = (start + i) % total
            try:
                fd = os.open(self.state_dir / f"slot-{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                continue
            os.write(fd, self.token.encode())
            os.close(fd)
            return n
        raise GatewayError(f"all {total} uplink slots in use (egress.uplink_pool4/6)")

    def _write_state(self, uplink: str | None) -> None:
        data = {"pid": os.getpid(), "token": self.token, "slot": self.slot, "uplink_netns": uplink,
                "job_netns": str(self.job_netns), "created": time.time()}
        (self.state_dir / f"{self.token}.json").write_text(json.dumps(data))


def _ipv6_enabled() -> bool:
    try:
        with open("/proc/sys/net/ipv6/conf/default/disable_ipv6", encoding="ascii") as fh:
            return fh.read().strip() == "0"
    except OSError:
        return False


async def remove_gateway(token: str, uplink: str | None, state_dir: Path) -> None:
    """Delete one gateway's namespace (its veths go with it), slot and state file."""
    name = f"{PREFIX}{token}-gw"
    if name in list_netns():
        await run(["ip", "netns", "del", name], check=False)
    up_ip = ["ip", "-n", uplink] if uplink else ["ip"]
    # the host end normally dies with its peer; remove it if a crash split them
    await run([*up_ip, "link", "del", f"gr{token}h"], check=False)
    hostguard.remove(token)
    state = state_dir / f"{token}.json"
    slot = None
    try:
        slot = json.loads(state.read_text()).get("slot")
    except (OSError, ValueError):
        pass
    if slot is not None:
        slot_file = state_dir / f"slot-{slot}"
        try:
            if slot_file.read_text() == token:
                slot_file.unlink()
        except OSError:
            pass
    state.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def sweep_stale(state_dir: Path | None = None) -> list[str]:
    """Remove gateways whose owner process is gone, and `gr-*-gw` namespaces with no owner."""
    state_dir = state_dir or STATE_DIR
    removed: list[str] = []
    owned: set[str] = set()
    if state_dir.is_dir():
        for state in state_dir.glob("*.json"):
            try:
                data = json.loads(state.read_text())
                token, pid = str(data["token"]), int(data["pid"])
            except (OSError, ValueError, KeyError):
                state.unlink(missing_ok=True)
                continue
            if _alive(pid) and pid != os.getpid():
                owned.add(token)
                continue
            if pid == os.getpid():
                owned.add(token)
                continue
            await remove_gateway(token, data.get("uplink_netns"), state_dir)
            removed.append(f"{PREFIX}{token}-gw")
        for slot_file in state_dir.glob("slot-*"):
            try:  # a slot is claimed just before its state file is written: leave young ones
                young = time.time() - slot_file.stat().st_mtime < 60
                if not young and slot_file.read_text() not in owned:
                    slot_file.unlink()
            except OSError:
                pass
    for name in list_netns():
        m = re.fullmatch(rf"{PREFIX}([0-9a-f]{{8}})-gw", name)
        if m and m.group(1) not in owned and not await _owned_elsewhere(name):
            await run(["ip", "netns", "del", name], check=False)
            removed.append(name)
    try:  # guard tables whose gateway is gone (a crash between the two removals)
        alive = set(list_netns())
        for token in hostguard.tokens():
            if token not in owned and f"{PREFIX}{token}-gw" not in alive:
                hostguard.remove(token)
                removed.append(hostguard.table_name(token))
    except RuntimeError:  # no libnftables: there can be no guard tables either
        pass
    return sorted(set(removed))


async def _owned_elsewhere(name: str) -> bool:
    """A gateway with no state file here may belong to a runner with another state dir: its
    namespace names its owner (lo's alias); a namespace younger than a minute may not yet."""
    try:
        if time.time() - (Path("/run/netns") / name).stat().st_mtime < ORPHAN_GRACE:
            return True
    except OSError:
        return False
    out = await run(["ip", "-n", name, "-o", "link", "show", "lo"], check=False)
    m = re.search(rf"alias {OWNER_ALIAS}(\d+)", out)
    return m is not None and _alive(int(m.group(1)))
