"""Job message templates -> JobPlan (the worker's conversion), on GitHub-shaped messages."""

from __future__ import annotations

import pytest

from github_runner.worker.convert import MessageFormatError, context_value, convert, token_value
from tests.fakegithub.jobs import JobDef, Step, build_message


def test_token_and_context_decoding() -> None:
    assert token_value({"type": 3, "expr": "github.sha"}) == "${{ github.sha }}"
    assert token_value({"type": 2, "map": [{"Key": "a", "Value": {"type": 1, "seq": [1, True]}}]}) \
        == {"a": [1, True]}
    assert token_value({"type": 0, "lit": "x", "file": 1, "line": 2, "col": 3}) == "x"
    assert token_value({"type": 7}) is None
    with pytest.raises(MessageFormatError, match="unknown TemplateToken type 9"):
        token_value({"type": 9})
    assert context_value({"t": 2, "d": [{"k": "n", "v": {"t": 4, "n": 3.0}},
                                        {"k": "l", "v": {"t": 1, "a": ["x"]}}]}) == {"n": 3, "l": ["x"]}
    assert context_value({"t": 2}) == {}


def test_message_to_plan() -> None:
    job = JobDef(steps=[
        Step(run="echo ${{ secrets.S }} and ${{ github.sha }}", id="one", name="First",
             env={"A": "${{ vars.V }}"}, continue_on_error=True, shell="sh"),
        Step(uses="actions/checkout@v4", with_={"fetch-depth": 0}),
        Step(uses="./local"),
        Step(uses="docker://alpine:3", if_="always()"),
    ], env={"TOP": "1"}, secrets={"S": "sv"}, vars={"V": "vv"}, outputs={"o": "${{ steps.one.outputs.x }}"},
        needs={"build": {"result": "success", "outputs": {"k": "v"}}})
    msg = build_message(job, v2=True, system_url="https://run/", results_url="https://res/",
                        job_token="jt", request_id=0, github_token="ghs_tok")
    conv = convert(msg)
    plan = conv.plan
    s0, s1, s2, s3 = plan.steps
    assert s0.id == "one"
    assert s0.run == "${{ format('echo {0} and {1}', secrets.S, github.sha) }}"
    assert s0.name == "First" and s0.shell == "sh" and s0.continue_on_error is True
    assert s0.env == {"A": "${{ vars.V }}"} and s0.record_id == job.steps[0].record_id
    assert s1.uses == "actions/checkout@v4" and s1.with_ == {"fetch-depth": 0} and s1.generated_id
    assert s2.uses == "./local" and s3.uses == "docker://alpine:3" and s3.condition == "always()"
    assert plan.secrets == {"S": "sv", "GITHUB_TOKEN": "ghs_tok"}
    assert plan.contexts["vars"] == {"V": "vv"}
    assert plan.contexts["needs"]["build"]["outputs"] == {"k": "v"}
    assert plan.contexts["github"]["repository"] == "octo/repo"
    assert plan.env == [{"TOP": "1"}] and plan.defaults_run.shell == "bash"
    assert plan.outputs == {"o": "${{ steps.one.outputs.x }}"} and plan.job_key == "build"
    assert "ghs_tok" in conv.mask_values and "sv" in conv.mask_values


def test_bad_messages_name_the_field() -> None:
    msg = build_message(JobDef(steps=[Step(run="x")]), v2=True, system_url="u", results_url="r",
                        job_token="t", request_id=0, github_token="g")
    msg["steps"][0]["reference"] = {"type": "weird"}
    with pytest.raises(MessageFormatError, match=r"steps\[0\].reference.type"):
        convert(msg)
    del msg["steps"]
    with pytest.raises(MessageFormatError, match="steps: missing"):
        convert(msg)
