"""Workflow and action files: YAML 1.2 loading, GitHub template-schema validation, typed model.

    from github_runner.engine.workflow import load_workflow, WorkflowError
    wf = load_workflow(".github/workflows/ci.yml")   # raises WorkflowError(errors=[...])

The loaders are imported lazily so that importing the model stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import Pos, WorkflowError
from .model import Job, Node, Step, Strategy, Workflow, condition_expression

if TYPE_CHECKING:
    from .action import ActionManifest, load_action, parse_action
    from .loader import ReaderOptions, load_workflow, load_workflows, parse_workflow

__all__ = [
    "ActionManifest",
    "ReaderOptions",
    "Job",
    "Node",
    "Pos",
    "Step",
    "Strategy",
    "Workflow",
    "WorkflowError",
    "condition_expression",
    "load_action",
    "load_workflow",
    "load_workflows",
    "parse_action",
    "parse_workflow",
]

_LAZY = {
    "load_workflow": "loader",
    "load_workflows": "loader",
    "load_action": "action",
    "parse_action": "action",
    "ActionManifest": "action",
    "parse_workflow": "loader",
    "ReaderOptions": "loader",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
