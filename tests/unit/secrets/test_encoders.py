"""Derived forms beyond the vectors: JSON documents, lines, base64 with a suffix, min length."""

from __future__ import annotations

import base64
import json

from github_runner.secrets import Masker
from github_runner.secrets.encoders import base_values, derived_forms, lines_of, shell_backslash_escape


def test_json_document_registers_each_string_value() -> None:
    doc = {"type": "service_account", "private_key": "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----\n",
           "nested": {"list": ["client-secret-42", 7, True]}, "id": "ab"}  # fmt: skip
    masker = Masker()
    assert masker.add(json.dumps(doc, indent=2), source="credentials.json")
    printed = f"key id {doc['nested']['list'][0]} and {json.dumps(doc['private_key'])}"
    assert masker.mask(printed) == 'key id *** and "***"'
    assert masker.mask("type service_account") == "type ***"
    assert masker.mask("id=ab") == "id=ab"  # below the minimum length: not registered


def test_lines_trimmed_and_empty_skipped() -> None:
    assert lines_of("  one \r\n\n two\rthree  ") == ["one", "two", "three"]
    assert lines_of("single") == []
    assert base_values("a\nb") == ["a\nb", "a", "b"]


def test_base64_of_value_with_trailing_newline_is_masked_up_to_the_last_stable_char() -> None:
    secret = "s3cr3t-with-newline"
    masker = Masker()
    masker.add(secret)
    encoded = base64.b64encode(secret.encode() + b"\n").decode()
    masked = masker.mask(encoded)
    assert masked.startswith("***") and len(masked) <= 3 + 4


def test_min_length_applies_to_each_form() -> None:
    forms = derived_forms("abcd", [lambda v: v[:2], lambda v: v.upper()])
    assert forms == {"abcd", "ab", "ABCD"}
    masker = Masker(min_length=4, encoders=[lambda v: v[:2], lambda v: v.upper()])
    masker.add("abcd")
    assert masker.mask("ab ABCD abcd") == "ab *** ***"


def test_shell_escape_matches_bash_rules() -> None:
    assert shell_backslash_escape("a b'c") == "a\\ b\\'c"
    assert shell_backslash_escape("~x#y") == "\\~x#y"
    assert shell_backslash_escape("tab\there") == ""
