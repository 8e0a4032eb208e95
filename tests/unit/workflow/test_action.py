"""action.yml manifests: every runs kind, composite steps as model Steps, schema errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from github_runner.engine.workflow import WorkflowError, load_action

COMPOSITE = """\
name: Greet
description: says hello
inputs:
  who:
    description: whom
    required: true
    default: ${{ github.actor }}
  old:
    deprecationMessage: use who
outputs:
  greeting:
    description: the text
    value: ${{ steps.say.outputs.text }}
runs:
  using: composite
  steps:
    - id: say
      run: echo "text=hi ${{ inputs.who }}" >> "$GITHUB_OUTPUT"
      shell: bash
    - uses: ./nested
      if: always()
"""


def test_composite_manifest(tmp_path: Path) -> None:
    (tmp_path / "action.yml").write_text(COMPOSITE)
    manifest = load_action(tmp_path)
    assert manifest.name == "Greet" and manifest.using == "composite"
    assert manifest.inputs["who"] == {
        "description": "whom",
        "required": True,
        "default": "${{ github.actor }}",
    }
    assert manifest.inputs["old"]["deprecationMessage"] == "use who"
    assert manifest.outputs["greeting"]["value"] == "${{ steps.say.outputs.text }}"
    say, nested = manifest.steps
    assert (say.id, say.shell, say.line) == ("say", "bash", 17)
    assert (nested.uses, nested.context_id, nested.condition) == ("./nested", "__self", "always()")


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        (
            "  using: node20\n  main: dist/index.js\n  post: dist/post.js\n  post-if: success()\n",
            {
                "using": "node20",
                "main": "dist/index.js",
                "post": "dist/post.js",
                "post_if": "success()",
            },
        ),
        (
            "  using: docker\n  image: Dockerfile\n  entrypoint: /e.sh\n  args: ['${{ inputs.a }}', x]\n  env: {A: b}\n",
            {
                "using": "docker",
                "image": "Dockerfile",
                "entrypoint": "/e.sh",
                "args": ["${{ inputs.a }}", "x"],
                "env": {"A": "b"},
            },
        ),
    ],
)
def test_node_and_docker_runs(tmp_path: Path, runs: str, expected: dict) -> None:
    (tmp_path / "action.yaml").write_text(f"name: x\nruns:\n{runs}")
    manifest = load_action(tmp_path)
    for attr, value in expected.items():
        assert getattr(manifest.runs, attr) == value


def test_bad_manifest_reports_all_errors(tmp_path: Path) -> None:
    path = tmp_path / "action.yml"
    path.write_text(
        "name: x\nruns:\n  using: composite\n  steps:\n    - run: echo ${{ secrets.X }}\n"
        "    - run: echo\n      shell: bash\n      bogus: 1\n"
    )
    with pytest.raises(WorkflowError) as info:
        load_action(tmp_path)
    assert info.value.errors == [
        f"{path} (Line: 5, Col: 12): Unrecognized named-value: 'secrets'. Located at position 1 within expression: secrets.X",
        f"{path} (Line: 5, Col: 7): Required property is missing: shell",
        f"{path} (Line: 8, Col: 7): Unexpected value 'bogus'",
    ]


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError) as info:
        load_action(tmp_path)
    assert "Can't find 'action.yml'" in info.value.errors[0]
