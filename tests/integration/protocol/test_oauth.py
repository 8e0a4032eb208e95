"""OAuth against the fake's token endpoint: refresh before expiry, deleted runner, FIPS PS256."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from github_runner.github.auth import OAuthCredential, key_from_rsaparams
from github_runner.github.errors import RunnerDeletedError
from github_runner.github.http import ApiClient, HttpSettings
from tests.integration.protocol.conftest import make_fake


def _jit_identity(fake) -> tuple:  # type: ignore[no-untyped-def]
    files = json.loads(base64.b64decode(fake.generate_jit("oauth-1", ["self-hosted"])))
    creds = json.loads(base64.b64decode(files[".credentials"]))["Data"]
    key = key_from_rsaparams(json.loads(base64.b64decode(files[".credentials_rsaparams"])))
    return key, creds["ClientId"], creds["AuthorizationUrl"]


@pytest.mark.parametrize("ttl,expected", [(3600.0, 1), (30.0, 3)])
def test_token_cached_until_close_to_expiry(tmp_path: Path, ttl: float, expected: int) -> None:
    fake = make_fake(tmp_path, token_ttl=ttl)
    try:
        key, client_id, url = _jit_identity(fake)

        async def go() -> int:
            async with ApiClient(HttpSettings(ca_bundle=fake.ca.ca_pem, max_retries=0)) as api:
                cred = OAuthCredential(api, key, client_id, url)
                tokens = {await cred.access_token() for _ in range(3)}
                assert len(tokens) == expected
                return cred.exchanges

        assert asyncio.run(go()) == expected
        # the fake verified every assertion: PS256, aud = token URL, unique jti
        assert len(fake.recorded("token")) == expected
    finally:
        fake.stop()


def test_deleted_runner_is_reported_as_such(tmp_path: Path) -> None:
    fake = make_fake(tmp_path)
    try:
        key, client_id, url = _jit_identity(fake)
        fake.call(lambda: [setattr(a, "deleted", True) for a in fake.agents.values()])

        async def go() -> None:
            async with ApiClient(HttpSettings(ca_bundle=fake.ca.ca_pem, max_retries=0)) as api:
                await OAuthCredential(api, key, client_id, url).access_token()

        with pytest.raises(RunnerDeletedError, match="register it again"):
            asyncio.run(go())
    finally:
        fake.stop()


def test_rs256_refused_when_fips_required(tmp_path: Path) -> None:
    fake = make_fake(tmp_path)
    try:
        key, client_id, url = _jit_identity(fake)

        async def go() -> None:
            async with ApiClient(HttpSettings(ca_bundle=fake.ca.ca_pem, max_retries=0)) as api:
                await OAuthCredential(api, key, client_id, url, fips=False).access_token()

        with pytest.raises(RunnerDeletedError):  # the fake answers invalid_client, as GitHub
            asyncio.run(go())
    finally:
        fake.stop()
