"""Gateway life cycle: nothing left behind, fail closed, stale sweep (§7 cases 31, 32, 36, 42)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from github_runner.egress import gateway as gateway_mod
from github_runner.egress.gateway import Gateway, GatewayError, sweep_stale
from github_runner.egress.netns import list_netns
from tests.integration.egress.conftest import World, dns_query, in_job, make_gateway, sh, tcp_connect


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


def test_31_proxy_gone_mid_job_fails_closed(world: World, job: Path, tmp_path: Path) -> None:
    async def main() -> None:
        gw = make_gateway(world, job, tmp_path, "block", ["allowed.example:80"])
        await gw.start()
        try:
            assert (await in_job(job, dns_query, gw.addr.gw4, "allowed.example")).answers
            await gw.proxy.close()  # the proxy dies; the rules stay
            with pytest.raises(OSError):
                await in_job(job, dns_query, gw.addr.gw4, "blocked.example", timeout=1)
            assert await in_job(job, tcp_connect, world.ip4(20), 80) == "refused"
        finally:
            await gw.stop()

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
    assert removed == ["gr-0000beef-gw", "gr-0badc0de-gw"]
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
