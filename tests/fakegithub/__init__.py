"""A faithful fake of GitHub's runner-facing services, on loopback, over TLS (see server.py)."""

from tests.fakegithub.server import FakeGitHub, Fault  # noqa: F401
