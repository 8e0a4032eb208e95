"""The `needs` graph: validation (unknown jobs, cycles) and the order jobs may start in.

Validation runs before any step starts, so a cycle or a typo in `needs` is a bad-input error
(exit code 2), never a half-run workflow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class GraphError(ValueError):
    """`needs` names an unknown job or forms a cycle; the message names the jobs."""


def validate(needs: Mapping[str, Sequence[str]]) -> list[str]:
    """Return the job keys in a start order that respects `needs` (stable: file order first).

    Raises GraphError for an unknown dependency or a cycle (naming the jobs on the cycle).
    """
    for job, deps in needs.items():
        for dep in deps:
            if dep not in needs:
                raise GraphError(f"job {job!r} depends on unknown job {dep!r}")
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(job: str, path: list[str]) -> None:
        if state.get(job) == 2:
            return
        if state.get(job) == 1:
            cycle = path[path.index(job):] + [job]
            raise GraphError("needs cycle: " + " -> ".join(cycle))
        state[job] = 1
        for dep in needs[job]:
            visit(dep, path + [job])
        state[job] = 2
        order.append(job)

    for job in needs:
        visit(job, [])
    return order


def select(needs: Mapping[str, Sequence[str]], wanted: Sequence[str]) -> list[str]:
    """The jobs to run for `-j JOB`: the wanted jobs plus everything they transitively need."""
    for job in wanted:
        if job not in needs:
            raise GraphError(f"-j/--job: no job {job!r} (jobs: {', '.join(needs)})")
    keep: set[str] = set()
    stack = list(wanted)
    while stack:
        job = stack.pop()
        if job in keep:
            continue
        keep.add(job)
        stack.extend(needs[job])
    return [job for job in needs if job in keep]


def dependents(needs: Mapping[str, Sequence[str]], job: str) -> list[str]:
    """Jobs that directly need `job`."""
    return [j for j, deps in needs.items() if job in deps]
