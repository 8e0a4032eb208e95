"""The workflow conformance sets run on each executor: `exec --executor NAME` must run the same
workflows (issue 6). Reuses the workflows scorer unchanged, adding `--executor` to its command.

    uv run python bench/executors_conformance.py [--executors shell,sandbox,docker,gvisor] [MANIFEST...]

Prints one line per (executor, set): passed / failed / skipped, and with -v the failing ids.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scorers import workflows  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "workflows"


def score_on(executor: str, manifest: Path) -> tuple[list[workflows.CaseResult], float]:
    original = workflows._argv

    def with_executor(case: workflows.Case, repo: Path) -> list[str]:
        return [*original(case, repo), "--executor", executor]

    workflows._argv = with_executor
    try:
        t = time.perf_counter()
        results = workflows.score(manifest)
        return results, time.perf_counter() - t
    finally:
        workflows._argv = original


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("manifests", nargs="*", type=Path)
    ap.add_argument("--executors", default="shell,sandbox,docker,gvisor")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    manifests = a.manifests or sorted(SHARED.glob("*/manifest.json"))
    for ex in a.executors.split(","):
        for m in manifests:
            results, secs = score_on(ex, m)
            count = {k: sum(r.status == k for r in results) for k in ("passed", "failed", "skipped")}
            ran = count["passed"] + count["failed"]
            pct = 100 * count["passed"] / ran if ran else 0.0
            print(f"{ex:<8} {m.parent.name:<18} {count['passed']:3d} passed {count['failed']:3d} failed "
                  f"{count['skipped']:3d} skipped  ({pct:5.1f}% of runnable, {secs:5.1f}s)", flush=True)
            if a.v:
                for r in results:
                    if r.status == "failed":
                        print(f"    FAIL {r.id}: {r.detail[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
