"""Scores `runner-command-parsing` files: parse each `line`, compare command/properties/data.

`registered_for_these_cases` lists the names registered as commands for the file's cases (any
other name is plain output); without it, the runner's own command names are registered.
"""

from __future__ import annotations

import json
from pathlib import Path

from scorers.common import CaseResult

from github_runner.engine.commands.parsing import CommandNames, parse_command
from github_runner.engine.commands.processor import default_command_names


def score(path: Path) -> list[CaseResult]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    names = doc.get("registered_for_these_cases")
    registered = CommandNames(names) if names else default_command_names()
    results: list[CaseResult] = []
    for case in doc.get("cases") or []:
        parsed = parse_command(case["line"], registered)
        got = None if parsed is None else {
            "command": parsed.command,
            "properties": parsed.properties.as_dict(),
            "data": parsed.data,
        }
        expect = case.get("expect")
        results.append(CaseResult.check(case["id"], got == expect, f"expected {expect!r}, got {got!r}"))
    return results
