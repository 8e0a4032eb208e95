"""Async entry points: hashFiles() runs off the event loop, everything else inline."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path

import pytest

from github_runner.engine.expressions import (
    EvalContext,
    evaluate_async,
    evaluate_condition_async,
    interpolate_async,
    parse,
    uses_io,
)
from github_runner.engine.expressions import hashfiles as hashfiles_module


def test_uses_io() -> None:
    assert uses_io(parse("format('{0}', HASHFILES('x'))"))
    assert not uses_io(parse("format('{0}', 'hashFiles')"))


def test_hashfiles_runs_in_a_worker_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f").write_text("data")
    threads: list[str] = []
    real = hashfiles_module.hash_files

    def spy(*args: object, **kwargs: object) -> str:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashfiles_module, "hash_files", spy)
    ctx = EvalContext({"github": {"workspace": str(tmp_path)}})
    expected = hashlib.sha256(hashlib.sha256(b"data").digest()).hexdigest()

    async def main() -> tuple[object, object, bool]:
        a = await evaluate_async("hashFiles('f')", ctx)
        b = await interpolate_async({"key": "k-${{ hashFiles('f') }}"}, ctx)
        c = await evaluate_condition_async("hashFiles('f') != ''", ctx)
        return a, b, c

    a, b, c = asyncio.run(main())
    assert a == expected and b == {"key": f"k-{expected}"} and c is True
    assert len(threads) == 3 and threading.main_thread().name not in threads


def test_plain_expressions_stay_inline() -> None:
    async def main() -> object:
        return await interpolate_async("${{ 1 == 1 }}", EvalContext({}))

    assert asyncio.run(main()) is True
