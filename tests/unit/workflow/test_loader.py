"""Loading real workflow files from disk into the model, and GitHub-style errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from github_runner.engine.workflow import WorkflowError, load_workflow, load_workflows
from github_runner.engine.workflow.loader import ReaderOptions, parse_workflow

CI = """\
name: CI
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      level:
        type: choice
        options: [a, b]
        default: a
env:
  GLOBAL: "1"
defaults:
  run:
    shell: bash
jobs:
  build:
    name: Build ${{ matrix.os }}
    runs-on: ${{ matrix.os }}
    timeout-minutes: 5
    strategy:
      fail-fast: false
      max-parallel: 2
      matrix:
        os: [linux, mac]
        include:
          - os: linux
            extra: yes
    outputs:
      out: ${{ steps.one.outputs.value }}
    egress:
      mode: enforce
      allow: [github.com, "*.pythonhosted.org:443"]
    steps:
      - id: one
        run: echo "value=1" >> "$GITHUB_OUTPUT"
        env:
          STEP: x
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - run: echo two
        if: github.ref == 'refs/heads/main'
        working-directory: sub
        continue-on-error: true
      - run: echo three
  test:
    needs: build
    if: ${{ always() }}
    runs-on: ubuntu-latest
    steps:
      - run: echo test
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    wf_dir = tmp_path / ".github" / "workflows"
    wf_dir.mkdir(parents=True, exist_ok=True)
    path = wf_dir / name
    path.write_text(text)
    return path


def test_model_from_file(tmp_path: Path) -> None:
    wf = load_workflow(write(tmp_path, "ci.yml", CI))
    assert wf.name == "CI"
    assert list(wf.on) == ["push", "workflow_dispatch"]
    assert wf.on["push"] == {"branches": ["main"]}
    assert wf.inputs("workflow_dispatch")["level"]["options"] == ["a", "b"]
    assert wf.env == {"GLOBAL": "1"}
    assert wf.defaults == {"run": {"shell": "bash"}}
    assert list(wf.jobs) == ["build", "test"]

    build = wf.jobs["build"]
    assert build.name == "Build ${{ matrix.os }}"
    assert build.runs_on == "${{ matrix.os }}"
    assert build.timeout_minutes == 5
    assert build.strategy is not None
    assert build.strategy.fail_fast is False and build.strategy.max_parallel == 2
    assert build.strategy.matrix["include"] == [{"os": "linux", "extra": "yes"}]
    assert build.outputs == {"out": "${{ steps.one.outputs.value }}"}
    assert build.egress == {"mode": "enforce", "allow": ["github.com", "*.pythonhosted.org:443"]}
    assert build.condition == "success()"

    one, checkout, two, three = build.steps
    assert (one.id, one.context_id, one.env) == ("one", "one", {"STEP": "x"})
    assert (checkout.id, checkout.context_id, checkout.with_) == (
        None,
        "__actions_checkout",
        {"fetch-depth": "0"},
    )
    assert (two.context_id, three.context_id) == ("__run", "__run_2")
    assert two.condition == "success() && (github.ref == 'refs/heads/main')"
    assert two.working_directory == "sub" and two.continue_on_error is True
    assert (two.line, two.col) == (42, 9)
    assert str(build.where("timeout-minutes")).endswith("ci.yml (Line: 20, Col: 22)")

    test = wf.jobs["test"]
    assert test.needs == ["build"]
    assert test.condition == "always()"


def test_all_errors_at_once_with_positions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yml",
        "on: push\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ${{ secrets.X }}\n"
        "    bogus: 1\n"
        "    steps:\n"
        "      - run: echo\n"
        "  b:\n"
        "    steps:\n"
        "      - run: echo\n",
    )
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    errors = info.value.errors
    assert (
        f"{path} (Line: 4, Col: 14): Unrecognized named-value: 'secrets'. Located at position 1 within expression: secrets.X"
        in errors
    )
    assert f"{path} (Line: 5, Col: 5): Unexpected value 'bogus'" in errors
    assert f"{path} (Line: 9, Col: 5): Required property is missing: runs-on" in errors


def test_needs_cycle_and_step_id_errors() -> None:
    text = (
        "on: push\n"
        "jobs:\n"
        "  start:\n"
        "    runs-on: x\n"
        "    steps: [{run: a}]\n"
        "  a:\n"
        "    needs: [b]\n"
        "    runs-on: x\n"
        "    steps:\n"
        "      - {id: s, run: a}\n"
        "      - {id: S, run: a}\n"
        "  b:\n"
        "    needs: a\n"
        "    runs-on: x\n"
        "    steps: [{run: a}]\n"
    )
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", text)
    assert info.value.errors == [
        "w.yml (Line: 11, Col: 14): The identifier 'S' may not be used more than once within the same scope.",
        "w.yml (Line: 7, Col: 13): Job 'a' depends on job 'b' which creates a cycle in the dependency graph.",
        "w.yml (Line: 13, Col: 12): Job 'b' depends on job 'a' which creates a cycle in the dependency graph.",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("on: [push\n", "w.yml (Line: 2, Col: 1): "),
        (
            "on: push\njobs:\n  a:\n    runs-on: !!int x\n",
            "w.yml: The value 'x' on line 4 and column 14 is invalid for the type 'tag:yaml.org,2002:int'",
        ),
        ("", "w.yml: The workflow file is empty"),
    ],
)
def test_yaml_level_errors(text: str, message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", text)
    assert any(e.startswith(message) for e in info.value.errors), info.value.errors


def test_yaml_12_keeps_on_and_yes_as_strings() -> None:
    wf = parse_workflow(
        "w.yml",
        "on: push\nenv:\n  A: yes\n  B: 0o17\n  C: 1_000\n  D: '1'\njobs:\n  j:\n    runs-on: x\n    steps: [{run: a}]\n",
    )
    assert wf.on == {"push": {}}
    assert wf.env == {"A": "yes", "B": "15", "C": "1_000", "D": "1"}


def test_egress_only_on_normal_jobs() -> None:
    bad = (
        "on: push\njobs:\n  j:\n    runs-on: x\n    egress: {mode: open}\n    steps: [{run: a}]\n"
        "  k:\n    uses: ./.github/workflows/other.yml\n    egress: {mode: audit}\n"
    )
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", bad, ReaderOptions(skip_reusable_workflows=True))
    assert "w.yml (Line: 5, Col: 20): Unexpected value 'open'" in info.value.errors
    assert any("Unexpected value 'egress'" in e for e in info.value.errors)


def test_local_reusable_workflow_is_loaded(tmp_path: Path) -> None:
    write(
        tmp_path,
        "called.yml",
        "on:\n  workflow_call:\n    inputs:\n      who: {type: string, required: true}\n"
        "jobs:\n  inner:\n    runs-on: x\n    steps: [{run: echo}]\n",
    )
    caller = write(
        tmp_path,
        "caller.yml",
        "on: push\njobs:\n  call:\n    uses: ./.github/workflows/called.yml\n    with: {who: me}\n",
    )
    wf = load_workflow(caller)
    call = wf.jobs["call"]
    assert call.is_reusable_call and call.with_ == {"who": "me"}
    assert call.called is not None and list(call.called.jobs) == ["inner"]

    missing = write(
        tmp_path,
        "missing.yml",
        "on: push\njobs:\n  call:\n    uses: ./.github/workflows/called.yml\n",
    )
    with pytest.raises(WorkflowError) as info:
        load_workflow(missing)
    assert info.value.errors == [
        f"{missing} (Line: 4, Col: 11): Input who is required, but not provided while calling."
    ]


def test_load_workflows_collects_every_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "on: push\njobs:\n  j:\n    runs-on: x\n    steps: [{run: a}]\n")
    write(tmp_path, "b.yaml", "on: push\njobs:\n  j:\n    runs-on: x\n    steps: [{run: a}]\n")
    workflows = load_workflows(tmp_path / ".github" / "workflows")
    assert [Path(w.path).name for w in workflows] == ["a.yml", "b.yaml"]
    write(tmp_path, "c.yml", "on: push\n")
    with pytest.raises(WorkflowError) as info:
        load_workflows(tmp_path / ".github" / "workflows")
    assert info.value.errors == [
        f"{tmp_path / '.github/workflows/c.yml'} (Line: 1, Col: 1): Required property is missing: jobs"
    ]


def test_anchors_aliases_and_the_older_refusal() -> None:
    text = (
        "on: push\njobs:\n  a:\n    runs-on: &label linux\n    steps: &steps\n      - run: echo a\n"
        "  b:\n    runs-on: *label\n    steps: *steps\n"
    )
    wf = parse_workflow("w.yml", text)
    assert wf.jobs["b"].runs_on == "linux"
    assert [s.run for s in wf.jobs["b"].steps] == ["echo a"]
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", text, ReaderOptions(allow_anchors=False))
    assert info.value.errors == [
        "w.yml: Anchors are not currently supported. Remove the anchor 'label'"
    ]


def test_alias_bomb_is_refused() -> None:
    lines = ["on: push", "env:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(
            f"  l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]"
        )
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", "\n".join(lines) + "\njobs: {}\n")
    assert info.value.errors == ["w.yml: Maximum YAML nodes exceeded"]


def test_needs_match_job_ids_regardless_of_case() -> None:
    wf = parse_workflow(
        "w.yml",
        "on: push\njobs:\n  test:\n    runs-on: x\n    steps: [{run: a}]\n"
        "  after:\n    needs: [TEST]\n    runs-on: x\n    steps: [{run: a}]\n",
    )
    assert wf.jobs["after"].needs == ["test"]


def test_egress_allow_entries_use_the_allowlist_grammar() -> None:
    text = (
        "on: push\njobs:\n  j:\n    runs-on: x\n    egress:\n      mode: enforce\n"
        "      allow:\n        - github.com\n        - 'pypi.org:99999'\n        - ${{ github.server_url }}\n"
        "    steps: [{run: a}]\n"
    )
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", text)
    errors = info.value.errors
    assert any(
        e.startswith("w.yml (Line: 10, Col: 11): Unrecognized named-value: 'github'")
        for e in errors
    ), errors
    text = text.replace("        - ${{ github.server_url }}\n", "")
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", text)
    assert len(info.value.errors) == 1
    assert info.value.errors[0].startswith(
        "w.yml (Line: 9, Col: 11): Invalid egress allow entry 'pypi.org:99999': "
    )


def test_whole_strategy_as_one_expression() -> None:
    wf = parse_workflow(
        "w.yml",
        "on: push\njobs:\n  j:\n    runs-on: x\n    strategy: ${{ fromJSON(github.event.inputs.s) }}\n"
        "    steps: [{run: a}]\n",
    )
    strategy = wf.jobs["j"].strategy
    assert strategy is not None and strategy.matrix is None
    assert strategy.expression == "${{ fromJSON(github.event.inputs.s) }}"


def test_container_and_service_need_an_image() -> None:
    text = (
        "on: push\njobs:\n  j:\n    runs-on: x\n    container:\n      options: --cpus 1\n"
        "    services:\n      db:\n        env: {A: b}\n      cache: redis:7\n"
        "      dyn:\n        image: ${{ matrix.image }}\n    steps: [{run: a}]\n"
    )
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", text)
    assert info.value.errors == [
        "w.yml (Line: 6, Col: 7): Container image cannot be empty",
        "w.yml (Line: 9, Col: 9): Container image cannot be empty",
    ]


def test_choice_inputs_need_options() -> None:
    text = (
        "on:\n  workflow_dispatch:\n    inputs:\n      a:\n        type: choice\n"
        "      b:\n        type: string\n        options: [x]\n      c:\n        type: choice\n        options: [x, y]\n"
        "jobs:\n  j:\n    runs-on: x\n    steps: [{run: a}]\n"
    )
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", text)
    assert info.value.errors == [
        "w.yml (Line: 5, Col: 9): Missing 'options' for choice input",
        "w.yml (Line: 7, Col: 9): Input type is not 'choice', but 'options' is defined",
    ]


def test_result_size_budget_is_shared_with_called_workflows() -> None:
    callee = "on: workflow_call\njobs:\n  inner:\n    runs-on: x\n    steps: [{run: echo hi}]\n"
    caller = "on: push\njobs:\n  a: {uses: o/r/.github/workflows/c.yml@v1}\n  b: {uses: o/r/.github/workflows/c.yml@v1}\n"
    refs = {"o/r/.github/workflows/c.yml@v1": callee}
    wf = parse_workflow("w.yml", caller, ReaderOptions(), refs.get)
    assert wf.jobs["a"].called is not None and wf.jobs["b"].called is not None
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", caller, ReaderOptions(max_result_size=1500), refs.get)
    assert info.value.errors == [
        "In w.yml (Line: 4, Col: 13): Error from called workflow o/r/.github/workflows/c.yml@v1: Maximum object size exceeded"
    ]
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", caller, ReaderOptions(max_result_size=100))
    assert info.value.errors == ["w.yml: Maximum object size exceeded"]


def test_reusable_call_inputs_secrets_and_types() -> None:
    callee = (
        "on:\n  workflow_call:\n    inputs:\n      flag: {type: boolean, required: true, default: true}\n"
        "      count: {type: number}\n      label: {type: string}\n"
        "    secrets:\n      token: {required: true}\n"
        "jobs:\n  inner:\n    runs-on: x\n    steps: [{run: echo}]\n"
    )
    caller = (
        "on: push\njobs:\n  call:\n    uses: o/r/.github/workflows/c.yml@v1\n"
        "    with:\n      count: 'many'\n      label: 3\n      extra: x\n"
        "    secrets:\n      other: ${{ secrets.X }}\n"
    )
    with pytest.raises(WorkflowError) as info:
        parse_workflow(
            "w.yml", caller, ReaderOptions(), {"o/r/.github/workflows/c.yml@v1": callee}.get
        )
    assert info.value.errors == [
        "w.yml (Line: 4, Col: 11): Input flag is required, but not provided while calling.",
        "w.yml (Line: 6, Col: 14): Unexpected value 'many'",
        "w.yml (Line: 8, Col: 14): Invalid input, extra is not defined in the referenced workflow.",
        "w.yml (Line: 4, Col: 11): Secret token is required, but not provided while calling.",
        "w.yml (Line: 10, Col: 14): Invalid secret, other is not defined in the referenced workflow.",
    ]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (
            "    steps:\n      - uses: actions/checkout\n",
            "(Line: 6, Col: 15): Expected format {org}/{repo}[/path]@ref. Actual 'actions/checkout'",
        ),
        (
            "    strategy:\n      matrix:\n        exclude: [{a: 1}]\n    steps: [{run: a}]\n",
            "(Line: 7, Col: 9): Matrix must define at least one vector",
        ),
        (
            "    concurrency: " + "g" * 401 + "\n    steps: [{run: a}]\n",
            "(Line: 5, Col: 18): Concurrency group name must be less than 400 characters",
        ),
    ],
)
def test_githubs_converter_checks(snippet: str, message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", "on: push\njobs:\n  j:\n    runs-on: x\n" + snippet)
    assert info.value.errors == [f"w.yml {message}"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0x7FFFFFFF", 2147483647),
        ("0xFFFFFFFF", -1),
        ("0o17", 15),
        ("-0", 0),
        ("1e3", 1000),
        (".5", 0.5),
    ],
)
def test_yaml_numbers_like_githubs_reader(value: str, expected: float) -> None:
    wf = parse_workflow(
        "w.yml",
        f"on: push\njobs:\n  j:\n    runs-on: x\n    timeout-minutes: {value}\n    steps: [{{run: a}}]\n",
    )
    assert wf.jobs["j"].timeout_minutes == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "0x1FFFFFFFF",
            "w.yml: The value '0x1FFFFFFFF' on line 5 and column 22 is invalid for the type 'tag:yaml.org,2002:int'",
        ),
        (
            "!!int '5'",
            "w.yml: The scalar style 'SingleQuoted' on line 5 and column 22 is not valid with the tag 'tag:yaml.org,2002:int'",
        ),
        ("!!binary abc", "w.yml: Unexpected tag 'tag:yaml.org,2002:binary'"),
        ("*nope", "w.yml: Unknown anchor 'nope'"),
    ],
)
def test_yaml_reader_refusals(value: str, message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        parse_workflow(
            "w.yml",
            f"on: push\njobs:\n  j:\n    runs-on: x\n    timeout-minutes: {value}\n    steps: [{{run: a}}]\n",
        )
    assert info.value.errors == [message]


def test_status_function_arity_follows_the_schema() -> None:
    ok = "on: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: a}]\n  b:\n    needs: a\n    if: failure('a')\n    runs-on: x\n    steps: [{run: a}]\n"
    assert parse_workflow("w.yml", ok).jobs["b"].condition == "failure('a')"
    bad = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - if: failure('a')\n        run: a\n"
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", bad)
    assert info.value.errors[0].startswith(
        "w.yml (Line: 6, Col: 13): Too many parameters supplied: 'failure'"
    )


def test_event_filters_are_normalized_like_githubs() -> None:
    wf = parse_workflow(
        "w.yml",
        "on:\n  push:\n    branches: main\n    paths-ignore: docs/**\n  pull_request:\n"
        "  workflow_dispatch:\n    inputs:\n      who: {description: x}\n  schedule:\n    - cron: '0 0 * * *'\n"
        "jobs:\n  j:\n    runs-on: x\n    steps: [{run: a}]\n",
    )
    assert wf.on == {
        "push": {"branches": ["main"], "paths-ignore": ["docs/**"]},
        "pull_request": {},
        "workflow_dispatch": {"inputs": {"who": {"type": "string", "description": "x"}}},
        "schedule": [{"cron": "0 0 * * *"}],
    }


def test_workflow_call_defaults_have_the_input_type() -> None:
    text = (
        "on:\n  workflow_call:\n    inputs:\n      a: {type: boolean, default: 'yes'}\n"
        "      b: {type: number, default: 3}\n      c: {type: string, default: 3}\n"
        "      d: {type: boolean, default: '${{ github.event_name == 1 }}'}\n"
        "jobs:\n  j:\n    runs-on: x\n    steps: [{run: a}]\n"
    )
    with pytest.raises(WorkflowError) as info:
        parse_workflow("w.yml", text)
    assert info.value.errors == ["w.yml (Line: 4, Col: 35): Unexpected value 'yes'"]
