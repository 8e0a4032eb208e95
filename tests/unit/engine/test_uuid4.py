"""`engine.uuid4` writes what `str(uuid.uuid4())` writes: a random version-4, RFC 4122 UUID."""

from __future__ import annotations

import uuid

from github_runner.engine.uuid4 import uuid4


def test_random_uuid_text_is_a_version_4_uuid() -> None:
    seen = {uuid4() for _ in range(2000)}
    assert len(seen) == 2000
    for text in seen:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # every random bit varies: no position is stuck apart from the version and variant bits
    ints = [uuid.UUID(t).int for t in seen]
    fixed = (0xF << 76) | (0x3 << 62)
    varying = 0
    for value in ints:
        varying |= value ^ ints[0]
    assert varying == ((1 << 128) - 1) & ~fixed
