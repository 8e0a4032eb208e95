"""`github-runner register`: like the official `config.sh`, for 1..N runner identities."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from github_runner.cli._protocol_common import common_options, fail_cleanly


@click.command("register")
@click.option("--url", help="https://github.com/<owner>[/<repo>] or a GHES URL")
@click.option("--token", envvar="GITHUB_RUNNER_TOKEN", help="registration token (or $GITHUB_RUNNER_TOKEN)")
@click.option("--jitconfig", help="an encoded JIT configuration instead of --url/--token")
@click.option("--name", help="runner name (with --concurrency N: <name>-1..N)")
@click.option("--labels", help="extra labels, comma separated")
@click.option("--runner-group", help="runner group (default: the default group)")
@click.option("--work", help="work directory for jobs")
@click.option("--ephemeral", is_flag=True, default=None, help="run one job, then unregister")
@click.option("--replace", is_flag=True, help="replace a runner of the same name")
@click.option("--concurrency", type=click.IntRange(1, 64), help="register N identities")
@common_options
def register_cmd(url: str | None, token: str | None, jitconfig: str | None, name: str | None,
                 labels: str | None, runner_group: str | None, work: str | None,
                 ephemeral: bool | None, replace: bool, concurrency: int | None,
                 config: Path | None, state_dir: Path | None) -> None:
    """Register this machine as a self-hosted runner (credentials go to the state dir, 0600)."""
    with fail_cleanly():
        from github_runner.config.runtime import load_settings, setup_logging
        from github_runner.config.runtime import state_dir as make_state
        from github_runner.github.http import ApiClient
        from github_runner.github.registration import (
            RegisterRequest,
            RegistrationError,
            register,
            register_jit,
        )

        settings = load_settings(config)
        setup_logging(settings)
        state = make_state(settings, state_dir)
        if jitconfig:
            if url or token:
                raise RegistrationError("--jitconfig replaces --url and --token; give one or the other")
            runner = register_jit(state, jitconfig)
            click.echo(f"configured JIT runner {runner} in {state.root}")
            return
        r = settings.runner
        url = url or r.url
        if not url:
            raise RegistrationError("--url is required (or runner.url in the config file)")
        if not token:
            raise RegistrationError("--token is required (or $GITHUB_RUNNER_TOKEN)")
        req = RegisterRequest(
            url=url, token=token, name=name or r.name,
            labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else r.labels,
            runner_group=runner_group or r.runner_group, work=work or str(r.work_dir),
            ephemeral=r.ephemeral if ephemeral is None else ephemeral, replace=replace,
            concurrency=concurrency or r.concurrency,
        )

        async def go() -> list[str]:
            async with ApiClient(settings.http_settings()) as api:
                return await register(api, state, req)

        names = asyncio.run(go())
        click.echo(f"registered {', '.join(names)} in {state.root}")
