"""The dataclass bytecode cache: classes behave as without it, and a second process compiles nothing.

Each case runs in a fresh interpreter (the cache hooks a process once), against a cache file in
the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, sys
from pathlib import Path
use_cache = sys.argv[2] == "1"
if use_cache:
    from github_runner.engine import dccache
    dccache.install(Path(sys.argv[1]))
import dataclasses
from dataclasses import dataclass, field

@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 2
    tags: tuple = ()

@dataclass(order=True)
class Box:
    name: str
    items: list = field(default_factory=list)
    size: int = field(default=0, compare=False)

p = Point(1)
b1, b2 = Box("a", [1]), Box("b")
try:
    p.x = 5
    frozen = "no error"
except dataclasses.FrozenInstanceError as exc:
    frozen = type(exc).__name__
out = {
    "repr": [repr(p), repr(b1)], "eq": [p == Point(1, 2), b1 == Box("a", [1], size=9)],
    "order": b1 < b2, "hash": hash(p) == hash(Point(1)), "frozen": frozen,
    "fields": [f.name for f in dataclasses.fields(Box)], "default": Box("c").items,
    "annotations": str(Point.__init__.__annotations__),
}
if use_cache:
    import atexit
    atexit._run_exitfuncs()
    out["added"] = dccache._installed.added
print(json.dumps(out))
"""


def _probe(cache: Path, use_cache: bool, *flags: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, *flags, "-c", PROBE, str(cache), "1" if use_cache else "0"],
                          capture_output=True, text=True, check=True, timeout=60, env=env)
    return json.loads(proc.stdout)


def test_classes_behave_the_same_and_a_second_process_compiles_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "dc.marshal"
    plain = _probe(cache, False)
    first = _probe(cache, True)
    assert cache.is_file() and first.pop("added") > 5
    second = _probe(cache, True)
    assert second.pop("added") == 0
    assert plain == first == second
    assert plain["frozen"] == "FrozenInstanceError" and plain["eq"] == [True, True]


def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    cache = tmp_path / "dc.marshal"
    cache.write_bytes(b"\x00garbage")
    result = _probe(cache, True)
    assert result.pop("added") > 5
    assert result == _probe(cache, False)
    assert _probe(cache, True)["added"] == 0


def test_nothing_is_written_when_bytecode_writing_is_off(tmp_path: Path) -> None:
    cache = tmp_path / "dc.marshal"
    _probe(cache, True, "-B")
    assert not cache.exists()
    assert not list(tmp_path.iterdir())
