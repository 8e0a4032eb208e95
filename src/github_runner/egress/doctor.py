"""Can this host run egress gateways, and what does egress control mean per executor.

Used by `github-runner egress doctor` (and meant for the executors' `doctor`): each check says
what is missing and how to fix it, because block mode refuses jobs when the gateway cannot be
built, and an operator should learn that before the first job does.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess

from msgspec import Struct

from github_runner.egress import nft

EXECUTOR_NOTES = {
    "sandbox": "egress gateway per job (root runner): the job cannot reach the rules, even as root "
               "in its user namespace",
    "docker": "egress gateway per job container (its netns gets the gateway as default route); "
              "host networking, other networks and the host docker socket are refused by the executor",
    "gvisor": "egress gateway per job: runsc uses the job namespace's network (--network=host inside it)",
    "shell": "jobs share the host's network namespace: a job with egress audit/block is refused "
             "(it would run uncontrolled); use sandbox, docker or gvisor",
}


class Check(Struct, frozen=True):
    name: str
    ok: bool
    detail: str
    fix: str = ""


def checks(live: bool = True) -> list[Check]:
    out = [Check("root", os.geteuid() == 0, "network namespaces, veths and nftables need root",
                 "run the runner as root (the job itself runs unprivileged)")]
    for tool, pkg in (("ip", "iproute2"), ("nsenter", "util-linux")):
        path = shutil.which(tool)
        out.append(Check(tool, path is not None, path or "not found", f"apt-get install {pkg}"))
    why = nft.available()
    out.append(Check("libnftables", why is None, why or "libnftables.so.1 loadable", "apt-get install nftables"))
    if live and all(c.ok for c in out):
        name = f"gr-doctor-{secrets.token_hex(3)}"
        try:
            subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
            ctx = nft.Nft(f"/run/netns/{name}")
            try:
                ctx.run("add table inet t; add set inet t s { type ipv4_addr . inet_proto . inet_service; "
                        "flags timeout; }; add element inet t s { 198.18.0.1 . tcp . 443 timeout 5s }")
                out.append(Check("nftables in a namespace", True, "table, timeout set and element created"))
            finally:
                ctx.close()
        except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
            out.append(Check("nftables in a namespace", False, str(exc), "check kernel nf_tables support"))
        finally:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return out
