"""`exec` flags that take secrets from providers: the environment and HashiCorp Vault KV v2.

    --secret-from-env NAME           the value of $NAME (repeatable; NAME=VARIABLE renames)
    --vault-secret NAME=MOUNT/PATH#KEY   one Vault KV v2 value per secret (repeatable)
    --vault-addr URL                 default $VAULT_ADDR

Vault credentials are never flags (a command line is readable by every local user through
`ps`): `$VAULT_TOKEN`, or an AppRole as `$VAULT_ROLE_ID` + `$VAULT_SECRET_ID`. The token,
the secret id and every value read are registered with the masker as soon as it exists.

Errors name the flag and the argument's position, the variable or the Vault path and HTTP
status; never a value or a token. This module imports only click: `hvac` (about 0.2 s) is
loaded when a `--vault-secret` is actually given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from github_runner.secrets.providers import ProviderError

if TYPE_CHECKING:
    from github_runner.secrets.store import SecretStore

F = TypeVar("F", bound=Callable[..., Any])

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HIDDEN = " (the argument is not shown: it may hold a secret)"


def secret_source_options(command: F) -> F:
    """The provider flags, for `exec` (values land in the job's SecretStore)."""
    command = click.option(
        "--vault-addr", default=None, metavar="URL",
        help="Vault server for --vault-secret (default $VAULT_ADDR); auth from $VAULT_TOKEN "
             "or $VAULT_ROLE_ID + $VAULT_SECRET_ID.",
    )(command)
    command = click.option(
        "--vault-secret", "vault_secrets", multiple=True, metavar="NAME=MOUNT/PATH#KEY",
        help="Secret NAME from Vault KV v2 (repeatable).",
    )(command)
    command = click.option(
        "--secret-from-env", "secrets_from_env", multiple=True, metavar="NAME",
        help="Secret NAME from $NAME, or NAME=VARIABLE (repeatable).",
    )(command)
    return command


def load_environment(
    store: SecretStore, specs: tuple[str, ...] | list[str], environ: Mapping[str, str] | None = None
) -> None:
    """`--secret-from-env`: each argument is read and stored; errors name its position."""
    from github_runner.secrets.providers.env import from_environment

    for position, spec in enumerate(specs, 1):
        name = spec.partition("=")[0].strip()
        try:
            values = from_environment([spec], environ)
        except ProviderError:
            raise ProviderError(
                f"--secret-from-env argument {position}: expected NAME or NAME=VARIABLE naming "
                f"a set environment variable{_HIDDEN}"
            ) from None
        store.set(name, values[name], source=f"secret {name} (--secret-from-env)")


def parse_vault_specs(specs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`NAME=MOUNT/PATH#KEY` arguments -> {name: reference}; the reference is checked too."""
    from github_runner.secrets.providers.vault import VaultError, VaultRef

    out: dict[str, str] = {}
    for position, spec in enumerate(specs, 1):
        name, sep, ref = spec.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ProviderError(f"--vault-secret argument {position}: expected NAME=MOUNT/PATH#KEY{_HIDDEN}")
        try:
            VaultRef.parse(ref.strip())
        except VaultError:
            raise ProviderError(
                f"--vault-secret argument {position} ({name}): expected NAME=MOUNT/PATH#KEY"
            ) from None
        out[name] = ref.strip()
    return out


def load_vault(
    store: SecretStore,
    specs: tuple[str, ...] | list[str],
    addr: str | None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """`--vault-secret`: log in once (token or AppRole from the environment), read each value."""
    if not specs:
        return
    env = os.environ if environ is None else environ
    refs = parse_vault_specs(specs)
    url = addr or env.get("VAULT_ADDR")
    if not url:
        raise ProviderError("--vault-secret: no Vault server (give --vault-addr or set $VAULT_ADDR)")
    token = env.get("VAULT_TOKEN")
    role_id, secret_id = env.get("VAULT_ROLE_ID"), env.get("VAULT_SECRET_ID")
    if not token and not (role_id and secret_id):
        raise ProviderError(
            "--vault-secret: no Vault credentials (set $VAULT_TOKEN, or $VAULT_ROLE_ID and $VAULT_SECRET_ID)"
        )
    from github_runner.secrets.providers.vault import VaultProvider

    provider = VaultProvider(url, token=token, role_id=role_id, secret_id=secret_id,
                             masker=_StoreRegistrar(store))
    try:
        provider.load(store, refs)
    finally:
        provider.close()


class _StoreRegistrar:
    """Hands the provider's credentials (token, AppRole secret id and login token) to the store
    as masked-only values: the masker that will need them does not exist yet."""

    def __init__(self, store: SecretStore) -> None:
        self._store = store

    def add(self, value: str, *, source: str = "") -> bool:
        return self._store.protect(value, source=source or "vault")
