"""Gateway life cycle: nothing left behind, fail closed, stale sweep (§7 cases 31, 32, 36, 42)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from github_runner.egress import gateway as gateway_mod
from github_runner.egress import hostguard
from github_runner.egress.gateway import Gateway, GatewayError, sweep_stale
from github_runner.egress.netns import list_netns
from tests.integration.egress.conftest import World, dns_query, in_job, make_gateway, records, sh, tcp_connect


def links(netns: str) -> str:
    return sh("ip", "-n", netns, "-o", "link")


def test_36_everything_removed_at_job_end(world: World, job: Path, tmp_path: Path) -> None:
    async def main() -> Gateway:
        gw = make_gateway(world, job, tmp_path, "block", ["allowed.example:80"])
        await gw.start()
        assert gw.gw_name in list_netns() and gw.job_if in links(job.name) and gw.host_if in links(world.netns)
        await gw.stop()
        await gw.stop()  # idempotent
        return gw

    gw = asyncio.run(main())
    assert gw.gw_name not in list_netns()
    assert gw.job_if not in links(job.name) and gw.host_if not in links(world.netns)
    assert list((tmp_path / "state").iterdir()) == []
    assert "gr" not in sh("nft", "list", "tables").split()  # nothing in the runner's namespace


def test_36_removed_when_the_job_is_cancelled(world: World, job: Path, tmp_path: Path) -> None:
    async def job_body(gw: Gateway) -> None:
        await gw.start()
        try:
            await asyncio.sleep(30)
        finally:
            await gw.stop(reason="cancelled")

    async def main() -> Gateway:
        gw = make_gateway(world, job, tmp_path, "audit", [])
        task = asyncio.create_task(job_body(gw))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return gw

    gw = asyncio.run(main())
    assert gw.gw_name not in list_netns() and list((tmp_path / "state").iterdir()) == []
    assert [r["reason"] for r in gw.audit.records if r["action"] == "job_end"] == ["cancelled"]


def test_32_setup_failure_refuses_and_cleans_up(world: World, job: Path, tmp_path: Path) -> None:
    async def main() -> Gateway:
        gw = make_gateway(world, job, tmp_path, "block", ["allowed.example"], uplink_netns="grt-missing-uplink")
        with pytest.raises(GatewayError, match="grt-missing-uplink"):
            await gw.start()
        return gw

    gw = asyncio.run(main())
    assert gw.gw_name not in list_netns()
    assert list((tmp_path / "state").iterdir()) == []
    assert gw.job_if not in links(job.name)

    async def missing_job() -> None:
        gw2 = make_gateway(world, Path("/run/netns/grt-no-such-job"), tmp_path, "block", [])
        with pytest.raises(GatewayError, match="does not exist"):
            await gw2.start()

    asyncio.run(missing_job())


async def _wait_failure(gw: Gateway, seconds: float = 8.0) -> tuple[str, str]:
    for _ in range(int(seconds * 10)):
        if gw.failure is not None:
            return gw.failure
        await asyncio.sleep(0.1)
    raise AssertionError("the watchdog did not notice the failure")


def test_31_proxy_sockets_destroyed_mid_job_block(world: World, job: Path, tmp_path: Path) -> None:
    """`ss -K` destroys the proxy's sockets in the gateway namespace: the watchdog notices, the
    job's link is cut (even already admitted addresses stop working) and the failure is told."""
    told: list[tuple[str, str]] = []

    async def main() -> None:
        gw = make_gateway(world, job, tmp_path, "block", ["allowed.example:80"])

        async def on_failure(component: str, reason: str) -> None:
            told.append((component, reason))

        gw.on_failure = on_failure
        await gw.start()
        try:
            assert (await in_job(job, dns_query, gw.addr.gw4, "allowed.example")).answers
            assert (await in_job(job, tcp_connect, world.ip4(10), 80)).startswith("ok:")
            await asyncio.sleep(1.5)
            assert gw.failure is None  # healthy probes do not trip it
            sh("ip", "netns", "exec", gw.gw_name, "ss", "-K", "-u", "-t", "-l", "sport", "=", ":53")
            component, reason = await _wait_failure(gw)
            assert component == "dns_proxy" and "UDP socket" in reason and "abort" in reason, reason
            assert gw.sealed
            with pytest.raises(OSError):
                await in_job(job, dns_query, gw.addr.gw4, "allowed.example", timeout=1)
            assert not (await in_job(job, tcp_connect, world.ip4(10), 80, timeout=1)).startswith("ok:")
        finally:
            await gw.stop()
        errors = records(gw, "lifecycle", "error")
        assert [r["kind"] for r in errors] == ["gateway_failure"] and "cut off" in errors[0]["reason"]

    asyncio.run(main())
    assert told and told[0][0] == "dns_proxy"


def test_31_nft_table_deleted_mid_job_block_seals(world: World, job: Path, tmp_path: Path) -> None:
    """Without its table the gateway would forward unfiltered: it must cut the link instead."""
    async def main() -> None:
        gw = make_gateway(world, job, tmp_path, "block", ["allowed.example:80"])
        await gw.start()
        try:
            sh("ip", "netns", "exec", gw.gw_name, "nft", "delete", "table", "inet", "gr")
            component, reason = await _wait_failure(gw)
            assert component == "nftables", reason
            assert await in_job(job, tcp_connect, world.ip4(20), 80, timeout=1) != f"ok:hello from {world.ip4(20)}:80"
        finally:
            await gw.stop()

    asyncio.run(main())


def test_31_rules_changed_mid_job_audit_reports(world: World, job: Path, tmp_path: Path) -> None:
    """Audit mode does not enforce anything, so it reports the failure and keeps the link up."""
    async def main() -> None:
        gw = make_gateway(world, job, tmp_path, "audit", [])
        await gw.start()
        try:
            sh("ip", "netns", "exec", gw.gw_name, "nft", "flush", "chain", "inet", "gr", "forward")
            component, _ = await _wait_failure(gw)
            assert component == "nftables" and not gw.sealed
            assert (await in_job(job, dns_query, gw.addr.gw4, "allowed.example")).answers  # link up
        finally:
            await gw.stop()
        assert [r["action_taken"] for r in records(gw, "lifecycle", "error")] == ["logged"]

    asyncio.run(main())


def test_42_stale_gateways_swept_at_start(world: World, job: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    for name in ("gr-0badc0de-gw", "gr-0000beef-gw"):  # a failed earlier run may have left them
        sh("ip", "netns", "del", name, check=False)
    # a crashed runner's gateway: state file with a dead pid, its namespace and a veth
    sh("ip", "netns", "add", "gr-0badc0de-gw")
    sh("ip", "-n", "gr-0badc0de-gw", "link", "add", "gr0badc0deu", "type", "veth", "peer", "name", "gr0badc0deg")
    (state / "0badc0de.json").write_text(json.dumps({"pid": dead.pid, "token": "0badc0de", "slot": 5,
                                                     "uplink_netns": world.netns}))
    (state / "slot-5").write_text("0badc0de")
    os.utime(state / "slot-5", (0, 0))
    # an orphan namespace with no state file at all (older than the grace period, set to 0 here)
    sh("ip", "netns", "add", "gr-0000beef-gw")
    monkeypatch.setattr(gateway_mod, "ORPHAN_GRACE", 0.0)
    # host guard tables (Docker jobs' bridges): one of the crashed gateway, one alone
    hostguard.install("0badc0de", ["198.18.77.0/24"])
    hostguard.install("0000cafe", ["198.18.78.0/24"])

    async def main() -> list[str]:
        live = make_gateway(world, job, tmp_path, "audit", [])
        await live.start()
        # a live gateway of another runner (another state dir): kept, its namespace names its owner
        other_dir = tmp_path / "other"
        other = Gateway(job, live.policy, live.audit, world.upstream, state_dir=other_dir)
        other_job = subprocess.run(["ip", "netns", "add", "grt-other-job"], check=True)
        other.job_netns = Path("/run/netns/grt-other-job")
        try:
            await other.start()
            removed = await sweep_stale(state)
            assert live.gw_name in list_netns()  # our own live gateway is kept
            assert other.gw_name in list_netns()
            return removed
        finally:
            await live.stop()
            await other.stop()
            sh("ip", "netns", "del", "grt-other-job", check=False)
            assert other_job.returncode == 0

    removed = asyncio.run(main())
    assert removed == ["gr-0000beef-gw", "gr-0000cafe-guard", "gr-0badc0de-gw"]
    assert not {"0badc0de", "0000cafe"} & set(hostguard.tokens())
    assert not any(n in list_netns() for n in removed)
    assert list(state.iterdir()) == []


def test_uplink_in_the_runners_own_namespace(world: World, job: Path, tmp_path: Path) -> None:
    """Production layout: the uplink's far end sits in the runner's namespace (no fake internet).

    Only DNS (answered through the host's loopback upstream) and the always-deny of the host side
    are exercised: nothing is routed beyond this machine.
    """
    async def main() -> Gateway:
        gw = make_gateway(world, job, tmp_path, "block", ["allowed.example:80"], uplink_netns=None)
        await gw.start()
        try:
            assert gw.host_if in sh("ip", "-o", "link", "show", gw.host_if)
            r = await in_job(job, dns_query, gw.addr.gw4, "allowed.example")
            assert r.answers == [world.ip4(10)]
            assert await in_job(job, tcp_connect, gw.addr.up_peer4, 22) == "refused"  # the runner host
        finally:
            await gw.stop()
        return gw

    gw = asyncio.run(main())
    assert gw.host_if not in sh("ip", "-o", "link")
