"""Versions live here and nowhere else.

`RUNNER_VERSION` is what we report to GitHub as the runner version: GitHub refuses runners
below its minimum supported version (runner-protocol.md §9), so this tracks a current
actions/runner release rather than our own package version.
"""

__version__ = "0.1.0"
RUNNER_VERSION = "2.336.0"
