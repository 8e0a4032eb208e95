"""Runner credentials: the RSA key, the JWT client assertion and the OAuth token it buys.

The RSA key never leaves the listener process; the worker only ever sees the job-scoped
token from the job message. Token refresh happens shortly before expiry and on any 401 (the
http client calls `invalidate()`), so a long poll never starts with a token about to lapse.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from msgspec import Struct

from github_runner.github.errors import (
    AuthError,
    ClockSkewError,
    HTTPStatusError,
    RunnerDeletedError,
)
from github_runner.github.http import ApiClient

log = logging.getLogger("github_runner.github.auth")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds, as the official runner
REFRESH_MARGIN = 60.0  # refresh this long before the token's expiry


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8 or 1, "big")
    return base64.b64encode(raw).decode()


def _int(b64: str) -> int:
    return int.from_bytes(base64.b64decode(b64), "big")


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_to_rsaparams(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The `.credentials_rsaparams` layout: base64 big-endian parameters (runner-protocol §1.4)."""
    n = key.private_numbers()
    return {
        "d": _b64(n.d), "dp": _b64(n.dmp1), "dq": _b64(n.dmq1),
        "exponent": _b64(n.public_numbers.e), "inverseQ": _b64(n.iqmp),
        "modulus": _b64(n.public_numbers.n), "p": _b64(n.p), "q": _b64(n.q),
    }


def key_from_rsaparams(params: dict[str, str]) -> rsa.RSAPrivateKey:
    p = {k.lower(): v for k, v in params.items()}
    try:
        pub = rsa.RSAPublicNumbers(_int(p["exponent"]), _int(p["modulus"]))
        priv = rsa.RSAPrivateNumbers(
            _int(p["p"]), _int(p["q"]), _int(p["d"]), _int(p["dp"]), _int(p["dq"]),
            _int(p["inverseq"]), pub,
        )
        return priv.private_key()
    except (KeyError, ValueError) as exc:
        raise AuthError(f"RSA key parameters are unusable: {type(exc).__name__}") from None


def public_key_fields(key: rsa.RSAPrivateKey) -> dict[str, str]:
    nums = key.public_key().public_numbers()
    return {"exponent": _b64(nums.e), "modulus": _b64(nums.n)}


def public_key_xml(key: rsa.RSAPrivateKey) -> str:
    f = public_key_fields(key)
    return (f"<RSAKeyValue><Modulus>{f['modulus']}</Modulus>"
            f"<Exponent>{f['exponent']}</Exponent></RSAKeyValue>")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def client_assertion(key: rsa.RSAPrivateKey, client_id: str, audience: str, *, fips: bool = True,
                     now: float | None = None) -> str:
    """JWT bearer assertion: PS256 when FIPS is required (the default), else RS256; no `iat`.

    Signed here with `cryptography` directly (RFC 7515/7518: PSS salt = hash length) rather
    than through a JWT library, which would cost the idle listener ~5 MB of imports.
    """
    t = int(now if now is not None else time.time())
    claims = {"sub": client_id, "iss": client_id, "aud": audience, "jti": str(uuid.uuid4()),
              "nbf": t, "exp": t + ASSERTION_LIFETIME}
    header = {"typ": "JWT", "alg": "PS256" if fips else "RS256"}
    signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":")).encode())
                             for part in (header, claims))
    pad: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)
        if fips else padding.PKCS1v15())
    signature = key.sign(signing_input.encode(), pad, hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def unwrap_session_key(key: rsa.RSAPrivateKey, wrapped_b64: str, *, sha256: bool) -> bytes:
    """Decrypt the v1 session's AES key (RSA-OAEP, SHA-256 under FIPS else SHA-1)."""
    algo: hashes.HashAlgorithm = hashes.SHA256() if sha256 else hashes.SHA1()
    return key.decrypt(base64.b64decode(wrapped_b64),
                       padding.OAEP(mgf=padding.MGF1(algo), algorithm=algo, label=None))


class _Token(Struct):
    value: str
    expires_at: float


class OAuthCredential:
    """Exchanges a client assertion for an access token; a `Credential` for the http client."""

    def __init__(self, api: ApiClient, key: rsa.RSAPrivateKey, client_id: str,
                 authorization_url: str, *, fips: bool = True) -> None:
        self.api = api
        self._key = key
        self.client_id = client_id
        self.authorization_url = authorization_url
        self.fips = fips
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.exchanges = 0

    def __repr__(self) -> str:
        return f"OAuthCredential(client_id={self.client_id!r})"

    def invalidate(self) -> None:
        self._token = None

    async def authorization(self) -> str:
        return f"Bearer {await self.access_token()}"

    async def access_token(self) -> str:
        async with self._lock:
            tok = self._token
            if tok is None or tok.expires_at - REFRESH_MARGIN <= time.time():
                tok = self._token = await self._exchange()
            return tok.value

    async def _exchange(self) -> _Token:
        assertion = client_assertion(self._key, self.client_id, self.authorization_url,
                                     fips=self.fips)
        try:
            resp = await self.api.request(
                "POST", self.authorization_url,
                data={"grant_type": "client_credentials",
                      "client_assertion_type": ASSERTION_TYPE,
                      "client_assertion": assertion},
                headers={"Accept": "application/json"},
                retries=max(self.api.settings.max_retries, 1),
            )
        except HTTPStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            err = str(body.get("error", ""))
            desc = str(body.get("error_description", ""))
            if exc.status == 400 and err == "invalid_client":
                raise RunnerDeletedError(
                    "the runner registration has been deleted on GitHub (invalid_client): "
                    "register it again") from None
            if "Current server time is" in desc:
                raise ClockSkewError(f"token request refused, clock skew: {desc[:160]}") from None
            raise AuthError(f"OAuth token request failed: HTTP {exc.status} {err}".strip()) from None
        try:
            body = resp.json()
            value = str(body["access_token"])
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise AuthError("OAuth token response is not the expected JSON") from None
        self.exchanges += 1
        log.debug("obtained an OAuth token for client %s (expires in %.0fs)", self.client_id,
                  expires_in)
        return _Token(value, time.time() + expires_in)
