"""Differential test against GitHub's TypeScript evaluator (@actions/expressions, npm).

Generates a few hundred random expressions from a grammar (seeded, so failures reproduce),
evaluates each with this engine and with the npm package in one node process, and requires
the same stage of failure or the same typed result. Numbers stay in ranges where .NET's G15
and JavaScript print alike, since the C# rules decide where those two differ.
CI installs the package with `.ci/setup.d/40-expressions-oracle.sh`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

from scorers.expr_common import same_value

from github_runner.engine.expressions import (
    EvalContext,
    ExpressionError,
    evaluate,
    kind_name,
    parse,
)
from tests.conftest import require

ORACLE_DIR = Path(os.environ.get("EXPRESSIONS_ORACLE_DIR", "/var/cache/github-runner/expressions-oracle"))
PACKAGE = ORACLE_DIR / "node_modules" / "@actions" / "expressions" / "package.json"
SCRIPT = Path(__file__).with_name("oracle.mjs")

CONTEXTS: dict[str, Any] = {
    "ctx": {
        "s": "Hello",
        "n": 3,
        "e": "",
        "arr": [1, "two", True, None],
        "obj": {"k": "v", "N": 2},
        "objs": [{"name": "a"}, {"name": "B"}, {"other": 1}],
    }
}

LITERALS = [
    "null", "true", "false", "0", "1", "-2", "3", "0.5", "1.5", "-2.25", "0x10", "1e2",
    "''", "'a'", "'A'", "'abc'", "' 1 '", "'0x10'", "'true'", "'null'", "'{0}'", "'x''y'", "'HELLO'",
]
REFS = [
    "ctx.s", "ctx.n", "ctx.e", "ctx.arr", "ctx.obj", "ctx.objs.*.name", "ctx.arr[1]", "ctx.obj['K']",
    "ctx.missing.x", "ctx.objs[0].name", "ctx.objs.*", "ctx.arr.*", "ctx.obj.*", "ctx['S']", "ctx.nope.*.x",
]
OPS = ["==", "!=", "<", "<=", ">", ">=", "&&", "||"]


def gen(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(LITERALS + REFS)
    choice = rng.randrange(11)
    a = gen(rng, depth - 1)
    b = gen(rng, depth - 1)
    if choice <= 3:
        return f"{a} {rng.choice(OPS)} {b}"
    if choice == 4:
        return f"!{a}"
    if choice == 5:
        return f"({a})"
    if choice == 6:
        return f"{rng.choice(['contains', 'startsWith', 'endsWith'])}({a}, {b})"
    if choice == 7:
        return f"format('{{0}}|{{1}}{{{{', {a}, {b})"
    if choice == 8:
        return f"join({a}, {b})" if rng.random() < 0.5 else f"join({a})"
    if choice == 9:
        return f"toJSON({a})" if rng.random() < 0.5 else f"fromJSON(toJSON({a}))"
    return f"case({a} == {b}, {a}, {b})"


def ours(expr: str) -> dict[str, Any]:
    try:
        node = parse(expr, named_values=list(CONTEXTS))
    except ExpressionError as err:
        return {"stage": err.kind, "message": str(err)}
    try:
        value = evaluate(node, EvalContext(CONTEXTS))
    except ExpressionError as err:
        return {"stage": err.kind, "message": str(err)}
    return {"stage": "ok", "kind": kind_name(value), "value": value}


def typescript(exprs: list[str]) -> list[dict[str, Any]]:
    require(shutil.which("node") is not None, "node is not installed")
    require(PACKAGE.is_file(), f"@actions/expressions is not installed under {ORACLE_DIR}")
    requests = "".join(json.dumps({"expr": e, "contexts": CONTEXTS}) + "\n" for e in exprs)
    proc = subprocess.run(
        ["node", str(SCRIPT)],
        input=requests,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "EXPRESSIONS_ORACLE_DIR": str(ORACLE_DIR)},
        check=True,
    )
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == len(exprs)
    return answers


def test_matches_typescript_evaluator_on_generated_expressions() -> None:
    rng = random.Random(20240601)
    exprs = sorted({gen(rng, 3) for _ in range(800)})
    answers = typescript(exprs)
    mismatches = []
    for expr, theirs in zip(exprs, answers):
        mine = ours(expr)
        same = mine["stage"] == theirs["stage"] and (
            mine["stage"] != "ok"
            or (mine["kind"] == theirs["kind"] and same_value(mine["value"], theirs["value"]))
        )
        if not same:
            mismatches.append(f"{expr!r}: ours {mine} vs typescript {theirs}")
    assert not mismatches, f"{len(mismatches)} of {len(exprs)} differ:\n" + "\n".join(mismatches[:15])


MUTATION_CHARS = list("()[],.!=<>&|*' 0x1aZ@")


def mutate(rng: random.Random, expr: str) -> str:
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(expr) + 1)
        if rng.random() < 0.5 and i < len(expr):
            expr = expr[:i] + expr[i + 1 :]
        else:
            expr = expr[:i] + rng.choice(MUTATION_CHARS) + expr[i:]
    return expr


def test_agrees_with_typescript_on_what_fails_to_parse() -> None:
    """Mangled expressions: both must reject (lexing/parsing) or accept the same ones.

    Which error is reported first may differ: the TypeScript lexer reads the whole text before
    parsing, the C# runner (and this engine) stops at the first bad token in text order. Known
    TypeScript divergences where the C# rules decide: `format()` with a placeholder that is not
    closed right after its digits (`{0|`) is invalid in C#; an empty expression is null in C#.
    """
    rng = random.Random(7)
    exprs = sorted({mutate(rng, gen(rng, 2)) for _ in range(1500)} - {""})
    answers = typescript(exprs)
    mismatches = []
    for expr, theirs in zip(exprs, answers):
        mine = ours(expr)
        rejected = mine["stage"] in ("lexing", "parsing")
        if rejected != (theirs["stage"] in ("lexing", "parsing")):
            mismatches.append(f"{expr!r}: ours {mine} vs typescript {theirs}")
        elif mine["stage"] == "ok" and theirs["stage"] == "ok":
            if mine["kind"] != theirs["kind"] or not same_value(mine["value"], theirs["value"]):
                mismatches.append(f"{expr!r}: ours {mine} vs typescript {theirs}")
        elif (mine["stage"] == "ok") != (theirs["stage"] == "ok"):
            if "format string is invalid" not in str(mine.get("message")):
                mismatches.append(f"{expr!r}: ours {mine} vs typescript {theirs}")
    assert not mismatches, f"{len(mismatches)} of {len(exprs)} differ:\n" + "\n".join(mismatches[:15])
