"""Removing what a killed worker left behind: its job cgroups (whose processes the sandbox's
`--die-with-parent` already took down) and its labelled containers, networks and volumes.
The listener calls `sweep()` when it reaps a worker; `doctor --cleanup` calls it by hand."""

from __future__ import annotations

import asyncio

from github_runner.executors import cgroups, staging


async def sweep() -> list[str]:
    removed = [f"cgroup {name}" for name in await cgroups.sweep_orphans()]
    for name in staging.orphans(cgroups.owner_alive):
        staging.remove_stage(name)
        removed.append(f"staging dir {name}")
    try:
        from github_runner.executors.docker import sweep_orphans

        removed += await asyncio.to_thread(sweep_orphans)
    except Exception:  # no dockerd, no docker SDK: nothing of ours can be there
        pass
    return removed
