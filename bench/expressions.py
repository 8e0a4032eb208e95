#!/usr/bin/env python3
"""Expression engine cost on the per-step hot path, next to a hand-written Python floor.

    uv run python bench/expressions.py [--n 20000]

For each typical expression it prints microseconds per evaluation of the cached tree, of the
text (cache lookup + evaluation), of the `if:` rule, and the same logic written directly in
Python (dict lookups and comparisons: the floor no interpreter can beat), all measured in this
run. Also prints an uncached parse and an `${{ }}` interpolation.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

from github_runner.engine.expressions import (
    EvalContext,
    evaluate,
    evaluate_condition,
    interpolate,
    parse,
)
from github_runner.engine.expressions import parser as parser_module

CONTEXTS: dict[str, Any] = {
    "github": {
        "event_name": "push",
        "ref": "refs/heads/main",
        "event": {"pull_request": {"labels": [{"name": "bug"}, {"name": "ci"}]}},
    },
    "matrix": {"os": "linux"},
    "steps": {"build": {"outputs": {"tag": "v1"}, "outcome": "success"}},
    "env": {"A": "1"},
}
G = CONTEXTS["github"]


def _floor_and() -> Any:
    return G["event_name"].upper() == "PUSH" and G["ref"].upper() == "REFS/HEADS/MAIN"


def _floor_contains() -> Any:
    return any(x["name"].upper() == "CI" for x in G["event"]["pull_request"]["labels"])


def _floor_format() -> Any:
    return f"{CONTEXTS['matrix']['os']}-{CONTEXTS['steps']['build']['outputs']['tag']}"


CASES: list[tuple[str, Callable[[], Any]]] = [
    ("github.event_name == 'push' && github.ref == 'refs/heads/main'", _floor_and),
    ("contains(github.event.pull_request.labels.*.name, 'ci')", _floor_contains),
    ("format('{0}-{1}', matrix.os, steps.build.outputs.tag)", _floor_format),
]


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    return min(timeit.repeat(fn, number=n, repeat=3)) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n
    ctx = EvalContext(CONTEXTS)
    print(f"{'expression':58} {'tree':>7} {'text':>7} {'if:':>7} {'python':>7}  (us/eval)")
    for text, floor in CASES:
        node = parse(text)
        assert evaluate(node, ctx) == floor(), text
        tree = per_call_us(lambda: evaluate(node, ctx), n)
        cached = per_call_us(lambda: evaluate(text, ctx), n)
        cond = per_call_us(lambda: evaluate_condition(text, ctx), n)
        base = per_call_us(floor, n)
        print(f"{text[:58]:58} {tree:7.2f} {cached:7.2f} {cond:7.2f} {base:7.2f}")
    template = "echo ${{ matrix.os }} on ${{ github.ref }}"
    interp = per_call_us(lambda: interpolate(template, ctx), n)
    interp_floor = per_call_us(lambda: f"echo {CONTEXTS['matrix']['os']} on {G['ref']}", n)
    print(f"{'interpolate ' + repr(template):58} {interp:7.2f} {'':7} {'':7} {interp_floor:7.2f}")
    text = CASES[1][0]

    def uncached() -> None:
        parser_module._parse_cached.cache_clear()
        parse(text)

    print(f"{'uncached parse of the contains() expression':58} {per_call_us(uncached, max(n // 10, 1)):7.2f}")
    ctx_us = per_call_us(lambda: EvalContext(CONTEXTS), n)
    print(f"{'EvalContext construction':58} {ctx_us:7.2f}")
    bench_hashfiles()


def bench_hashfiles() -> None:
    """hashFiles over 2000 files vs os.walk + sha256 of the same files (the floor)."""
    import hashlib
    import os
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for d in range(40):
            sub = root / f"d{d:02}" / "deep" / "er"
            sub.mkdir(parents=True)
            for f in range(50):
                (sub / f"f{f:02}.txt").write_text(f"{d}-{f}\n" * 20)
        ctx = EvalContext({"github": {"workspace": tmp}})

        def floor() -> str:
            outer = hashlib.sha256()
            for dirpath, dirnames, filenames in os.walk(tmp):
                dirnames.sort()
                for name in sorted(filenames):
                    outer.update(hashlib.sha256(Path(dirpath, name).read_bytes()).digest())
            return outer.hexdigest()

        for expr in ("hashFiles('**/*.txt')", "hashFiles('*/f00.txt')"):
            ms = min(timeit.repeat(lambda: evaluate(expr, ctx), number=1, repeat=3)) * 1e3
            base = min(timeit.repeat(floor, number=1, repeat=3)) * 1e3
            print(f"{expr + ' (2000 files)':58} {ms:7.1f} ms   os.walk+sha256 of all: {base:7.1f} ms")


if __name__ == "__main__":
    main()
