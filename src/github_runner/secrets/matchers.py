"""Multi-literal matchers: find every occurrence of every pattern in a block, overlaps included.

Two engines behind one method, `find_all(buf) -> [(pattern index, start, end), ...]`:

- `HyperscanMatcher` (Intel Hyperscan, SIMD literal matching): the default. On this machine
  it scans 1 MiB blocks at 1.5-3 GB/s with 100-1000 secrets and their forms, 5-8x the
  Aho-Corasick DFA (figures in `bench/masker.py`). Hyperscan caps literal length for
  start-of-match reporting, so patterns longer than `PROBE` bytes are searched by their first
  `PROBE` bytes and confirmed with `startswith`.
- `AhoCorasickMatcher` (`ahocorasick-rs`): the fallback where Hyperscan cannot load (non-x86
  CPUs), or when `GITHUB_RUNNER_MASKER_ENGINE=ahocorasick`.

Which one ran is visible as `Masker.engine`, so a slow runner can be explained.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Protocol

log = logging.getLogger("github_runner.secrets")

Match = tuple[int, int, int]
ENGINE_ENV = "GITHUB_RUNNER_MASKER_ENGINE"


class Matcher(Protocol):
    name: str

    def find_all(self, buf: bytes) -> list[Match]: ...


class HyperscanMatcher:
    name = "hyperscan"
    PROBE = 8192

    def __init__(self, patterns: list[bytes]) -> None:
        import hyperscan

        self._hs = hyperscan
        self._long = {i: p for i, p in enumerate(patterns) if len(p) > self.PROBE}
        probes = [p[: self.PROBE] for p in patterns]
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(
            expressions=probes,
            ids=list(range(len(probes))),
            elements=len(probes),
            flags=[hyperscan.HS_FLAG_SOM_LEFTMOST] * len(probes),
            literal=True,
        )
        self._local = threading.local()  # scratch space is per thread in Hyperscan

    def _scratch(self) -> object:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        return scratch

    def find_all(self, buf: bytes) -> list[Match]:
        found: list[Match] = []
        add = found.append

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            add((index, start, end))

        self._db.scan(buf, match_event_handler=on_match, scratch=self._scratch())
        if not self._long or not found:
            return found
        confirmed: list[Match] = []
        for index, start, end in found:
            pattern = self._long.get(index)
            if pattern is None:
                confirmed.append((index, start, end))
            elif buf.startswith(pattern, start):
                confirmed.append((index, start, start + len(pattern)))
        return confirmed


# Building a DFA grows with pattern length: ~100 ms for five 600-character secrets with their
# forms, ~9 s for one 16 000-character secret. Past these sizes the contiguous NFA (built in
# milliseconds, scanning at about half the DFA's speed) is used.
DFA_MAX_PATTERN = 256
DFA_MAX_TOTAL = 1024 * 1024


class AhoCorasickMatcher:
    """A leftmost-longest scan for the whole block, and an overlapping search near its hits.

    Leftmost-longest misses only matches that start inside one of its hits (or at a hit's
    start, when shorter). Those end before `hit.end - 1 + longest`, so an overlapping search
    over each hit's region (regions merged) completes the set at little cost: hits are rare.
    """

    name = "ahocorasick"

    def __init__(self, patterns: list[bytes]) -> None:
        import ahocorasick_rs  # only where Hyperscan is not used: ~2 ms of a cold start otherwise

        impl = ahocorasick_rs.Implementation
        self._longest = max(map(len, patterns))
        small = self._longest <= DFA_MAX_PATTERN and sum(map(len, patterns)) <= DFA_MAX_TOTAL
        self._scanner = ahocorasick_rs.BytesAhoCorasick(
            patterns,
            matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
            implementation=impl.DFA if small else impl.ContiguousNFA,
        )
        self._overlapper = ahocorasick_rs.BytesAhoCorasick(patterns, implementation=impl.ContiguousNFA)

    def find_all(self, buf: bytes) -> list[Match]:
        found = self._scanner.find_matches_as_indexes(buf)
        if not found:
            return found
        n, reach = len(buf), self._longest - 1
        regions: list[list[int]] = []
        for _, start, end in found:
            stop = min(n, end + reach)
            if regions and start <= regions[-1][1]:
                regions[-1][1] = max(regions[-1][1], stop)
            else:
                regions.append([start, stop])
        complete: list[Match] = []
        for begin, stop in regions:
            window = buf[begin:stop]
            for index, s, e in self._overlapper.find_matches_as_indexes(window, overlapping=True):
                complete.append((index, begin + s, begin + e))
        return complete


ENGINES: dict[str, type[HyperscanMatcher] | type[AhoCorasickMatcher]] = {
    "hyperscan": HyperscanMatcher,
    "ahocorasick": AhoCorasickMatcher,
}


def build_matcher(patterns: list[bytes], engine: str | None = None) -> Matcher:
    """The requested engine (argument, then $GITHUB_RUNNER_MASKER_ENGINE), else the fastest
    one that loads. `patterns` must be non-empty and free of empty strings."""
    wanted = engine or os.environ.get(ENGINE_ENV) or ""
    if wanted:
        if wanted not in ENGINES:
            raise ValueError(f"{ENGINE_ENV}={wanted!r}: expected one of {', '.join(ENGINES)}")
        return ENGINES[wanted](patterns)
    try:
        return HyperscanMatcher(patterns)
    except ImportError:
        return AhoCorasickMatcher(patterns)
    except Exception as exc:  # hyperscan.error: a database over its size limits
        log.warning("Hyperscan refused the secret patterns (%s); using Aho-Corasick", exc)
        return AhoCorasickMatcher(patterns)
