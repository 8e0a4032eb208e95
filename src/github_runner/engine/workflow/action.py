"""`action.yml` / `action.yaml` manifests, validated against GitHub's action schema.

Same reader, same error format as workflows (`file (Line: L, Col: C): message`, all at once),
so a broken local action fails before any of its steps starts, with a message naming its file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msgspec import field

from .convert import Converter
from .errors import ErrorList, WorkflowError
from .loader import ReaderOptions, read_tree
from .model import Node, Step
from .schema import load_schema
from .tokens import MappingToken, SequenceToken, string_value

MANIFEST_NAMES = ("action.yml", "action.yaml")


class ActionRuns(Node):
    using: str | None = None  # composite, node12/16/20/24, docker (as written; the engine decides)
    steps: list[Step] = field(default_factory=list)  # composite
    main: str | None = None  # node
    pre: str | None = None
    post: str | None = None
    pre_if: str | None = None
    post_if: str | None = None
    image: str | None = None  # docker
    entrypoint: str | None = None
    pre_entrypoint: str | None = None
    post_entrypoint: str | None = None
    args: list[Any] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)


class ActionManifest(Node):
    path: str
    name: str | None = None
    description: str | None = None
    author: str | None = None
    # name -> {"description", "required", "default", "deprecationMessage", ...} as written
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # name -> {"description", "value"}; `value` (composite) may hold `${{ }}`
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: ActionRuns = field(default_factory=ActionRuns)

    @property
    def using(self) -> str | None:
        return self.runs.using

    @property
    def steps(self) -> list[Step]:
        return self.runs.steps


_RUNS_FIELDS = {
    "using": "using",
    "main": "main",
    "pre": "pre",
    "post": "post",
    "pre-if": "pre_if",
    "post-if": "post_if",
    "image": "image",
    "entrypoint": "entrypoint",
    "pre-entrypoint": "pre_entrypoint",
    "post-entrypoint": "post_entrypoint",
    "args": "args",
    "env": "env",
}


def _definitions(raw: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in raw.items()}


def parse_action(name: str, text: str) -> ActionManifest:
    """Parse one manifest held in memory; `name` is how errors refer to the file."""
    options = ReaderOptions()
    errors = ErrorList(
        name, max_errors=options.max_errors, max_message_length=options.max_message_length
    )
    tree = read_tree(name, text, options, errors, root="action-root")
    if tree is None or errors:
        raise WorkflowError(errors.items or [f"{name}: the action manifest is not a mapping"])
    converter = Converter(load_schema("action"), errors)
    manifest = ActionManifest(path=name, pos=tree.pos)
    for key, value in tree.pairs:
        key_name = string_value(key)
        if key_name in ("name", "description", "author"):
            setattr(manifest, key_name, None if value.to_raw() is None else str(value.to_raw()))
        elif key_name == "inputs":
            manifest.inputs = _definitions(value.to_raw())
        elif key_name == "outputs":
            manifest.outputs = _definitions(value.to_raw())
        elif key_name == "runs" and isinstance(value, MappingToken):
            manifest.runs = _runs(converter, value)
    errors.raise_if_any()
    return manifest


def _runs(converter: Converter, token: MappingToken) -> ActionRuns:
    runs = ActionRuns(pos=token.pos)
    for key, value in token.pairs:
        key_name = string_value(key)
        if key_name == "steps" and isinstance(value, SequenceToken):
            runs.steps = converter.steps(value)
        elif key_name in _RUNS_FIELDS:
            setattr(runs, _RUNS_FIELDS[key_name], value.to_raw())
    runs.args = runs.args or []
    runs.env = runs.env or {}
    return runs


def find_manifest(directory: str | Path) -> Path | None:
    directory = Path(directory)
    for candidate in MANIFEST_NAMES:
        if (directory / candidate).is_file():
            return directory / candidate
    return None


def load_action(directory: str | Path) -> ActionManifest:
    """The manifest of the action in `directory` (or the manifest file itself)."""
    path = Path(directory)
    manifest_path = path if path.is_file() else find_manifest(path)
    if manifest_path is None:
        raise WorkflowError(
            [f"{path}: Can't find 'action.yml' or 'action.yaml' in the action directory"]
        )
    try:
        text = manifest_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError([f"{manifest_path}: cannot read the action manifest: {exc}"]) from None
    return parse_action(str(manifest_path), text)
