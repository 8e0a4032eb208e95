"""Vault KV v2 through hvac against a Vault-compatible server on loopback (fakevault.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from github_runner.secrets import Masker, SecretStore
from github_runner.secrets.providers.vault import VaultError, VaultProvider, VaultRef
from tests.integration.secrets.fakevault import FakeVault

TOKEN = "hvs.root-token-for-tests-000"
ROLE, SECRET_ID = "role-ci", "secret-id-7c1f0e2d9b"


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    with FakeVault() as server:
        server.state.tokens[TOKEN] = ("secret/ci/",)
        server.state.approles[(ROLE, SECRET_ID)] = ("secret/ci/npm",)
        server.state.put("secret", "ci/npm", {"token": "npm_old_value_1"})
        server.state.put("secret", "ci/npm", {"token": "npm_Tok3n-value", "user": "ci-bot"})
        server.state.put("secret", "ci/cloud", {"json": '{"key": "cloud-private-key-123"}'})
        server.state.put("secret", "other/x", {"v": "forbidden-value"})
        yield server


def test_token_auth_reads_latest_version_into_store_and_masker(vault: FakeVault) -> None:
    masker = Masker()
    provider = VaultProvider(vault.url, token=TOKEN, masker=masker)
    with SecretStore(masker) as store:
        provider.load(store, {"NPM": "secret/ci/npm#token", "CLOUD": "secret/ci/cloud#json"})
        assert store.get("NPM") == "npm_Tok3n-value"
    assert masker.mask("npm_Tok3n-value and cloud-private-key-123 and " + TOKEN) == "*** and *** and ***"
    method, path, headers = vault.state.requests[-1]
    assert (method, path) == ("GET", "/v1/secret/data/ci/cloud")
    assert headers["X-Vault-Token"] == TOKEN
    provider.close()


def test_pinned_version_and_approle_login(vault: FakeVault) -> None:
    masker = Masker()
    provider = VaultProvider(vault.url, role_id=ROLE, secret_id=SECRET_ID, masker=masker)
    assert provider.read(VaultRef("secret", "ci/npm", "token", version=1)) == "npm_old_value_1"
    login = [r for r in vault.state.requests if r[0] == "POST"]
    assert login and login[0][1] == "/v1/auth/approle/login"
    issued = next(t for t in vault.state.tokens if t != TOKEN)
    assert masker.mask(f"{issued} {SECRET_ID}") == "*** ***"
    assert asyncio.run(provider.afetch({"N": "secret/ci/npm#user"})) == {"N": "ci-bot"}


@pytest.mark.parametrize(
    ("ref", "status"),
    [("secret/ci/missing#token", "HTTP 404"), ("secret/other/x#v", "HTTP 403")],
)
def test_errors_name_path_and_status_never_token(vault: FakeVault, ref: str, status: str) -> None:
    provider = VaultProvider(vault.url, token=TOKEN)
    with pytest.raises(VaultError) as err:
        provider.read(ref)
    text = str(err.value)
    assert status in text and ref.split("#")[0] in text and TOKEN not in text


def test_bad_approle_missing_key_deleted_version_and_unreachable(vault: FakeVault) -> None:
    with pytest.raises(VaultError, match=r"AppRole login .*HTTP 400") as err:
        VaultProvider(vault.url, role_id=ROLE, secret_id="wrong-secret-id")
    assert "wrong-secret-id" not in str(err.value)
    provider = VaultProvider(vault.url, token=TOKEN)
    with pytest.raises(VaultError, match=r"no key 'nope' \(keys: token, user\)"):
        provider.read("secret/ci/npm#nope")
    vault.state.delete_latest("secret", "ci/npm")
    with pytest.raises(VaultError, match="HTTP 404"):
        provider.read("secret/ci/npm#token")
    with pytest.raises(VaultError, match="expected MOUNT/PATH#KEY"):
        provider.read("no-key-here")
    dead = VaultProvider("http://127.0.0.1:9", token=TOKEN, timeout=2)
    with pytest.raises(VaultError, match="ConnectionError") as err:
        dead.read("secret/ci/npm#token")
    assert TOKEN not in str(err.value)
