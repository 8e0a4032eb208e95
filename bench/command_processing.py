#!/usr/bin/env python3
"""Per-line cost of the workflow-command processor, against a baseline measured in the same run.

    uv run python bench/command_processing.py [--lines N]

Baseline: the cheapest thing any line path must do anyway, iterating the lines and building one
small object per line. Figures: ns/line above that floor for (a) ordinary output, (b) output full
of `::` that is not a command (URLs, C++ scopes), (c) a mix where 10% of lines are commands.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from github_runner.engine.commands.processor import CommandProcessor


class _NullMasker:
    def add(self, value: str, /) -> bool:
        return True


@dataclass(slots=True)
class _Line:
    text: str


def _time(fn, lines: list[str]) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for line in lines:
            fn(line)
        best = min(best, time.perf_counter() - start)
    return best / len(lines) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    n = parser.parse_args().lines
    plain = [f"compiling module {i} of the project with some typical output text" for i in range(n)]
    colons = [f"std::vector<int> at https://example.invalid/{i} -> ns::f()" for i in range(n)]
    mixed = [
        (f"::warning file=src/a{i}.c,line={i % 90 + 1}::unused variable" if i % 20 == 0
         else f"::group::step {i}" if i % 20 == 10 else plain[i])
        for i in range(n)
    ]
    floor = _time(_Line, plain)
    print(f"baseline (iterate + one object per line): {floor:7.0f} ns/line")
    for name, lines in (("plain output", plain), ("'::' but no command", colons), ("10% commands", mixed)):
        processor = CommandProcessor(_NullMasker(), runner_env={})
        cost = _time(processor.process_line, lines)
        print(f"{name:24s}: {cost:7.0f} ns/line  ({cost - floor:+6.0f} above baseline, "
              f"{1e9 / cost / 1e6:5.2f} M lines/s)")


if __name__ == "__main__":
    main()
