"""The gvisor executor: the docker executor with Debian's `runsc` as the container runtime.

Job code then talks to gVisor's user-space kernel, not the host's. Debian's runsc (2022 build)
cannot set up its own netstack here (it misdetects the root network namespace), so it is
registered with dockerd as `runsc-host` (`--network=host`): gVisor passes sockets through to the
container's *own* network namespace, which is still the job's private bridge network, so the
isolation and egress attachment are those of the docker executor. The pids limit counts the
sandbox's own threads: below 128 the sandbox does not even start, so lower limits are refused.
"""

from __future__ import annotations

from typing import Any

from github_runner.executors.docker import DockerExecutor

RUNSC_RUNTIME = "runsc-host"
RUNSC_MIN_PIDS = 128


class GVisorExecutor(DockerExecutor):
    name = "gvisor"
    min_pids = RUNSC_MIN_PIDS

    def __init__(self, runtime: str | None = None, **settings: Any) -> None:
        super().__init__(runtime=runtime or RUNSC_RUNTIME, **settings)

    def check(self) -> list[str]:
        missing = super().check()
        if any("not registered" in m for m in missing):
            missing.append(
                f"register runsc in /etc/docker/daemon.json: \"{self.runtime}\": "
                "{\"path\": \"/usr/bin/runsc\", \"runtimeArgs\": [\"--network=host\"]} and restart dockerd"
            )
        return missing
