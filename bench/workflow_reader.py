#!/usr/bin/env python3
"""What reading a workflow costs: the full reader next to a bare ruamel.yaml load of the same text.

    uv run python bench/workflow_reader.py [--n 50] [--jobs 20] [--steps 20]

Both run in this process on the same generated workflow (N jobs x M steps, expressions in
names, env, if and run). The baseline is `YAML(typ="safe", pure=True).load(text)`: the YAML
parse alone, without positions kept, schema, expression checks or model. Also prints the cold
import time of the reader package in a fresh interpreter next to `python3 -c pass`.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import time
from collections.abc import Callable

from ruamel.yaml import YAML

from github_runner.engine.workflow.loader import parse_workflow


def generate(jobs: int, steps: int) -> str:
    lines = [
        "name: bench",
        "on:",
        "  push:",
        "    branches: [main]",
        "env:",
        "  GLOBAL: x",
        "jobs:",
    ]
    for j in range(jobs):
        lines += [
            f"  job{j}:",
            f"    name: Job {j} on ${{{{ matrix.os }}}}",
            "    runs-on: ${{ matrix.os }}",
            *([f"    needs: job{j - 1}"] if j else []),
            "    strategy:",
            "      matrix:",
            "        os: [linux, mac]",
            "    steps:",
        ]
        for s in range(steps):
            lines += [
                f"      - name: step {s} ${{{{ github.ref }}}}",
                "        if: github.event_name == 'push' && env.GLOBAL == 'x'",
                f"        env: {{N: '{s}', R: '${{{{ runner.os }}}}'}}",
                f"        run: echo {s} ${{{{ steps.s{s}.outputs.v }}}}",
            ]
    return "\n".join(lines) + "\n"


def per_call_ms(fn: Callable[[], object], n: int) -> float:
    fn()  # warm caches (schema load, expression parse cache) like a long-lived runner would
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) * 1000 / n


def cold(code: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    text = generate(args.jobs, args.steps)
    yaml = YAML(typ="safe", pure=True)
    base = per_call_ms(lambda: yaml.load(io.StringIO(text)), args.n)
    full = per_call_ms(lambda: parse_workflow("bench.yml", text), args.n)
    nodes = args.jobs * args.steps
    print(f"workflow: {args.jobs} jobs x {args.steps} steps, {len(text)} chars")
    print(f"  ruamel.yaml safe load (baseline): {base:8.2f} ms")
    print(
        f"  github-runner reader (full):      {full:8.2f} ms  ({full / base:.2f}x baseline, "
        f"{(full - base) * 1000 / nodes:.0f} us per step above it)"
    )
    floor = cold("pass")
    reader = cold("from github_runner.engine.workflow.loader import parse_workflow")
    print(
        f"cold import: python -c pass {floor:.0f} ms, reader package {reader:.0f} ms "
        f"({reader / floor:.1f}x)"
    )


if __name__ == "__main__":
    main()
