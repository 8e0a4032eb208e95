"""Workflow commands (`::name k=v::data`, `##[name]data`) and file commands (GITHUB_ENV...).

Published API for the engine:

    job_state = JobCommandState()                        # once per job (variables=job message vars)
    settings = CommandSettings.from_variables(vars)     # GitHub jobs; default = github.com's
    proc = CommandProcessor(masker, job=job_state, env=step_env_context,
                            step_debug=..., workspace=..., repository=..., settings=settings,
                            to_host_path=...)            # container -> host paths (Docker)
    for line in step_output_lines:
        result = proc.process_line(line)                  # LineResult(processed, effects)
        for effect in result.effects: apply(effect)       # see effects.py
    proc.failed                                           # a command failed the step

    files = StepFiles.create(temp / FILE_COMMAND_DIR, previous=last_files)   # before each step
    env.update(files.environment(sandbox.to_job_path))
    outcome = files.process(masker.mask)                 # after the step: effects + failed

Effects: Output, GroupStart, GroupEnd, Debug, Issue, SetOutput, SaveState, SetEnv, AddPath,
MaskAdded, AddMatcher, RemoveMatcher, StepSummary, CommandFailed (an Issue from a problem
matcher carries `log_message`, the matched line the log should show). PATH for the next step:
`prepend_path(job_prepend_list, [e.path for AddPath effects])`, then `build_path(list, PATH)`.
"""

from github_runner.engine.commands.effects import (
    AddMatcher,
    AddPath,
    CommandFailed,
    Debug,
    Effect,
    GroupEnd,
    GroupStart,
    Issue,
    MaskAdded,
    Output,
    RemoveMatcher,
    SaveState,
    SetEnv,
    SetOutput,
    StepSummary,
)
from github_runner.engine.commands.file_commands import (
    FILE_COMMAND_DIR,
    FileCommandError,
    FileCommandResult,
    StepFiles,
    build_path,
    parse_key_value_file,
    prepend_path,
    process_env_file,
    process_output_file,
    process_path_file,
    process_state_file,
)
from github_runner.engine.commands.parsing import ActionCommand, CommandNames, parse_command
from github_runner.engine.commands.processor import (
    CommandProcessor,
    CommandSettings,
    JobCommandState,
    LineResult,
)
from github_runner.engine.commands.summary import SUMMARY_SIZE_LIMIT, read_step_summary

__all__ = [
    "ActionCommand", "AddMatcher", "AddPath", "CommandFailed", "CommandNames", "CommandProcessor",
    "CommandSettings", "Debug", "Effect", "FILE_COMMAND_DIR", "FileCommandError",
    "FileCommandResult", "GroupEnd", "GroupStart", "Issue", "JobCommandState", "LineResult",
    "MaskAdded", "Output", "RemoveMatcher", "SUMMARY_SIZE_LIMIT", "SaveState", "SetEnv",
    "SetOutput", "StepFiles", "StepSummary", "build_path", "parse_command",
    "parse_key_value_file", "prepend_path", "process_env_file", "process_output_file",
    "process_path_file", "process_state_file", "read_step_summary",
]
