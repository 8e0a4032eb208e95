"""Errors raised by the GitHub clients.

Each error carries only what is safe to log: method, a redacted URL (no query string, which
can hold SAS signatures or session ids), the status code and a short server-side reason. Tokens
never reach these messages.
"""

from __future__ import annotations


class GitHubError(Exception):
    """Base class: something went wrong talking to GitHub."""


class InsecureURLError(GitHubError):
    """A credential would have been sent over plain HTTP to a non-loopback host."""


class HTTPStatusError(GitHubError):
    def __init__(self, method: str, url: str, status: int, reason: str = "", body: object = None):
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.body = body
        super().__init__(f"{method} {url} -> HTTP {status}{': ' + reason if reason else ''}")


class AuthError(GitHubError):
    """The OAuth token endpoint refused us."""


class RunnerDeletedError(AuthError):
    """`invalid_client` / RunnerNotFound / TaskAgentNotFoundException: the registration is gone."""


class ClockSkewError(AuthError):
    """The token endpoint says our clock is off ("Current server time is ..."); retriable."""


class SessionConflictError(GitHubError):
    """Another listener holds a session for this runner."""


class SessionExpiredError(GitHubError):
    """The server dropped our session; create a new one and keep polling."""


class RunnerVersionTooOldError(GitHubError):
    """GitHub refuses this runner version (runner-protocol.md §9): fatal."""


class AccessDeniedError(GitHubError):
    """The service refuses this runner (fatal for the listener)."""


class JobNotFoundError(GitHubError):
    """The job (lock, acquire, renew, complete) is unknown or no longer ours."""


class JobTakenError(GitHubError):
    """acquirejob 409/422: another runner or an earlier attempt owns the job."""


class MessageError(GitHubError):
    """A message from the queue cannot be decoded (malformed, truncated, oversized, bad crypto)."""

    def __init__(self, text: str, message_id: int | None = None) -> None:
        super().__init__(text)
        self.message_id = message_id
