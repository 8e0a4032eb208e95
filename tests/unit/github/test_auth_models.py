"""JWT assertion (checked with an independent JWT library), key round trips, v1 crypto, readers."""

from __future__ import annotations

import base64
import json
import os

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, padding as sympadding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from github_runner.github.actions import decrypt_message, expand
from github_runner.github.auth import (
    client_assertion,
    generate_key,
    key_from_rsaparams,
    key_to_rsaparams,
    unwrap_session_key,
)
from github_runner.github.errors import MessageError
from github_runner.github.models import (
    CredentialsFile,
    JobEssentials,
    RunnerSettingsFile,
    parse_queue_message,
)

KEY = generate_key()


@pytest.mark.parametrize("fips,alg", [(True, "PS256"), (False, "RS256")])
def test_client_assertion_verifies(fips: bool, alg: str) -> None:
    tok = client_assertion(KEY, "client-1", "https://t/_apis/oauth2/token", fips=fips, now=1000)
    assert jwt.get_unverified_header(tok) == {"typ": "JWT", "alg": alg}
    claims = jwt.decode(tok, KEY.public_key(), algorithms=[alg], audience="https://t/_apis/oauth2/token",
                        options={"verify_exp": False, "verify_nbf": False})
    assert claims["sub"] == claims["iss"] == "client-1"
    assert claims["exp"] - claims["nbf"] == 300 and "iat" not in claims
    other = client_assertion(KEY, "client-1", "aud", fips=fips)
    assert jwt.decode(other, options={"verify_signature": False})["jti"] != claims["jti"]


def test_rsaparams_round_trip() -> None:
    params = key_to_rsaparams(KEY)
    assert set(params) == {"d", "dp", "dq", "exponent", "inverseQ", "modulus", "p", "q"}
    assert params["exponent"] == "AQAB"
    back = key_from_rsaparams(params)
    assert back.private_numbers() == KEY.private_numbers()


@pytest.mark.parametrize("sha256", [True, False])
def test_session_key_unwrap(sha256: bool) -> None:
    algo = hashes.SHA256() if sha256 else hashes.SHA1()
    aes = os.urandom(32)
    wrapped = KEY.public_key().encrypt(aes, padding.OAEP(mgf=padding.MGF1(algo), algorithm=algo, label=None))
    assert unwrap_session_key(KEY, base64.b64encode(wrapped).decode(), sha256=sha256) == aes


def _encrypt(key: bytes, text: bytes) -> tuple[str, str]:
    iv = os.urandom(16)
    p = sympadding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(p.update(text) + p.finalize()) + enc.finalize()
    return base64.b64encode(iv).decode(), base64.b64encode(ct).decode()


def test_v1_message_decryption_strips_bom_and_rejects_wrong_key() -> None:
    key = os.urandom(32)
    iv, body = _encrypt(key, b"\xef\xbb\xbf{\"a\": 1}")
    assert decrypt_message(key, iv, body) == '{"a": 1}'
    with pytest.raises(MessageError):
        decrypt_message(os.urandom(32), iv, body)
    raw = json.dumps({"messageId": 7, "messageType": "X", "iv": iv, "body": body}).encode()
    msg = parse_queue_message(200, raw, 10**6, lambda i, b: decrypt_message(key, i, b))
    assert msg is not None and msg.body == '{"a": 1}'


def test_queue_message_ids_beyond_2_53_and_errors_carry_the_id() -> None:
    raw = b'{"messageId": 1416402749619197803, "messageType": "RunnerJobRequest", "body": "{}"}'
    msg = parse_queue_message(200, raw, 10**6)
    assert msg is not None and msg.message_id == 1416402749619197803
    assert parse_queue_message(202, b"", 10) is None
    with pytest.raises(MessageError) as exc:
        parse_queue_message(200, raw, 20)
    assert exc.value.message_id == 1416402749619197803
    with pytest.raises(MessageError) as exc:
        parse_queue_message(200, b'{"messageId": 5, "body": ', 10**6)
    assert exc.value.message_id == 5


def test_lenient_readers_for_jit_files() -> None:
    r = RunnerSettingsFile.from_json({"AgentId": "795", "AgentName": "jit-1", "PoolId": "1",
                                      "ServerUrl": "https://p/", "GitHubUrl": "https://g/o/r",
                                      "UseV2Flow": "True", "Ephemeral": "true"})
    assert (r.agent_id, r.use_v2_flow, r.ephemeral) == (795, True, True)
    c = CredentialsFile.from_json({"Scheme": "OAuth", "Data": {
        "ClientId": "c", "AuthorizationUrl": "https://a", "RequireFipsCryptography": "True"}})
    assert c.client_id == "c" and c.require_fips
    with pytest.raises(ValueError):
        CredentialsFile.from_json({"scheme": "Basic"})


def test_route_expansion_drops_unmatched_placeholders() -> None:
    t = "_apis/distributedtask/pools/{poolId}/agents/{agentId}"
    assert expand(t, {"poolId": 1}) == "_apis/distributedtask/pools/1/agents"
    assert expand("/{scopeIdentifier}/_apis/x/{planId}", {"scopeIdentifier": "s", "planId": "p"}) \
        == "s/_apis/x/p"


def test_job_essentials_requires_the_system_connection() -> None:
    with pytest.raises(ValueError, match="SystemVssConnection"):
        JobEssentials.parse({"plan": {"planId": "p"}, "jobId": "j", "resources": {}})


def test_websocket_frames_and_feed_batches() -> None:
    from github_runner.github.livefeed import batches, frame

    f = frame(0x1, b"hi")
    assert f[0] == 0x81 and f[1] == 0x80 | 2
    mask = f[2:6]
    assert bytes(b ^ mask[i % 4] for i, b in enumerate(f[6:])) == b"hi"
    assert frame(0x1, b"x" * 300)[1] == 0x80 | 126
    msgs = [json.loads(m) for m in batches("s", ["a" * 600, "b" * 600, "c" * 5000], 10)]
    assert [m["startLine"] for m in msgs] == [10, 11, 12]
    assert len(msgs[2]["value"][0]) == 1024 and msgs[0]["stepId"] == "s"
