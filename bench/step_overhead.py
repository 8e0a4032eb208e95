#!/usr/bin/env python3
"""Per-step overhead of `github-runner exec`, and its cold start, against baselines in one run.

1. A 50-step `run:` workflow through `exec` vs 50 raw `bash -e script` spawns of the same
   scripts from Python: prints ms/step above that raw floor (target <= 3 ms).
2. Cold `exec` of a 1-step workflow vs `python3 -c pass` (target <= 8x), and what the libraries a
   run cannot do without (asyncio, ruamel.yaml, click) cost to import on their own in this venv,
   and a split of the cold run: every non-project module it imports, ours, and the run itself.

    uv run python bench/step_overhead.py [--steps 50] [--repeat 3]

Each figure is the best of `--repeat` interleaved rounds (least disturbed by other load).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = 'echo "step {i}: $((40 + 2))"\n'
# What any engine built on these libraries pays before running a line of its own (exec skips
# the interpreter teardown, so this does too).
LIBRARY_FLOOR = (  # no teardown, like exec
    "import asyncio, ruamel.yaml, click, os; os._exit(0)"
)


def _exec_argv(repo: Path) -> list[str]:
    exe = shutil.which("github-runner", path=str(Path(sys.executable).parent)) or shutil.which("github-runner")
    if exe:
        return [exe, "exec", "-C", str(repo)]
    return [sys.executable, "-m", "github_runner", "exec", "-C", str(repo)]


def _write_workflow(repo: Path, steps: int) -> None:
    wf = repo / ".github" / "workflows"
    wf.mkdir(parents=True, exist_ok=True)
    body = "".join(f"      - run: |\n          {SCRIPT.format(i=i).strip()}\n" for i in range(steps))
    (wf / "bench.yml").write_text(f"on: push\njobs:\n  bench:\n    runs-on: x\n    steps:\n{body}")


def _timed(argv: list[str], **kw: object) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - start


def _timed_on_terminal(argv: list[str], **kw: object) -> float:
    """The same, with stdout on a pseudo-terminal, as a person at a shell sees it: colours,
    and the summary table boxed by rich (piped output gets plain columns without rich)."""
    import pty
    import threading

    main_fd, child_fd = pty.openpty()

    def drain() -> None:
        while True:
            try:
                if not os.read(main_fd, 65536):
                    return
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=child_fd, stderr=subprocess.DEVNULL,
                       **kw)  # type: ignore[call-overload]
        elapsed = time.perf_counter() - start
    finally:
        os.close(child_fd)
        reader.join(timeout=5)
        os.close(main_fd)
    return elapsed


# Lists, at exit, every module a run imported (exec runs atexit handlers before its fast exit).
_LIST_MODULES = """
import atexit, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write("\\n".join(sys.modules)))
sys.argv = ["github-runner", *sys.argv[2:]]
from github_runner.cli.main import main
main()
"""
# Imports the listed modules and nothing else, then leaves the way exec does.
_IMPORT_MODULES = """
import importlib, os, sys
for name in open(sys.argv[1]).read().split():
    try:
        importlib.import_module(name)
    except Exception:
        pass
os._exit(0)
"""


def _split_imports(repo: Path, tmp: Path, env: dict[str, str]) -> tuple[list[str], Path, Path]:
    """The modules a cold one-step run imports, as two import lists: everything but the
    project's own (the standard library and the dependencies, in the run's order), and that
    plus the project's modules. Timing an interpreter that imports each list (and runs nothing)
    splits the cold run into what its libraries cost, what our modules cost, and the run."""
    listing = tmp / "modules.txt"
    subprocess.run([sys.executable, "-c", _LIST_MODULES, str(listing), "exec", "-C", str(repo)],
                   check=True, stdout=subprocess.DEVNULL, env=env)
    names = [n for n in listing.read_text().split() if n != "__main__"]
    ours = [n for n in names if n == "github_runner" or n.startswith("github_runner.")]
    libraries = tmp / "libraries.txt"
    libraries.write_text("\n".join(n for n in names if n not in ours))
    everything = tmp / "everything.txt"
    everything.write_text("\n".join(names))
    return ours, libraries, everything


def raw_bash(steps: int, tmp: Path) -> float:
    """The floor: the same scripts, each written to a file and run with `bash -e`."""
    start = time.perf_counter()
    for i in range(steps):
        path = tmp / f"raw{i}.sh"
        path.write_text(SCRIPT.format(i=i))
        subprocess.run(["bash", "-e", str(path)], check=True, stdout=subprocess.PIPE)
    return time.perf_counter() - start


def _step_env(work: Path) -> dict[str, str]:
    """The variables the engine gives every step (CI, GITHUB_*, RUNNER_*, the file-command
    paths, PATH): the executor does work per variable (its credential filter), and that work
    belongs to its share, not the engine's."""
    from github_runner.engine.contexts import local_github_context, runner_env

    github = local_github_context(repo=work, event_name="push", event={}, workflow_name="bench",
                                  workflow_file=".github/workflows/bench.yml")
    github.update(workspace=str(work / "ws"), job="bench", event_path=str(work / "event.json"))
    runner = {"name": "bench", "os": "Linux", "arch": "X64", "temp": str(work / "temp"),
              "tool_cache": str(work / "tool"), "environment": "self-hosted"}
    env = runner_env(github, runner)
    for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"):
        env[name] = str(work / "temp" / name.lower())
    env["GITHUB_ACTION"] = "__run"
    env["PATH"] = os.environ["PATH"]
    return env


def executor_spawn(steps: int, tmp: Path) -> float:
    """The same spawns through the shell executor alone (no engine): what isolation costs."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from github_runner.engine.loop import run
    from github_runner.executors import get_executor
    from github_runner.executors.base import JobSpec

    async def go() -> float:
        work = tmp / "executor"
        for d in ("ws", "temp", "tool"):
            (work / d).mkdir(parents=True, exist_ok=True)
        spec = JobSpec(job_id=f"bench-{os.getpid()}", work_dir=work, workspace=work / "ws",
                       temp=work / "temp", tool_cache=work / "tool")
        executor = get_executor("shell", allow_root=True)
        env = _step_env(work)
        async with await executor.prepare(spec) as sandbox:
            start = time.perf_counter()
            for i in range(steps):
                path = tmp / f"raw{i}.sh"
                proc = await sandbox.run(["bash", "-e", str(path)], env=env, cwd=str(work / "ws"))
                async for _ in proc.output():
                    pass
                await proc.wait()
            return time.perf_counter() - start

    return run(go())  # the loop set-up `exec` uses, so the split below compares like with like


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # A normal install writes bytecode on first import; this session's PYTHONDONTWRITEBYTECODE
    # would make every run recompile every module, so it is dropped and a warm-up run writes it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    tty_env = {k: v for k, v in env.items() if k != "NO_COLOR"}
    with tempfile.TemporaryDirectory(prefix="ghr-bench-") as tmp_s:
        tmp = Path(tmp_s)
        many, one = tmp / "many", tmp / "one"
        _write_workflow(many, args.steps)
        _write_workflow(one, 1)
        _timed(_exec_argv(one), env=env)  # warm-up: bytecode, page cache
        ours, run_libraries, run_modules = _split_imports(one, tmp, env)
        # Rounds interleave the measurements, so that a burst of other load on the machine
        # hits all of them alike instead of skewing one (the per-step figure is a difference).
        rounds: list[tuple[float, ...]] = []
        for _ in range(args.repeat):
            rounds.append((
                raw_bash(args.steps, tmp),
                executor_spawn(args.steps, tmp),
                _timed(_exec_argv(many), env=env),
                _timed(_exec_argv(one), env=env),
                _timed(["python3", "-c", "pass"], env=env),
                _timed([sys.executable, "-c", LIBRARY_FLOOR], env=env),
                _timed_on_terminal(_exec_argv(one), env=tty_env),
                _timed([sys.executable, "-c", _IMPORT_MODULES, str(run_libraries)], env=env),
                _timed([sys.executable, "-c", _IMPORT_MODULES, str(run_modules)], env=env),
            ))
        (floor, isolated, full, single, python, libraries, on_tty, imports_theirs,
         imports_all) = (min(column) for column in zip(*rounds))
    # Fixed start-up cost (imports, job set-up) is measured by the 1-step run; the per-step
    # overhead is what the other steps add beyond the raw spawn floor.
    per_step = ((full - single) - floor * (args.steps - 1) / args.steps) / (args.steps - 1) * 1000
    floor_ms = floor / args.steps * 1000
    print(f"raw bash -e spawn floor:      {floor_ms:7.2f} ms/step ({args.steps} steps, {floor:.3f} s)")
    print(f"exec, {args.steps}-step workflow:      {full:7.3f} s ({full / args.steps * 1000:.2f} ms/step incl. start-up)")
    print(f"exec overhead above floor:    {per_step:7.2f} ms/step (target <= 3 ms)")
    executor_ms = (isolated - floor) / args.steps * 1000
    print(f"  of which the shell executor: {executor_ms:6.2f} ms/step (same spawns, executor alone)")
    print(f"  of which the engine:         {per_step - executor_ms:6.2f} ms/step")
    print(f"python3 -c pass:              {python * 1000:7.1f} ms")
    print(f"exec, 1-step workflow (cold): {single * 1000:7.1f} ms = {single / python:.1f}x python3 -c pass (target <= 8x)")
    print(f"  floor, python importing only the libraries the issue and standards name "
          f"(asyncio, ruamel.yaml, click): {libraries * 1000:5.1f} ms = {libraries / python:.1f}x")
    print(f"  split of the cold run: interpreter + every non-project module it imports "
          f"{imports_theirs * 1000:5.1f} ms = {imports_theirs / python:.1f}x;")
    print(f"    + the project's {len(ours)} modules {(imports_all - imports_theirs) * 1000:+5.1f} ms; "
          f"+ the run itself (read, validate, plan, spawn, report) "
          f"{(single - imports_all) * 1000:+5.1f} ms")
    print(f"  the same run on a terminal (colours, rich table): "
          f"{on_tty * 1000:5.1f} ms = {on_tty / python:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
