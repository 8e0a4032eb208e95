#!/usr/bin/env python3
"""Score the engine against conformance vectors.

    python bench/conformance.py PATH... [-v]

Each PATH is a vector file or a folder. The format is recognised from the file name (see
`FORMATS`), never from the particular cases inside, so any other file of the same format scores
with the same tool. Prints one line per file: `NAME: N passed, N failed, N skipped`; `-v` lists
the failing case ids with a reason. Exit code 1 when any case failed.

Each format has a scorer module in `bench/scorers/` exposing
`score(path: Path) -> list[CaseResult]`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scorers.common import CaseResult  # noqa: E402

# (predicate on the path, scorer module). First match wins.
FORMATS: list[tuple[str, object]] = [
    ("languageservices_xlang", lambda p: p.name.startswith("languageservices-xlang") and p.suffix == ".json"),
    ("act_exprparser", lambda p: p.name.startswith("act-exprparser") and p.suffix == ".json"),
    ("act_interpolation", lambda p: p.name.startswith("act-interpolation") and p.suffix == ".json"),
    ("hashfiles", lambda p: p.name.startswith("hashfiles") and p.suffix == ".json"),
    ("condition_functions", lambda p: p.name.startswith("runner-condition-functions")),
    ("command_parsing", lambda p: p.name.startswith("runner-command-parsing")),
    ("command_processing", lambda p: p.name.startswith("runner-command-processing")),
    ("file_commands", lambda p: p.name.startswith("runner-file-commands")),
    ("masking", lambda p: p.suffix == ".json" and "masker" in p.name),
    ("reader", lambda p: (p.is_dir() and p.name == "reader") or p.suffix in (".yml", ".yaml")),
    ("workflows", lambda p: p.name == "manifest.json" or (p.is_dir() and (p / "manifest.json").exists())),
]


def recognise(path: Path) -> str | None:
    for module, predicate in FORMATS:
        if predicate(path):  # type: ignore[operator]
            return module
    return None


def expand(paths: list[Path]) -> list[Path]:
    """Folders that are not themselves a format are searched one level down for files that are."""
    out: list[Path] = []
    for path in paths:
        if recognise(path) is None and path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if recognise(p) is not None))
        else:
            out.append(path)
    return out


def score_path(path: Path) -> tuple[str, list[CaseResult]]:
    module = recognise(path)
    if module is None:
        raise SystemExit(f"{path}: unrecognised conformance format (see FORMATS in {__file__})")
    scorer = importlib.import_module(f"scorers.{module}")
    return path.name, scorer.score(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    failed_any = False
    for path in expand(args.paths):
        name, results = score_path(path)
        counts = {s: sum(1 for r in results if r.status == s) for s in ("passed", "failed", "skipped")}
        print(f"{name}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
        failed_any |= counts["failed"] > 0
        if args.verbose:
            for r in results:
                if r.status == "failed":
                    print(f"  FAIL {r.id}: {r.detail}")
    return 1 if failed_any else 0


if __name__ == "__main__":
    sys.exit(main())
