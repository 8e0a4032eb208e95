"""Remove what a killed worker left behind (job cgroups and their processes, containers...).

The executors own the knowledge (`executors/cleanup.py: sweep()`); it runs in a short-lived
child process so that the listener never imports executor backends (the Docker SDK alone would
add megabytes to an idle listener). Called at start-up and after a worker dies abnormally.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from github_runner.listener.supervisor import worker_env

log = logging.getLogger("github_runner.listener.sweep")

_CODE = ("import asyncio, json; from github_runner.executors.cleanup import sweep; "
         "print(json.dumps(asyncio.run(sweep())))")


async def sweep_leftovers(timeout: float = 120.0) -> list[str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _CODE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=worker_env())
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        log.warning("sweeping leftovers of killed workers failed: %s", exc)
        return []
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        log.warning("sweeping leftovers of killed workers failed: %s", tail[0][:200])
        return []
    try:
        removed = [str(x) for x in json.loads(out.decode() or "[]")]
    except ValueError:
        return []
    if removed:
        log.info("removed leftovers of killed workers: %s", ", ".join(removed))
    return removed
