"""A missing dependency is a clear error before the job starts, naming what to install/start."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from github_runner.executors.base import ContainerSpec, ExecutorError, JobSpec
from github_runner.executors.docker import DockerExecutor
from github_runner.executors.gvisor import GVisorExecutor
from github_runner.executors.sandbox import SandboxExecutor
from tests.conftest import require
from tests.integration.executors.conftest import JOB_USER, have_user


def test_no_bwrap_names_the_package(make_spec: Callable[..., JobSpec], monkeypatch: pytest.MonkeyPatch) -> None:
    require(os.geteuid() == 0 and have_user(JOB_USER), "root and the ghr-job user")
    ex = SandboxExecutor()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ExecutorError, match="bwrap not found: install bubblewrap"):
        asyncio.run(ex.prepare(make_spec()))


@pytest.mark.parametrize("cls", [DockerExecutor, GVisorExecutor])
def test_no_dockerd_says_start_it(cls: type[DockerExecutor], make_spec: Callable[..., JobSpec],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    ex = cls()
    with pytest.raises(ExecutorError, match="dockerd"):
        asyncio.run(ex.prepare(make_spec(container=ContainerSpec(image="ghr-busybox:x"))))
