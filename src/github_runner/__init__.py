"""github-runner: a security-first self-hosted GitHub Actions runner."""

from github_runner.version import RUNNER_VERSION, __version__

__all__ = ["RUNNER_VERSION", "__version__"]
