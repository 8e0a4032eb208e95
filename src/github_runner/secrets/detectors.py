"""Pattern detectors: credentials recognised by their shape, not because they were registered.

A token the runner never saw (a PAT pasted into a script, a pre-signed S3 URL, a
`https://user:pass@host` clone URL) still must not reach the log. A detector either has
literal *anchors* that go into the masker's matcher next to the secrets (token prefixes: rare,
case-sensitive), where each hit calls `match`; or it `scan`s the block itself with a Hyperscan
database of its own (URL credentials, caseless query keys), falling back to anchors or a regex
where Hyperscan is missing. Python only runs at the (rare) hits.

Every detector's span is free of whitespace and control bytes. The streaming masker relies on
that: it holds back the unfinished last word of a block, and a span can never straddle it.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from msgspec import Struct

GITHUB_TOKEN_PREFIXES: tuple[str, ...] = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
GITLAB_TOKEN_PREFIXES: tuple[str, ...] = (
    "glpat-", "gloas-", "gldt-", "glrt-", "glcbt-", "glrtr-", "glptt-", "glft-", "glimt-",
    "glagent-", "glsoat-", "glffct-", "_gitlab_session=", "gltok-",
)  # fmt: skip
DEFAULT_TOKEN_PREFIXES: tuple[str, ...] = GITHUB_TOKEN_PREFIXES + GITLAB_TOKEN_PREFIXES

SENSITIVE_QUERY_KEYS: tuple[str, ...] = (
    "private_token", "authenticity_token", "rss_token", "access_token", "x-amz-signature",
    "x-amz-credential", "x-amz-security-token", "sig",
)  # fmt: skip

# Bytes that end a "word": whitespace and ASCII control characters.
WORD_BREAK = frozenset(range(0x21)) | {0x7F}


class Hit(Struct, frozen=True):
    """One detection: `span` must not be cut by a stream boundary; `mask` is replaced."""

    span: tuple[int, int]
    mask: tuple[int, int]


class Detector:
    """Base: `anchors` are literal bytes; `match` inspects the text where `anchor` was found."""

    name: str = ""
    anchors: tuple[bytes, ...] = ()

    def match(self, buf: bytes, at: int, end: int, anchor: bytes) -> Hit | None:  # pragma: no cover
        raise NotImplementedError

    def scan(self, buf: bytes, end: int) -> list[Hit]:
        """Detectors whose anchors would be too common in logs scan the block themselves."""
        return []


_TOKEN_BODY = re.compile(rb"[A-Za-z0-9._=-]+")


class TokenPrefixDetector(Detector):
    """`glpat-xxxx`, `ghp_xxxx`: keep the prefix (it says what leaked), mask the body."""

    name = "token-prefixes"

    def __init__(self, prefixes: Iterable[str] = DEFAULT_TOKEN_PREFIXES) -> None:
        self.anchors = tuple(dict.fromkeys(p.encode() for p in prefixes if p))

    def match(self, buf: bytes, at: int, end: int, anchor: bytes) -> Hit | None:
        body = _TOKEN_BODY.match(buf, at + len(anchor), end)
        if body is None:
            return None
        return Hit((at, body.end()), (body.start(), body.end()))


class QueryTokenDetector(Detector):
    """`?private_token=...`, `&X-Amz-Signature=...`: mask the value up to `&`, `?` or a break.

    Keys match in any letter case; an empty value is still replaced (GitLab's rule), so a
    value that arrives in a later write cannot slip out unmasked. With Hyperscan the keys are
    one caseless database scanned over the block; without it they become anchors in the shared
    automaton: `?` or `&` followed by every letter case of a key's first few characters
    (anchors starting with a common letter would make the automaton stop everywhere).
    """

    name = "url-query-tokens"
    _HEAD = 4

    def __init__(self, keys: Sequence[str] = SENSITIVE_QUERY_KEYS) -> None:
        self._keys = tuple(sorted((k.lower().encode() for k in keys), key=len, reverse=True))
        patterns = tuple(rb"[?&]" + re.escape(k) + rb"=" for k in self._keys)
        self._db = _hs_database(patterns, "caseless-som")
        if self._db is not None:
            return
        anchors: set[bytes] = set()
        for key in self._keys:
            for head in _case_variants(key[: self._HEAD]):
                anchors.update((b"?" + head, b"&" + head))
        self.anchors = tuple(sorted(anchors))

    def scan(self, buf: bytes, end: int) -> list[Hit]:
        if self._db is None or (b"?" not in buf and b"&" not in buf):
            return []
        return [
            self._hit(buf, start, eq_end, end)
            for _, start, eq_end in _hs_scan(self._db, buf)
            if start < end
        ]

    @staticmethod
    def _hit(buf: bytes, start: int, value_at: int, end: int) -> Hit:
        value = _QUERY_VALUE.match(buf, value_at, end)
        stop = value.end() if value else value_at
        return Hit((start, stop), (value_at, stop))

    def match(self, buf: bytes, at: int, end: int, anchor: bytes) -> Hit | None:
        start = at + 1
        for key in self._keys:
            eq = start + len(key)
            if eq < end and buf[eq] == 0x3D and buf[start:eq].lower() == key:  # "="
                return self._hit(buf, at, eq + 1, end)
        return None


_QUERY_VALUE = re.compile(rb"[^&?\x00-\x20\x7f]+")


def _case_variants(text: bytes) -> set[bytes]:
    variants = {b""}
    for byte in text:
        char = bytes([byte])
        forms = {char.lower(), char.upper()}
        variants = {v + f for v in variants for f in forms}
    return variants


class UrlCredentialsDetector(Detector):
    """`scheme://user:password@host`: mask the password, keep the user (it helps debugging).

    `://` is too common in logs to be an anchor in the shared automaton (every URL would call
    back into Python), so this detector scans the block itself: with a Hyperscan database of
    its own where available (~5 GB/s; it reports only where a credential URL ends), then the
    regex on that line alone; else with the regex over the block (~1.4 GB/s).
    """

    name = "url-credentials"
    _re = re.compile(rb"://[^\x00-\x20\x7f/:@]+:([^\x00-\x20\x7f/@]+)@")
    _hs_pattern = rb"://[^\x00-\x20\x7f/:@]+:[^\x00-\x20\x7f/@]+@"  # the same, no group

    def __init__(self) -> None:
        self._db = _hs_database((self._hs_pattern,), "ends")

    def scan(self, buf: bytes, end: int) -> list[Hit]:
        if b"@" not in buf or b"://" not in buf:
            return []
        if self._db is None:
            return [self._hit(m) for m in self._re.finditer(buf, 0, end)]
        ends = [stop for _, _, stop in _hs_scan(self._db, buf)]
        hits: dict[tuple[int, int], Hit] = {}
        lines_done: set[int] = set()
        for stop in ends:
            if stop > end:
                continue
            line = buf.rfind(b"\n", 0, stop) + 1
            if line in lines_done:
                continue
            lines_done.add(line)
            for found in self._re.finditer(buf, line, min(end, _line_end(buf, stop))):
                hits[found.span()] = self._hit(found)
        return list(hits.values())

    @staticmethod
    def _hit(found: re.Match[bytes]) -> Hit:
        return Hit((found.start(), found.end()), (found.start(1), found.end(1)))


_scratch = threading.local()


@functools.cache
def _hs_database(patterns: tuple[bytes, ...], kind: str) -> Any:
    """A Hyperscan database for a detector's own patterns, compiled once per process (a few
    ms each; maskers are built per job and rebuilt on `::add-mask::`), or None without
    Hyperscan. Kept for the life of the process, so per-thread scratch can be keyed by it."""
    try:
        import hyperscan
    except ImportError:
        return None
    flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SOM_LEFTMOST if kind == "caseless-som" else 0
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=list(patterns), ids=list(range(len(patterns))),
               elements=len(patterns), flags=[flags] * len(patterns))  # fmt: skip
    return db


def _hs_scan(db: Any, buf: bytes) -> list[tuple[int, int, int]]:
    import hyperscan

    scratches: dict[int, Any] = _scratch.__dict__.setdefault("by_db", {})
    scratch = scratches.get(id(db))
    if scratch is None:
        scratch = scratches[id(db)] = hyperscan.Scratch(db)
    found: list[tuple[int, int, int]] = []
    db.scan(buf, match_event_handler=lambda i, s, e, f, c: found.append((i, s, e)), scratch=scratch)
    return found


def _line_end(buf: bytes, at: int) -> int:
    stop = buf.find(b"\n", at)
    return len(buf) if stop < 0 else stop


def default_detectors() -> list[Detector]:
    return [UrlCredentialsDetector(), QueryTokenDetector(), TokenPrefixDetector()]


def detector_by_name(name: str) -> Detector:
    table = {
        "url-credentials": UrlCredentialsDetector,
        "url-query-tokens": QueryTokenDetector,
        "token-prefixes": TokenPrefixDetector,
    }
    try:
        return table[name]()
    except KeyError:
        raise ValueError(f"unknown masking pattern {name!r}; known: {', '.join(table)}") from None


