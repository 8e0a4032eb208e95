"""CommandProcessor behaviour beyond the shared vectors: job-wide stop state, echo, unsecure rules."""

from __future__ import annotations

import pytest

from github_runner.engine.commands import (
    AddPath,
    CommandFailed,
    CommandProcessor,
    Debug,
    GroupEnd,
    GroupStart,
    Issue,
    JobCommandState,
    Output,
    RemoveMatcher,
    SaveState,
    SetEnv,
    SetOutput,
)
from github_runner.engine.commands.processor import CommandSettings, make_relative
from github_runner.secrets.masker import Masker


def proc(**kwargs) -> CommandProcessor:  # type: ignore[no-untyped-def]
    kwargs.setdefault("runner_env", {})
    return CommandProcessor(Masker(min_length=1), **kwargs)


def kinds(p: CommandProcessor, line: str) -> list[type]:
    return [type(e) for e in p.process_line(line).effects]


def test_plain_output_is_passed_through() -> None:
    p = proc()
    for line in ["hello", "", "a::b", "::", "::::", "## [x]"]:
        result = p.process_line(line)
        assert not result.processed and result.effects == (Output(line),)


def test_runner_markers_in_output_are_defused() -> None:
    result = proc().process_line("##[start-action x] ##[end-action y]")
    assert result.effects == (Output("##[\\start-action x] ##[\\end-action y]"),)


def test_stop_commands_last_until_the_token_within_one_step_only() -> None:
    job = JobCommandState()
    first = proc(job=job)
    assert first.process_line("::stop-commands::tok-123456").processed
    assert not first.process_line("::warning::x").processed
    resumed = first.process_line("::TOK-123456::")
    assert resumed.processed and resumed.effects[0] == Output("::TOK-123456::")
    assert first.process_line("::warning::x").processed
    assert "tok-123456" not in first.registered  # the token is a command no more
    # The runner makes a command manager per step: an unfinished pause ends with its step.
    first.process_line("::stop-commands::other-token")
    assert proc(job=job).process_line("::warning::x").processed


def test_long_stop_token_is_masked_short_one_is_not() -> None:
    masker = Masker(min_length=1)
    p = CommandProcessor(masker, runner_env={})
    p.process_line("::stop-commands::abcdef")
    p.process_line("::abcdef::")
    p.process_line("::stop-commands::abcdefg")
    assert masker.mask("abcdef abcdefg") == "abcdef ***"


@pytest.mark.parametrize("token", ["", "warning", "WARNING", "pause-logging", "Pause-Logging", "stop-commands"])
def test_invalid_stop_tokens_fail_the_step(token: str) -> None:
    p = proc()
    result = p.process_line(f"::stop-commands::{token}")
    assert result.processed and p.failed and isinstance(result.effects[-1], CommandFailed)
    assert "You cannot use a endToken" in result.effects[-1].message
    assert p.process_line("::warning::still works").processed


@pytest.mark.parametrize(("where", "value", "allowed"), [
    ("runner", "1", True), ("runner", "TRUE", True), ("env", "$true", True),
    ("env", "yes", False), ("runner", "0", False),
])
def test_unsecure_stop_token_switch(where: str, value: str, allowed: bool) -> None:
    name = "ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS"
    p = proc(runner_env={name: value}) if where == "runner" else proc(env={name: value})
    p.process_line("::stop-commands::warning")
    assert p.failed is not allowed
    assert p.stopped is allowed


@pytest.mark.parametrize(("value", "allowed"), [("true", True), (" True ", True), ("1", False), ("yes", False)])
def test_set_env_and_add_path_need_the_unsecure_switch(value: str, allowed: bool) -> None:
    p = proc(env={"ACTIONS_ALLOW_UNSECURE_COMMANDS": value})
    env = p.process_line("::set-env name=A::b").effects
    path = p.process_line("::add-path::/opt/x").effects
    assert (SetEnv("A", "b") in env) is allowed
    assert (AddPath("/opt/x") in path) is allowed
    assert p.failed is not allowed


def test_unsecure_switch_from_the_runner_process_env() -> None:
    p = proc(runner_env={"ACTIONS_ALLOW_UNSECURE_COMMANDS": "true"})
    assert SetEnv("A", "b") in p.process_line("::set-env name=A::b").effects


def test_set_env_refuses_node_options_without_failing() -> None:
    p = proc(env={"ACTIONS_ALLOW_UNSECURE_COMMANDS": "true"})
    effects = p.process_line("::set-env name=node_options::--require x").effects
    assert not any(isinstance(e, SetEnv) for e in effects) and not p.failed
    assert Issue("error", "Can't update NODE_OPTIONS environment variable using ::set-env:: command.") in effects


def test_missing_name_fails_with_the_runner_message() -> None:
    p = proc()
    effects = p.process_line("::set-output::x").effects
    assert p.failed
    assert Issue("error", "Required field 'name' is missing in ##[set-output] command.") in effects
    assert Issue("error", "Unable to process command '::set-output::x' successfully.") in effects


def test_deprecation_warning_and_telemetry_once_per_job() -> None:
    job = JobCommandState()
    a, b = proc(job=job), proc(job=job, settings=CommandSettings(deprecate_step_output_commands=False))
    assert [type(e) for e in a.process_line("::set-output name=o::1").effects] == [Issue, SetOutput]
    assert b.process_line("::set-output name=o::2").effects == (SetOutput("o", "2"),)
    assert b.process_line("::save-state name=s::3").effects == (SaveState("s", "3"),)
    assert job.telemetry == ["DeprecatedCommand: set-output", "DeprecatedCommand: save-state"]


def test_echo_rules() -> None:
    p = proc(step_debug=True)
    assert p.echo
    assert kinds(p, "::group::g") == [Output, GroupStart]
    assert kinds(p, "::endgroup::") == [Output, GroupEnd]
    assert kinds(p, "::warning::w") == [Issue]  # annotations are never echoed raw
    assert kinds(p, "::debug::d") == [Debug]
    assert p.process_line("::add-mask::s3cret").effects[0] == Output("::add-mask::***")
    p.process_line("::echo::off")
    assert kinds(p, "::group::g") == [GroupStart]
    assert kinds(p, "::add-mask::other") != [Output]


def test_failed_command_with_omit_echo_names_the_command_not_the_line() -> None:
    p = proc(env={"ACTIONS_ALLOW_UNSECURE_COMMANDS": "true"})
    p.process_line("::echo::bogus")
    assert p.failed and not p.echo


def test_add_mask_registers_whole_value_and_each_trimmed_line() -> None:
    masker = Masker(min_length=1)
    p = CommandProcessor(masker, runner_env={})
    p.process_line("::add-mask::  one %0D%0A two  %0A%0A")
    assert masker.mask("one|two") == "***|***"
    warn = p.process_line("::add-mask:: %0A ").effects
    assert warn == (Issue("warning", "Can't add secret mask for empty string in ##[add-mask] command."),)


def test_notice_needs_enhanced_annotations() -> None:
    off = proc(settings=CommandSettings(enhanced_annotations=False))
    assert not off.process_line("::notice::n").processed
    assert proc().process_line("::notice title=T::n").effects == (Issue("notice", "n", {"title": "T"}),)


def test_annotation_file_made_relative_to_the_workspace() -> None:
    p = proc(workspace="/w/repo", repository="o/r", to_host_path=lambda f: f.replace("/__w/", "/w/"))
    issue = p.process_line("::error file=/__w/repo/src/a.py,line=3,col=2,endColumn=5,title=T::boom").effects[0]
    assert isinstance(issue, Issue)
    assert issue.properties == {"file": "src/a.py", "line": "3", "col": "2", "endColumn": "5", "title": "T", "repo": "o/r"}
    assert (issue.file, issue.line, issue.col, issue.end_column, issue.title) == ("src/a.py", 3, 2, 5, "T")
    outside = p.process_line("::error file=/etc/passwd::x").effects[0]
    assert isinstance(outside, Issue) and outside.properties == {"file": "/etc/passwd"}


def test_make_relative() -> None:
    assert make_relative("/a/b/c", "/a/b") == "c"
    assert make_relative("/a/bc", "/a/b") == "/a/bc"
    assert make_relative("/a/b", "/a/b") == ""
    assert make_relative("/a/b/c", "/a/") == "b/c"


def test_line_numbers_are_parsed_like_int_tryparse() -> None:
    issue = proc().process_line("::warning line= 7 ,endLine=+7,col=1_0::x").effects[0]
    assert isinstance(issue, Issue) and issue.line == 7 and issue.end_line == 7 and issue.col is None


def test_registered_name_without_handler_warns() -> None:
    p = proc()
    p.registered.add("mystery")
    result = p.process_line("::Mystery::x")
    assert result.processed
    assert result.effects == (Issue("warning", "Can't find command extension for ##[Mystery.command]."),)


def test_internal_set_repo_path_only_while_enabled() -> None:
    p = proc()
    line = "::internal-set-repo-path repoFullName=o/r,workspaceRepo=true::/w"
    assert not p.process_line(line).processed
    p.enable_set_repo_path()
    assert p.process_line(line).processed and not p.failed
    p.enable_set_repo_path(False)
    assert not p.process_line(line).processed


def test_matcher_command_errors() -> None:
    p = proc(workspace="/nonexistent-ws")
    effects = p.process_line("::add-matcher::.github/m.json").effects
    assert p.failed and Issue("error", "Could not find file '/nonexistent-ws/.github/m.json'.") in effects
    q = proc()
    assert q.process_line("::remove-matcher owner=a::f.json").effects[0].level == "warning"  # type: ignore[union-attr]
    assert q.process_line("::add-matcher::").effects[0] == Issue("warning", "File path must be specified.")
    assert q.process_line("::remove-matcher owner=eslint::").effects == (
        Output("Removed matchers: 'eslint'"), RemoveMatcher(owner="eslint"))
    assert not q.failed


def test_settings_from_job_message_variables() -> None:
    settings = CommandSettings.from_variables({"DistributedTask.EnhancedAnnotations": "True",
                                               "distributedtask.deprecateStepOutputCommands": "1"})
    assert settings == CommandSettings(enhanced_annotations=True, deprecate_step_output_commands=False)
    assert CommandSettings.from_variables({}) == CommandSettings(False, False)
