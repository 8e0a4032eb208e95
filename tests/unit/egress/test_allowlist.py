"""Allowlist grammar and matching (attack case 9 and 41 of egress-design.md §7)."""

from __future__ import annotations

import pytest

from github_runner.egress.allowlist import Allowlist, AllowlistError, load_file, normalize_name, parse_entry


@pytest.mark.parametrize(
    ("entry", "canonical"),
    [
        ("example.com", "example.com:443"),
        ("Example.COM.", "example.com:443"),
        ("host:80", "host:80"),
        ("*.example.com:443", "*.example.com:443"),
        ("productionresultssa*.blob.core.windows.net", "productionresultssa*.blob.core.windows.net:443"),
        ("example.com:*", "example.com:*"),
        ("example.com:8000-8099", "example.com:8000-8099"),
        ("time.example.com:123/udp", "time.example.com:123/udp"),
        ("192.0.2.10:5432", "192.0.2.10:5432"),
        ("10.20.0.0/16:5432", "10.20.0.0/16:5432"),
        ("10.20.0.0/16", "10.20.0.0/16"),
        ("[2001:db8::1]:443", "[2001:db8::1]:443"),
        ("2001:db8::/32", "[2001:db8::/32]"),
        ("bücher.example", "xn--bcher-kva.example:443"),
    ],
)
def test_parse_canonical(entry: str, canonical: str) -> None:
    assert parse_entry(entry).canonical == canonical


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("*foo.com", "'*' must be the whole label"),
        ("a.*.com", "left-most label"),
        ("host:0", "outside 1-65535"),
        ("host:70000", "outside 1-65535"),
        ("host:abc", "not a number"),
        ("", "empty entry"),
        ("*", "needs a domain"),
        ("*.com", "too broad"),
        ("a**b.example.com", "only one '*'"),
        ("host:", "missing port"),
        ("host:1-5000", "wider than"),
        ("10.0.0.1/8", "not a valid IP"),
        ("[2001:db8::1", "missing ']'"),
        ("a..b.com", "empty label"),
        ("x" * 64 + ".com", "max 63"),
    ],
)
def test_parse_errors_name_entry_and_index(entry: str, why: str) -> None:
    with pytest.raises(AllowlistError) as info:
        Allowlist.parse(["ok.example", entry], "policy.yml")
    msg = str(info.value)
    assert why in msg
    assert "entry 1" in msg and repr(entry) in msg and msg.startswith("policy.yml:")


def test_wildcard_semantics() -> None:
    al = Allowlist.parse(["*.x.example", "abc*.y.example", "exact.example", "pre*suf.z.example"])
    names = {
        "a.x.example": True,
        "a.b.x.example": True,  # multi-label below the wildcard
        "x.example": False,  # the wildcard does not cover its own apex
        "abc.y.example": True,
        "abcdef.y.example": True,
        "ab.y.example": False,
        "q.abc.y.example": False,  # mid-label wildcard is exactly one label
        "EXACT.example.": True,
        "sub.exact.example": False,
        "pre-1-suf.z.example": True,
        "pre-1.z.example": False,
    }
    for name, expected in names.items():
        assert bool(al.name_rules(normalize_name(name))) is expected, name


def test_ports_and_protocols() -> None:
    al = Allowlist.parse(["a.example:8000-8099", "b.example:53/udp", "c.example:*", "10.0.0.0/8:5432"])
    assert al.allows_endpoint("a.example", None, "tcp", 8050)
    assert not al.allows_endpoint("a.example", None, "tcp", 8100)
    assert not al.allows_endpoint("b.example", None, "tcp", 53)
    assert al.allows_endpoint("b.example", None, "udp", 53)
    assert al.allows_endpoint("c.example", None, "tcp", 1)
    assert al.allows_endpoint(None, "10.1.2.3", "tcp", 5432)
    assert not al.allows_endpoint(None, "11.1.2.3", "tcp", 5432)


def test_load_file_forms(tmp_path) -> None:
    plain = "# baseline\nghcr.io\npypi.org:443  # comment\n"
    assert load_file("a.txt", plain).canonical() == ["ghcr.io:443", "pypi.org:443"]
    yaml = "egress:\n  allow:\n    - ghcr.io\n    - '*.amazonaws.com'\n"
    assert load_file("b.yml", yaml).canonical() == ["ghcr.io:443", "*.amazonaws.com:443"]
    with pytest.raises(AllowlistError, match=r"c.txt: entry 1 'a\.\*\.com'"):
        load_file("c.txt", "ok.example\na.*.com\n")
