"""Where secret values come from, besides the command line (`exec -s`, `--secret-file`, parsed
by the engine's `localinputs`): the environment, files, and HashiCorp Vault KV v2.

Each provider returns plain `{name: value}` for `SecretStore.update`, or loads a store
directly; every error names the source (variable, file, Vault path and status), never a value
or a token.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A secret could not be read; the message names where from and why, never the value."""
