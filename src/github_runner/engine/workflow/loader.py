"""Read workflow files: YAML -> schema -> GitHub's checks -> typed `Workflow`.

    load_workflow(".github/workflows/ci.yml")   -> Workflow, or raises WorkflowError
    load_workflows(".github/workflows")         -> [Workflow, ...] (every *.yml / *.yaml)
    parse_workflow(name, text, options, resolve) -> Workflow (the in-memory form used by tests
                                                    and by reusable-workflow calls)

Reusable workflows (`jobs.<id>.uses`) are read through `resolve(ref) -> text | None`; for files
on disk, `./.github/workflows/x.yml` refs resolve against the repository holding the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from msgspec import Struct, field

from .convert import Converter
from .errors import ErrorList, WorkflowError
from .limits import ResultSize, ResultTooLarge
from .model import Workflow
from .reusable import ReusableChecker
from .schema import load_schema
from .tokens import MappingToken
from .validate import TemplateValidator
from .yamlread import YamlFatal, read_yaml

Resolver = Callable[[str], "str | None"]


class ReaderOptions(Struct):
    """GitHub's parser limits and switches (the reader vectors set them in their document 0)."""

    max_file_size: int = 0  # characters; 0 = no limit
    max_depth: int = 50
    max_errors: int = 10  # GitHub stops collecting after 10
    max_message_length: int = 500  # GitHub cuts longer messages with '[...]'
    max_job_limit: int = 0  # 0 = no limit
    max_nested_reusable_workflows_depth: int = 4
    max_result_size: int = 10 * 1024 * 1024  # GitHub's template-size budget (see limits.py)
    skip_reusable_workflows: bool = False
    background_steps: bool = False
    # GitHub's TypeScript parser (editor, language server) also rejects unknown event names and
    # event keys; the C# parser that runs workflows on github.com accepts them.
    strict_events: bool = False
    # YAML anchors and aliases: accepted on github.com since 2025, refused by the older parser.
    allow_anchors: bool = True
    permissions_policy: str = "Write"  # or "LimitedRead": the default GITHUB_TOKEN permissions
    extra: dict[str, object] = field(default_factory=dict)


def read_tree(
    name: str, text: str, options: ReaderOptions, errors: ErrorList, root: str = "workflow-root"
) -> MappingToken | None:
    """YAML + schema pass over one file; errors go to `errors`. None when nothing to convert."""
    if options.max_file_size and len(text) > options.max_file_size:
        errors.add(
            None, f"The maximum file size of {options.max_file_size} characters has been exceeded"
        )
        return None
    try:
        tree = read_yaml(
            name, text, max_depth=options.max_depth, allow_anchors=options.allow_anchors
        )
    except YamlFatal as exc:
        errors.add(exc.pos, exc.message)
        return None
    if tree is None:
        kind = "workflow" if root.startswith("workflow") else "action manifest"
        errors.add(None, f"The {kind} file is empty")
        return None
    schema = load_schema("workflow" if root.startswith("workflow") else "action")
    validator = TemplateValidator(schema, errors, background_steps=options.background_steps)
    token = validator.validate(tree, root)
    if not isinstance(token, MappingToken):
        return None
    return token


def _root(options: ReaderOptions) -> str:
    return "workflow-root-strict" if options.strict_events else "workflow-root"


def parse_workflow(
    name: str,
    text: str,
    options: ReaderOptions | None = None,
    resolve: Resolver | None = None,
) -> Workflow:
    """Parse one workflow held in memory; `name` is how errors refer to the file."""
    options = options or ReaderOptions()
    errors = ErrorList(
        name, max_errors=options.max_errors, max_message_length=options.max_message_length
    )
    tree = read_tree(name, text, options, errors, _root(options))
    if tree is None or errors:
        raise WorkflowError(errors.items)
    budget = ResultSize(options.max_result_size)
    try:
        budget.add(name, tree)
    except ResultTooLarge as exc:
        raise WorkflowError([f"{name}: {exc}"]) from None
    workflow = Converter(load_schema("workflow"), errors).workflow(name, tree)
    if not errors:
        ReusableChecker(options, resolve, errors, budget).check(workflow, tree)
    errors.raise_if_any()
    return workflow


def parse_callee(
    name: str, text: str, options: ReaderOptions, errors: ErrorList, budget: ResultSize
) -> Workflow | None:
    """A called workflow: its own errors go to `errors` (named after its ref); None if any.
    Raises ResultTooLarge when it does not fit in the caller's size budget."""
    tree = read_tree(name, text, options, errors, _root(options))
    if tree is None or errors:
        return None
    budget.add(name, tree)
    workflow = Converter(load_schema("workflow"), errors).workflow(name, tree)
    return None if errors else workflow


def _repo_resolver(path: Path, repo_root: Path | None = None) -> Resolver:
    """Resolve `./.github/workflows/x.yml` refs against the repository: `repo_root` when
    given, else the nearest parent of `path` holding a `.github` folder."""
    root = path.resolve().parent
    for candidate in [root, *root.parents]:
        if (candidate / ".github").is_dir():
            root = candidate
            break
    if repo_root is not None:
        root = Path(repo_root).resolve()

    def resolve(ref: str) -> str | None:
        if not ref.startswith("./"):
            return None
        target = (root / ref).resolve()
        try:
            return target.read_text(encoding="utf-8-sig")
        except OSError:
            return None

    return resolve


def load_workflow(
    path: str | Path,
    options: ReaderOptions | None = None,
    *,
    repo_root: str | Path | None = None,
    name: str | None = None,
) -> Workflow:
    """`name`: how messages refer to the file (default: `path` as given)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise WorkflowError([f"{path}: cannot read the workflow file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise WorkflowError([f"{path}: the workflow file is not valid UTF-8"]) from None
    root = Path(repo_root) if repo_root is not None else None
    return parse_workflow(name or str(path), text, options, _repo_resolver(path, root))


def load_workflows(path: str | Path, options: ReaderOptions | None = None) -> list[Workflow]:
    """Every workflow of a folder (sorted by name), or the one file given. Errors of all files
    are collected into one WorkflowError."""
    path = Path(path)
    files = (
        [path]
        if path.is_file()
        else sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
        if path.is_dir()
        else []
    )
    if not files:
        raise WorkflowError([f"{path}: no workflow files found"])
    workflows: list[Workflow] = []
    problems: list[str] = []
    for file in files:
        try:
            workflows.append(load_workflow(file, options))
        except WorkflowError as exc:
            problems.extend(exc.errors)
    if problems:
        raise WorkflowError(problems)
    return workflows
