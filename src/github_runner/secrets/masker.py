"""The streaming secret masker: every byte of job output passes through here before anyone sees it.

Rules (GitHub's runner, plus what `../shared/testdata/masking/` adds):

- every registered value and each of its derived forms (`encoders.py`) is masked wherever it
  occurs, case-sensitively, in bytes (UTF-8);
- overlapping or touching matches merge into one `***`, so the longest match wins and no
  fragment of a longer secret is left beside the token;
- shape detectors (`detectors.py`) mask URL passwords, sensitive query values and prefixed
  tokens even when never registered;
- a stream holds back only what could still turn into a match: a tail that is a proper prefix
  of some secret, a match that a following match could touch, and (with detectors on) the
  unfinished last word of the block. Everything else is released at once, so output order and
  all non-secret bytes are kept, and however the input is chunked the output is the same as
  masking it in one piece.

Matching uses one multi-literal matcher (`matchers.py`: Hyperscan, or Aho-Corasick as the
fallback) over whole blocks, with the detectors' literal anchors in the same database, so a
block is scanned once whatever the number of secrets; Python only touches the (rare) hits and
the short tail. See `bench/masker.py`.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from msgspec import Struct, field

from github_runner.secrets import detectors as det
from github_runner.secrets.encoders import DEFAULT_ENCODERS, Encoder, derived_forms
from github_runner.secrets.matchers import Matcher, build_matcher

log = logging.getLogger("github_runner.secrets")

MASK = "***"
DEFAULT_MIN_LENGTH = 4
# The unfinished last word is held back for the detectors, but never more than this: a
# megabyte of base64 on one line must not be buffered whole (beyond it, a detector span cut
# by a block boundary may be masked from the boundary on only).
WORD_HOLD_CAP = 64 * 1024
_PREFIX_KEY = 4


class _Compiled(Struct):
    """An immutable snapshot of the patterns; streams keep using one while `add` builds the next.

    One matcher over secrets and detector anchors together (secrets first, then anchors), so
    a block is scanned once whatever the number of secrets.
    """

    matcher: Matcher | None
    secret_count: int  # pattern indexes below this are secrets, the rest detector anchors
    anchors: list[tuple[det.Detector, bytes]]
    scanners: list[det.Detector]  # detectors that scan blocks themselves
    sorted_secrets: list[bytes]
    max_len: int  # longest secret
    first_bytes: frozenset[int]
    short_prefixes: frozenset[bytes]  # every prefix shorter than _PREFIX_KEY
    key_prefixes: frozenset[bytes]  # the first _PREFIX_KEY bytes of each longer secret
    has_detectors: bool
    mask: bytes = field(default=MASK.encode())

    @classmethod
    def build(
        cls,
        secrets: Iterable[bytes],
        detectors: Sequence[det.Detector],
        mask: bytes,
        engine: str | None = None,
    ) -> _Compiled:
        ordered = sorted(set(secrets))
        anchors = [(d, a) for d in detectors for a in d.anchors]
        patterns = ordered + [a for _, a in anchors]
        short: set[bytes] = set()
        keys: set[bytes] = set()
        for p in ordered:
            for k in range(1, min(len(p), _PREFIX_KEY)):
                short.add(p[:k])
            if len(p) > _PREFIX_KEY:
                keys.add(p[:_PREFIX_KEY])
        return cls(
            matcher=build_matcher(patterns, engine) if patterns else None,
            secret_count=len(ordered),
            anchors=anchors,
            scanners=[d for d in detectors if type(d).scan is not det.Detector.scan],
            sorted_secrets=ordered,
            max_len=max((len(p) for p in ordered), default=0),
            first_bytes=frozenset(p[0] for p in ordered),
            short_prefixes=frozenset(short),
            key_prefixes=frozenset(keys),
            has_detectors=bool(detectors),
            mask=mask,
        )

    def _is_proper_prefix(self, suffix: bytes) -> bool:
        secrets = self.sorted_secrets
        j = bisect_left(secrets, suffix)
        while j < len(secrets) and secrets[j].startswith(suffix):
            if len(secrets[j]) > len(suffix):
                return True
            j += 1
        return False

    def partial_start(self, buf: bytes) -> int:
        """Where the earliest tail of `buf` that could still grow into a match begins."""
        n = len(buf)
        if not self.max_len:
            return n
        first = self.first_bytes
        for i in range(max(0, n - self.max_len + 1), n):
            if buf[i] not in first:
                continue
            remaining = n - i
            if remaining < _PREFIX_KEY:
                if buf[i:] in self.short_prefixes:
                    return i
                continue
            if buf[i : i + _PREFIX_KEY] in self.key_prefixes and self._is_proper_prefix(buf[i:]):
                return i
        return n

    def process(self, buf: bytes, final: bool) -> tuple[bytes, int]:
        """Mask what can be decided in `buf`; return (output, index of the first held byte)."""
        n = len(buf)
        if not n or (self.matcher is None and not self.scanners):
            return buf, n
        hits = self.matcher.find_all(buf) if self.matcher is not None else []
        if final:
            cut = word = n
        else:
            word = _last_word_start(buf) if self.has_detectors else n
            cut = min(self.partial_start(buf), word)
        masks: list[tuple[int, int]] = []
        spans: list[tuple[int, int]] = []
        for detector in self.scanners:
            for hit in detector.scan(buf, word):
                masks.append(hit.mask)
                spans.append(hit.span)
        if not hits and not masks and cut == n:
            return buf, n
        secret_count = self.secret_count
        for index, start, end in hits:
            if index < secret_count:
                masks.append((start, end))
            elif start < word:
                detector, anchor = self.anchors[index - secret_count]
                hit = detector.match(buf, start, word, anchor)
                if hit is not None:
                    masks.append(hit.mask)
                    spans.append(hit.span)
        merged = _merge(masks)
        if not final:
            cut = _safe_cut(cut, merged, spans)
        return _render(buf, cut, merged, self.mask), cut


def _last_word_start(buf: bytes) -> int:
    n = len(buf)
    floor = max(0, n - WORD_HOLD_CAP)
    i = n
    breaks = det.WORD_BREAK
    while i > floor and buf[i - 1] not in breaks:
        i -= 1
    return i


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of ranges, joining touching ones: adjacent secrets become a single token."""
    if not ranges:
        return ranges
    ranges.sort()
    out = [ranges[0]]
    for start, end in ranges[1:]:
        last_start, last_end = out[-1]
        if start <= last_end:
            if end > last_end:
                out[-1] = (last_start, end)
        else:
            out.append((start, end))
    return out


def _safe_cut(cut: int, merged: list[tuple[int, int]], spans: list[tuple[int, int]]) -> int:
    """Move the release point left until no mask or detector span crosses or ends at it.

    A mask ending exactly at the cut is held too: a later match starting there must merge
    with it into one token, as it would if the text had arrived in one write.
    """
    moved = True
    while moved:
        moved = False
        for start, end in merged:
            if start < cut <= end:
                cut, moved = start, True
        for start, end in spans:
            if start < cut <= end:
                cut, moved = start, True
    return cut


def _held(start: int, end: int, cut: int) -> bool:
    """A mask range after the cut; an empty one *at* the cut (a query key with no value yet
    at end of stream) is rendered, since `_safe_cut` never leaves one there mid-stream."""
    return start > cut or (start == cut and end > cut)


def _render(buf: bytes, cut: int, merged: list[tuple[int, int]], mask: bytes) -> bytes:
    if not merged or _held(*merged[0], cut):
        return buf[:cut] if cut < len(buf) else buf
    view = memoryview(buf)  # slices of a view are not copies: the join below copies once
    pieces: list[bytes | memoryview] = []
    pos = 0
    for start, end in merged:
        if _held(start, end, cut):
            break
        pieces.append(view[pos:start])
        pieces.append(mask)
        pos = end
    pieces.append(view[pos:cut])
    return b"".join(pieces)


class MaskStream:
    """One output stream (a step's stdout+stderr, a log file): bytes in, masked bytes out.

    `write` returns what can be released now; `flush` releases the rest at end of stream. Do
    not flush on a timer: a secret printed in two writes with a sleep between must stay whole.
    """

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._pending = b""
        self._lock = threading.Lock()

    def write(self, data: bytes) -> bytes:
        with self._lock:
            buf = self._pending + data if self._pending else bytes(data)
            out, cut = self._masker._compiled().process(buf, final=False)
            self._pending = buf[cut:]
            return out

    def flush(self) -> bytes:
        with self._lock:
            buf, self._pending = self._pending, b""
            out, _ = self._masker._compiled().process(buf, final=True)
            return out

    @property
    def pending(self) -> int:
        """How many bytes are held back (for tests and diagnostics; never their content)."""
        return len(self._pending)


class Masker:
    """The registry of values to mask; thread-safe; cheap to query from many streams at once.

    `add` refuses values that would do more harm than good when masked: empty, whitespace-only
    (unless `refuse_blank=False`) or shorter than `min_length`; the warning names the source,
    never the value. `min_length` also applies to each derived form on its own.
    """

    def __init__(
        self,
        min_length: int = DEFAULT_MIN_LENGTH,
        *,
        encoders: Iterable[Encoder] = DEFAULT_ENCODERS,
        detectors: Iterable[det.Detector] | None = None,
        refuse_blank: bool = True,
        mask: str = MASK,
        engine: str | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._engine = engine
        self._min_length = max(1, min_length)
        self._encoders: list[Encoder] = list(encoders)
        self._detectors: list[det.Detector] = (
            det.default_detectors() if detectors is None else list(detectors)
        )
        self._refuse_blank = refuse_blank
        self._mask = mask
        self._values: dict[str, frozenset[bytes]] = {}  # value -> its forms, as UTF-8
        self._snapshot: _Compiled | None = None

    def __repr__(self) -> str:
        return f"<Masker {len(self._values)} values, min_length={self._min_length}>"

    def __reduce__(self) -> object:
        raise TypeError("a Masker holds secrets and cannot be pickled")

    # registration -------------------------------------------------------------------------

    def add(self, value: str, *, source: str = "") -> bool:
        """Register `value` and its derived forms; False (with a warning) if refused."""
        where = f" from {source}" if source else ""
        if not value:
            log.warning("ignoring an empty secret%s", where)
            return False
        if self._refuse_blank and not value.strip():
            log.warning("ignoring a whitespace-only secret%s", where)
            return False
        if len(value) < self._min_length:
            log.warning(
                "ignoring a secret%s shorter than %d characters (too short to mask safely)",
                where,
                self._min_length,
            )
            return False
        with self._lock:
            if value not in self._values:
                self._values[value] = self._forms(value)
                self._snapshot = None
        return True

    def add_encoder(self, encoder: Encoder) -> None:
        """Applies to values registered before and after (Azure Pipelines' rule)."""
        with self._lock:
            self._encoders.append(encoder)
            self._refresh_forms()

    @property
    def min_length(self) -> int:
        return self._min_length

    @min_length.setter
    def min_length(self, value: int) -> None:
        """Raising the minimum also drops registered values (and forms) now below it."""
        with self._lock:
            self._min_length = max(1, value)
            for secret in [v for v in self._values if len(v) < self._min_length]:
                del self._values[secret]
            self._refresh_forms()

    def clone(self) -> Masker:
        """An independent copy: later additions to either side do not reach the other."""
        with self._lock:
            twin = Masker(
                self._min_length,
                encoders=self._encoders,
                detectors=self._detectors,
                refuse_blank=self._refuse_blank,
                mask=self._mask,
                engine=self._engine,
            )
            twin._values = dict(self._values)
            return twin

    def __len__(self) -> int:
        return len(self._values)

    @property
    def engine(self) -> str:
        """The matching engine in use ("hyperscan" or "ahocorasick"; "none" before any pattern)."""
        matcher = self._compiled().matcher
        return matcher.name if matcher is not None else "none"

    def _forms(self, value: str) -> frozenset[bytes]:
        keep = self._min_length
        return frozenset(f.encode() for f in derived_forms(value, self._encoders) if len(f) >= keep)

    def _refresh_forms(self) -> None:
        for value in self._values:
            self._values[value] = self._forms(value)
        self._snapshot = None

    def _compiled(self) -> _Compiled:
        snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        with self._lock:
            if self._snapshot is None:
                forms: set[bytes] = set()
                for value_forms in self._values.values():
                    forms |= value_forms
                self._snapshot = _Compiled.build(
                    forms, self._detectors, self._mask.encode(), self._engine
                )
            return self._snapshot

    # masking ------------------------------------------------------------------------------

    def stream(self) -> MaskStream:
        return MaskStream(self)

    def mask_bytes(self, data: bytes) -> bytes:
        return self._compiled().process(bytes(data), final=True)[0]

    def mask(self, text: str) -> str:
        if not text:
            return text
        data = text.encode("utf-8", "surrogatepass")
        return self._compiled().process(data, final=True)[0].decode("utf-8", "surrogatepass")

    def contains_secret(self, text: str) -> bool:
        """True if masking would change `text` (a registered form or a detected credential)."""
        return bool(text) and self.mask(text) != text
