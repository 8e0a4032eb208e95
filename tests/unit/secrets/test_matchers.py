"""Both matching engines: every occurrence, overlaps included, long patterns, threads."""

from __future__ import annotations

import threading

import pytest

from github_runner.secrets.matchers import ENGINES, HyperscanMatcher, build_matcher


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_all_occurrences_including_overlaps(engine: str) -> None:
    patterns = [b"abcd", b"cdxyz", b"bc", b"zz"]
    found = sorted(build_matcher(patterns, engine).find_all(b"..abcdxyzz.."))
    assert found == [(0, 2, 6), (1, 4, 9), (2, 3, 5), (3, 8, 10)]


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_patterns_longer_than_the_probe(engine: str) -> None:
    long = b"x" * 5 + b"y" * (HyperscanMatcher.PROBE + 100)
    twin = long[:-1] + b"z"  # same probe, different tail
    matcher = build_matcher([long, twin], engine)
    text = b"--" + long + b"--" + twin[: HyperscanMatcher.PROBE + 10] + b"--"
    assert matcher.find_all(text) == [(0, 2, 2 + len(long))]


def test_threads_get_their_own_scratch() -> None:
    matcher = build_matcher([b"needle"], "hyperscan")
    text = b"hay " * 50_000 + b"needle"
    results: list[int] = []

    def scan() -> None:
        for _ in range(20):
            results.append(len(matcher.find_all(text)))

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1] * 80


def test_unknown_engine_is_named() -> None:
    with pytest.raises(ValueError, match="GITHUB_RUNNER_MASKER_ENGINE='re2'"):
        build_matcher([b"a"], "re2")
