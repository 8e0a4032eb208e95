"""Property tests: chunking never changes the output, and no secret or encoded form survives.

Random secrets (unicode, regex metacharacters, prefixes of one another, 1-16 000 characters)
are planted, plain and encoded, in random text that also contains URL and token shapes for
the detectors; the text is cut into random chunks and streamed. CI runs 10 000 examples in total
(`CI=true`), a local run 4% of that.
"""

from __future__ import annotations

import base64
import json
import random
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from github_runner.secrets import Masker
from tests.conftest import IN_CI

# Characters that stress the matcher and the encoders; no "*", which the mask token is made
# of (a secret "a*" would "survive" as the "a" before a "***" that masked something else).
ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABC0123456789 _-.:/?&=@%+\\\"'<>{}[]()^$|\t\n\r"
    "éß€中文😀\u200b\u0301"
)
FILLER = [
    " https://user:pw@host/x ", "?private_token=", "&X-Amz-Signature=abc", "glpat-", "ghp_",
    "\n", "\r\n", " ", "::add-mask::", '{"k": "', "%20", "==",
]  # fmt: skip

# Examples per test; CI's sum is 10 000. Long secrets are the slowest, so they get fewer.
BUDGET = {"short": 4000, "min_length": 3000, "medium": 1500, "long": 500, "engines": 1000}
SCALE = 1.0 if IN_CI else 0.04
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def make_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(length))


@st.composite
def secrets_and_text(draw: st.DrawFn, max_secret: int = 64) -> tuple[list[str], bytes]:
    rng = draw(st.randoms(use_true_random=False))
    count = draw(st.integers(1, 5))
    secrets = [make_text(rng, draw(st.integers(1, max_secret))) for _ in range(count)]
    if draw(st.booleans()):  # prefixes of one another
        base = secrets[0]
        secrets += [base[: rng.randint(1, len(base))] for _ in range(2)]
    pieces: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        pick = rng.random()
        if pick < 0.35:
            pieces.append(make_text(rng, rng.randint(0, 40)))
        elif pick < 0.5:
            pieces.append(rng.choice(FILLER))
        else:
            pieces.append(encode_randomly(rng, rng.choice(secrets)))
    return secrets, "".join(pieces).encode("utf-8", "surrogatepass")


def encode_randomly(rng: random.Random, secret: str) -> str:
    data = secret.encode()
    form = rng.randrange(6)
    if form == 0:
        return secret
    if form == 1:  # base64 behind a prefix of any length, with or without a suffix
        prefix = make_text(rng, rng.randint(0, 5)).encode()
        suffix = b"\n" if rng.random() < 0.5 else b""
        return base64.b64encode(prefix + data + suffix).decode()
    if form == 2:
        return quote(secret, safe="")
    if form == 3:
        return json.dumps(secret)[1:-1]
    if form == 4:
        return json.dumps({"token": secret}, indent=2)
    return secret.replace("'", "''")


def chunked(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randint(0, 12))))
    edges = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def stream_all(masker: Masker, chunks: list[bytes]) -> bytes:
    stream = masker.stream()
    out = b"".join(stream.write(c) for c in chunks)
    return out + stream.flush()


def independent_forms(secret: str) -> list[bytes]:
    """Encodings computed here, not by the masker: what must never be readable in the output."""
    data = secret.encode()
    forms = [data, quote(secret, safe="").encode(), json.dumps(secret)[1:-1].encode()]
    for shift in range(3):
        body = data[shift:]
        if len(body) >= 6:  # stable base64 chars of the aligned part, whatever follows
            whole, rest = divmod(len(body), 3)
            forms.append(base64.b64encode(body)[: 4 * whole + rest])
    return [f for f in forms if b"*" not in f]


def check(secrets: list[str], text: bytes, rng: random.Random, min_length: int = 1) -> None:
    # Half the examples on each engine: Hyperscan is the default, Aho-Corasick the fallback
    # (and much cheaper to build, which keeps the CI run short).
    masker = Masker(min_length=min_length, engine=rng.choice(["hyperscan", "ahocorasick"]))
    accepted = [s for s in secrets if masker.add(s, source="property")]
    whole = masker.mask_bytes(text)
    assert stream_all(masker, chunked(text, rng)) == whole
    assert stream_all(masker, [bytes([b]) for b in text[:200]]) == masker.mask_bytes(text[:200])
    for secret in accepted:
        for form in independent_forms(secret):
            if len(form) >= max(min_length, 1) and form.strip():
                assert form not in whole, (secret, form)


def examples(kind: str) -> settings:
    return settings(SETTINGS, max_examples=max(20, int(BUDGET[kind] * SCALE)))


@examples("short")
@given(secrets_and_text(), st.randoms(use_true_random=False))
def test_short_secrets_chunking_and_survival(case: tuple[list[str], bytes], rng: random.Random) -> None:
    secrets, text = case
    check(secrets, text, rng)


@examples("min_length")
@given(secrets_and_text(), st.randoms(use_true_random=False))
def test_default_min_length(case: tuple[list[str], bytes], rng: random.Random) -> None:
    secrets, text = case
    check(secrets, text, rng, min_length=4)


@examples("medium")
@given(secrets_and_text(max_secret=600), st.randoms(use_true_random=False))
def test_medium_secrets(case: tuple[list[str], bytes], rng: random.Random) -> None:
    secrets, text = case
    check(secrets, text, rng)


@examples("long")
@given(st.integers(1, 16_000), st.randoms(use_true_random=False))
def test_long_secrets(length: int, rng: random.Random) -> None:
    secret = make_text(rng, length)
    text = (
        make_text(rng, 50) + secret + " " + encode_randomly(rng, secret) + make_text(rng, 30)
    ).encode()
    check([secret, secret[: length // 2] or secret], text, rng)


@examples("engines")
@given(secrets_and_text(max_secret=200), st.randoms(use_true_random=False))
def test_both_engines_agree(case: tuple[list[str], bytes], rng: random.Random) -> None:
    """Differential: Hyperscan and the Aho-Corasick fallback give byte-identical output."""
    secrets, text = case
    outputs = []
    for engine in ("hyperscan", "ahocorasick"):
        masker = Masker(min_length=1, engine=engine)
        for secret in secrets:
            masker.add(secret, source="property")
        assert masker.engine == engine
        outputs.append(stream_all(masker, chunked(text, rng)))
    assert outputs[0] == outputs[1]
