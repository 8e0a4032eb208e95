"""Core masking rules: forms, merging, streaming hold-back, refusals."""

from __future__ import annotations

import base64
import logging

import pytest

from github_runner.secrets import Masker


def test_plain_and_derived_forms_are_masked() -> None:
    masker = Masker()
    assert masker.add("hunter2-password", source="test")
    secret = "hunter2-password"
    for form in (
        secret,
        base64.b64encode(secret.encode()).decode(),
        base64.b64encode(b"user:" + secret.encode()).decode()[8:],
    ):
        assert "hunter2" not in masker.mask(f"a {form} b")
        assert masker.mask(f"a {form} b").count("***") == 1


def test_touching_and_overlapping_matches_merge_into_one_token() -> None:
    masker = Masker(min_length=1)
    masker.add("abc")
    masker.add("cdef")
    assert masker.mask("xabcabcdefx") == "x***x"


def test_partial_match_is_held_until_it_cannot_match() -> None:
    masker = Masker()
    masker.add("topsecret")
    stream = masker.stream()
    assert stream.write(b"line one\nvalue: tops") == b"line one\nvalue: "
    assert stream.pending == 4
    assert stream.write(b"ecret") == b""  # a match at the very end may still merge with more
    assert stream.write(b" done\n") == b"*** done\n"
    assert stream.flush() == b""


def test_partial_that_never_completes_is_released_on_flush() -> None:
    masker = Masker()
    masker.add("topsecret")
    stream = masker.stream()
    assert stream.write(b"value: tops") == b"value: "
    assert stream.flush() == b"tops"


@pytest.mark.parametrize("value", ["", "   ", "\t\n", "abc"])
def test_refused_values_warn_with_source_not_value(value: str, caplog: pytest.LogCaptureFixture) -> None:
    masker = Masker(min_length=4)
    with caplog.at_level(logging.WARNING, logger="github_runner.secrets"):
        assert masker.add(value, source="--secret-file .secrets:7") is False
    assert ".secrets:7" in caplog.text
    if value.strip():
        assert value not in caplog.text
    assert len(masker) == 0


def test_contains_secret() -> None:
    masker = Masker()
    masker.add("s3cr3t-value")
    assert masker.contains_secret("out=s3cr3t-value")
    assert not masker.contains_secret("out=harmless")


def test_url_credentials_found_on_any_line_of_a_block() -> None:
    masker = Masker()
    lines = [f"line {i} https://example.com/x?y=1" for i in range(200)]
    lines[57] = "clone https://bot:hunter22@git.example.com/r.git and https://u2:pw2@h/"
    lines[190] = "npm install lib@1.2.3 from https://registry/ and mail a@b.c"
    out = masker.mask("\n".join(lines)).split("\n")
    assert out[57] == "clone https://bot:***@git.example.com/r.git and https://u2:***@h/"
    assert out[190] == lines[190]
    assert sum(line != orig for line, orig in zip(out, lines)) == 1


@pytest.mark.parametrize("hyperscan_detectors", [True, False])
def test_query_and_url_detectors_with_and_without_hyperscan(
    hyperscan_detectors: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from github_runner.secrets import detectors

    if not hyperscan_detectors:
        monkeypatch.setattr(detectors, "_hs_database", lambda *args: None)
    masker = Masker(detectors=[detectors.QueryTokenDetector(), detectors.UrlCredentialsDetector()])
    text = "GET https://s3/x?X-AMZ-sigNATure=abc123&a=1&Private_Token=&rss_token=z https://u:p4ss@h/"
    expect = "GET https://s3/x?X-AMZ-sigNATure=***&a=1&Private_Token=***&rss_token=*** https://u:***@h/"
    assert masker.mask(text) == expect
    stream = masker.stream()
    assert b"".join([*(stream.write(bytes([b])) for b in text.encode()), stream.flush()]) == expect.encode()
