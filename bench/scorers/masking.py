"""Scorer for the secret-masker vector formats (`testdata/masking/`, see its README).

One file may hold sections of three upstream styles, recognised by their keys, not by the
file name or the case ids:

- GitHub runner: `default_encoders_case`, `ampersand_cases`, `add_mask_cases`,
  `basic_cases_from_old_agent_tests`;
- Azure Pipelines agent: `cases` of `{input, expect}` / `{checks}` / `{description}`, with
  optional `secrets_each_alone`, `patterns`, `encoders`, `min_length`, `then`;
- GitLab runner: `masker`, `flush`, `url_sanitizer`, `token_sanitizer.cases`, `integration`.

Every input goes through the streaming masker chunk by chunk (`writes`, or the whole input as
one write), then flush. GitLab expectations are compared after mapping `[MASKED]` to `***` and
collapsing runs of mask tokens, on both sides. The upstream maskers have no minimum length, so
the masker is built with `min_length=1` unless a case states one.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from scorers.common import CaseResult

from github_runner.secrets import Masker
from github_runner.secrets import detectors as det
from github_runner.secrets.encoders import NAMED_ENCODERS, Encoder, replacer

MASK = "***"
_RUNS = re.compile(r"(?:\*\*\*)+")


def normalise(text: str) -> str:
    return _RUNS.sub(MASK, text.replace("[MASKED]", MASK))


def stream_through(masker: Masker, writes: Iterable[str]) -> tuple[str, str]:
    """(output released before flush, whole output) for the given chunks."""
    before, whole, _ = _stream(masker, writes)
    return before, whole


def _stream(masker: Masker, writes: Iterable[str]) -> tuple[str, str, int]:
    stream = masker.stream()
    before = b"".join(stream.write(w.encode()) for w in writes)
    held = stream.pending
    return before.decode(), (before + stream.flush()).decode(), held


def _check(id: str, got: str, expect: str, *, gitlab: bool = False) -> CaseResult:
    if gitlab:
        got, expect = normalise(got), normalise(expect)
    return CaseResult.check(id, got == expect, f"expected {expect[:200]!r}, got {got[:200]!r}")


# --- GitHub runner ------------------------------------------------------------------------------

_ESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}


def _unescape_data(data: str) -> str:
    return re.sub(r"%25|%0D|%0A", lambda m: _ESCAPES[m.group(0)], data)


def _apply_command(masker: Masker, line: str) -> None:
    """The masker side of the two commands these vectors use (parsing is the commands scorer's)."""
    found = re.fullmatch(r"::([a-z-]+)::(.*)", line, re.S)
    if found is None:
        raise ValueError(f"not a workflow command: {line!r}")
    name, data = found.group(1), _unescape_data(found.group(2))
    if name == "add-mask":
        masker.add(data, source="::add-mask::")
    elif name == "stop-commands":
        masker.add(data, source="::stop-commands:: token")
    else:
        raise ValueError(f"command {name!r} does not touch the masker")


def _runner_masker(secrets: Iterable[str]) -> Masker:
    masker = Masker(min_length=1)
    for secret in secrets:
        masker.add(secret, source="vector")
    return masker


def _score_runner(doc: dict[str, Any]) -> list[CaseResult]:
    results: list[CaseResult] = []
    case = doc.get("default_encoders_case")
    if case:
        masker = _runner_masker(case.get("secrets", []))
        for i, check in enumerate(case.get("checks", [])):
            got = stream_through(masker, [check["input"]])[1]
            results.append(_check(f"{case['id']}/{i}", got, check["expect"]))
    plain = list(doc.get("ampersand_cases") or [])
    plain += list((doc.get("basic_cases_from_old_agent_tests") or {}).get("cases") or [])
    for case in plain:
        got = stream_through(_runner_masker(case.get("secrets", [])), [case["input"]])[1]
        results.append(_check(case["id"], got, case["expect"]))
    for case in doc.get("add_mask_cases") or []:
        masker = _runner_masker([])
        try:
            for line in case.get("commands", []):
                _apply_command(masker, line)
        except ValueError as exc:
            results.append(CaseResult(case["id"], "failed", str(exc)))
            continue
        for i, check in enumerate(case.get("checks", [])):
            got = stream_through(masker, [check["input"]])[1]
            results.append(_check(f"{case['id']}/{i}", got, check["expect"]))
    return results


# --- Azure Pipelines agent ----------------------------------------------------------------------


def _encoder(spec: str) -> Encoder:
    found = re.fullmatch(r"replace (.+) with (.+)", spec)
    if found:
        new = " " if found.group(2) == "space" else found.group(2)
        return replacer(found.group(1), new)
    try:
        return NAMED_ENCODERS[spec]
    except KeyError:
        raise ValueError(f"unknown encoder {spec!r}") from None


def _azure_masker(case: dict[str, Any], secrets: Iterable[str]) -> Masker:
    encoders = [_encoder(e) for e in case["encoders"]] if "encoders" in case else None
    detectors = [det.detector_by_name(p) for p in case.get("patterns", [])]
    kwargs: dict[str, Any] = {"detectors": detectors, "refuse_blank": False}
    if encoders is not None:
        kwargs["encoders"] = encoders
    masker = Masker(int(case.get("min_length", 1)), **kwargs)
    for secret in secrets:
        masker.add(secret, source="vector")
    return masker


def _run_checks(id: str, masker: Masker, checks: list[dict[str, str]]) -> list[CaseResult]:
    return [
        _check(f"{id}/{i}", stream_through(masker, [c["input"]])[1], c["expect"])
        for i, c in enumerate(checks)
    ]


def _clone_isolation(id: str) -> CaseResult:
    """The rule-only clone case, as a check: additions after the clone stay on their side."""
    original = Masker(min_length=1)
    original.add("shared-before-clone")
    twin = original.clone()
    original.add("original-only")
    twin.add("twin-only")
    ok = (
        original.mask("shared-before-clone") == MASK
        and twin.mask("shared-before-clone") == MASK
        and original.mask("twin-only") == "twin-only"
        and twin.mask("original-only") == "original-only"
        and twin.mask("twin-only") == MASK
    )
    return CaseResult.check(id, ok, "clone shares later additions")


def _score_azure_case(case: dict[str, Any]) -> list[CaseResult]:
    id = case["id"]
    if "description" in case and not any(k in case for k in ("input", "checks", "secrets")):
        if "clone" in case["description"]:
            return [_clone_isolation(id)]
        return [CaseResult(id, "skipped", "rule stated in words only")]
    if "secrets_each_alone" in case:
        results = []
        encoders = [_encoder(e) for e in case.get("encoders", [])] or list(NAMED_ENCODERS.values())
        for i, secret in enumerate(case["secrets_each_alone"]):
            masker = _azure_masker(case, [secret])
            forms = {secret} | {e(secret) for e in encoders if e(secret)}
            bad = [f for f in sorted(forms) if stream_through(masker, [f])[1] != MASK]
            results.append(CaseResult.check(f"{id}/{i}", not bad, f"not masked alone: {bad!r}"))
        return results
    masker = _azure_masker(case, case.get("secrets", []))
    if "checks" in case:
        results = _run_checks(id, masker, case["checks"])
    else:
        results = [_check(id, stream_through(masker, [case["input"]])[1], case["expect"])]
    then = case.get("then")
    if then:
        if "add_secret" in then:
            masker.add(then["add_secret"], source="vector")
        if "min_length" in then:
            masker.min_length = int(then["min_length"])
        if "checks" in then:
            results += _run_checks(f"{id}/then", masker, then["checks"])
        if "input" in then:
            got = stream_through(masker, [then["input"]])[1]
            results.append(_check(f"{id}/then", got, then["expect"]))
    return results


# --- GitLab runner ------------------------------------------------------------------------------


def _gitlab_masker(case: dict[str, Any], default_prefixes: list[str]) -> Masker:
    prefixes = list(default_prefixes or det.DEFAULT_TOKEN_PREFIXES) + list(
        case.get("extra_prefixes", [])
    )
    detectors = [
        det.UrlCredentialsDetector(),
        det.QueryTokenDetector(),
        det.TokenPrefixDetector(prefixes),
    ]
    masker = Masker(min_length=1, detectors=detectors)
    for secret in case.get("secrets", []):
        masker.add(secret, source="vector")
    return masker


def _gitlab_case(case: dict[str, Any], prefixes: list[str]) -> CaseResult:
    id = case["id"]
    writes = case.get("writes") or [case["input"]]
    before, whole, held = _stream(_gitlab_masker(case, prefixes), writes)
    if "expect" in case:
        return _check(id, whole, case["expect"], gitlab=True)
    return _flush_case(case, before, whole, held)


def _flush_case(case: dict[str, Any], before: str, whole: str, held: int) -> CaseResult:
    """What was released before close. The rule (README): bytes that could still start a
    secret are held until a decision is possible; after a line break nothing is held. GitLab
    also holds the harmless bytes between its last match and the held tail, so GitLab's text
    must be a prefix of ours, and every tail of the input that is a proper prefix of a secret
    must be among the bytes we held."""
    expected = normalise(case["expect_after_write_before_close"])
    text = case["input"].encode()
    must_hold = max(
        (k for s in case.get("secrets", []) for k in range(1, len(s.encode()))
         if text.endswith(s.encode()[:k])),
        default=0,
    )  # fmt: skip
    got = normalise(before)
    ok = got.startswith(expected) and normalise(whole).startswith(got) and held >= must_hold
    if text.endswith((b"\n", b"\r")):
        ok = ok and got == expected and held == 0
    detail = f"released {got!r} (held {held} bytes, must hold {must_hold}), expected {expected!r}"
    return CaseResult.check(case["id"], ok, detail)


def _score_gitlab(doc: dict[str, Any]) -> list[CaseResult]:
    results: list[CaseResult] = []
    token = doc.get("token_sanitizer") or {}
    prefixes = list(token.get("default_prefixes") or [])
    for section in ("masker", "flush", "url_sanitizer"):
        for case in doc.get(section) or []:
            results.append(_gitlab_case(case, prefixes))
    informational = "informational" in str(token.get("note", ""))
    for case in token.get("cases") or []:
        # The note marks the one case that depends on GitLab's prefix ordering and 15-prefix cap.
        if informational and len(case.get("extra_prefixes", [])) + len(prefixes) > 15:
            results.append(CaseResult(case["id"], "skipped", "informational (GitLab prefix cap)"))
            continue
        results.append(_gitlab_case(case, prefixes))
    integration = doc.get("integration")
    if integration:
        results.append(CaseResult("integration", "skipped", "whole-job check: tests/integration"))
    return results


# --- dispatch -----------------------------------------------------------------------------------

_SECTIONS: list[tuple[tuple[str, ...], Callable[[dict[str, Any]], list[CaseResult]]]] = [
    (("default_encoders_case", "ampersand_cases", "add_mask_cases",
      "basic_cases_from_old_agent_tests"), _score_runner),
    (("masker", "flush", "url_sanitizer", "token_sanitizer"), _score_gitlab),
    (("cases",), lambda doc: [r for c in doc["cases"] for r in _score_azure_case(c)]),
]  # fmt: skip


def score(path: Path) -> list[CaseResult]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    results: list[CaseResult] = []
    quiet = logging.getLogger("github_runner.secrets")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the vectors register refused values on purpose
    try:
        for keys, scorer in _SECTIONS:
            if any(key in doc for key in keys):
                results += scorer(doc)
    finally:
        quiet.setLevel(level)
    if not results:
        raise ValueError(f"{path}: no masking section found (expected one of the README formats)")
    return results
