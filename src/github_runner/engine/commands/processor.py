"""The workflow-command processor: one output line in, what the runner would do out.

The engine feeds every line a step prints to `CommandProcessor.process_line` and applies the
returned effects in order (`effects.py`). Semantics follow GitHub's runner (ActionCommandManager):

- only registered names are commands; `::stop-commands::TOKEN` pauses all of them until a line
  naming TOKEN (a token longer than 6 characters is masked for the rest of the job). The pause
  and the registered names belong to the step (the runner makes a command manager per step
  handler); problem matchers and the once-per-job deprecation telemetry live in
  `JobCommandState`, which the job shares between its steps;
- a processed command is echoed when echo is on (`::echo::on`, or ACTIONS_STEP_DEBUG), except
  add-mask, debug and the annotation commands; add-mask echoes as `::add-mask::***`;
- a command that fails (bad echo value, missing `name`, `set-env`/`add-path` without
  ACTIONS_ALLOW_UNSECURE_COMMANDS=true...) logs "Unable to process command '...' successfully."
  plus the reason and fails the step, but the step keeps running.

Nothing here blocks, spawns or compiles per line: the per-line cost for ordinary output is two
substring searches.
"""

from __future__ import annotations

import ntpath
import os
from collections.abc import Callable, Mapping
from typing import Protocol

from msgspec import Struct, field

from github_runner.engine.commands.effects import (
    AddMatcher,
    AddPath,
    CommandFailed,
    Debug,
    Effect,
    GroupEnd,
    GroupStart,
    Issue,
    IssueLevel,
    MaskAdded,
    Output,
    RemoveMatcher,
    SaveState,
    SetEnv,
    SetOutput,
    parse_int32,
)
from github_runner.engine.commands.matchers import (
    MatcherConfig,
    MatcherError,
    MatcherSet,
    load_matchers,
    matcher_timeout,
)
from github_runner.engine.commands.parsing import (
    ActionCommand,
    CommandNames,
    Properties,
    parse_command,
)

STOP_COMMAND = "stop-commands"
ALLOW_UNSECURE_COMMANDS = "ACTIONS_ALLOW_UNSECURE_COMMANDS"
ALLOW_UNSECURE_STOP_TOKENS = "ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS"

UNSUPPORTED_COMMAND_DISABLED = (
    "The `{0}` command is disabled. Please upgrade to using Environment Files or opt into unsecure "
    "command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to "
    "`true`. For more information see: "
    "https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/"
)
DEPRECATED_COMMAND = (
    "The `{0}` command is deprecated and will be disabled soon. Please upgrade to using Environment "
    "Files. For more information see: "
    "https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/"
)
INVALID_STOP_TOKEN = (
    "You cannot use a endToken that is an empty string, the string 'pause-logging', or another "
    "workflow command. For more information see: "
    "https://docs.github.com/actions/learn-github-actions/workflow-commands-for-github-actions"
    "#example-stopping-and-starting-workflow-commands or opt into insecure command execution by "
    "setting the `ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS` environment variable to `true`."
)
SET_ENV_BLOCKLIST = ("NODE_OPTIONS",)

# Commands with a handler, and whether the handler suppresses the raw echo (the runner's OmitEcho).
HANDLED: dict[str, bool] = {
    "set-env": False,
    "set-output": False,
    "save-state": False,
    "add-path": False,
    "add-mask": True,
    "add-matcher": False,
    "remove-matcher": False,
    "warning": True,
    "error": True,
    "notice": True,
    "debug": True,
    "group": False,
    "endgroup": False,
    "echo": False,
}
INTERNAL_SET_REPO_PATH = "internal-set-repo-path"  # handled (ignored) only while enabled


class MaskerLike(Protocol):
    def add(self, value: str, /) -> object: ...


def default_command_names() -> CommandNames:
    """The names the runner registers: every handled command and `stop-commands`."""
    return CommandNames((*HANDLED, STOP_COMMAND))


class CommandError(Exception):
    """A command handler refused the command; the message is what the runner logs."""


def convert_to_boolean(value: str | None) -> bool:
    """The runner's StringUtil.ConvertToBoolean: '1', 'true', '$true' (any case)."""
    return value is not None and value.lower() in ("1", "true", "$true")


def dotnet_bool(value: str | None) -> bool:
    """`bool.TryParse`: only 'true'/'false' (any case, surrounding whitespace ignored); '1' is not true."""
    return value is not None and value.strip().lower() == "true"


class JobCommandState(Struct):
    """Command state the runner keeps per job, shared by every step's processor."""

    telemetry: list[str] = field(default_factory=list)
    matchers: list[MatcherConfig] = field(default_factory=list)  # problem matchers, newest first
    variables: dict[str, str] = field(default_factory=dict)  # job variables the commands read
    _deprecated_seen: set[str] = field(default_factory=set)

    def record_deprecated(self, command: str) -> None:
        if command not in self._deprecated_seen:
            self._deprecated_seen.add(command)
            self.telemetry.append(f"DeprecatedCommand: {command}")


class CommandSettings(Struct, frozen=True):
    """Server-side switches the runner reads from job variables; defaults are github.com's."""

    enhanced_annotations: bool = True  # DistributedTask.EnhancedAnnotations (`notice`, title...)
    deprecate_step_output_commands: bool = True  # DistributedTask.DeprecateStepOutputCommands

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> "CommandSettings":
        """From a job message's variables, read like the runner (`bool.TryParse`; unset: off)."""
        folded = {k.lower(): v for k, v in variables.items()}
        return cls(
            enhanced_annotations=dotnet_bool(folded.get("distributedtask.enhancedannotations")),
            deprecate_step_output_commands=dotnet_bool(folded.get("distributedtask.deprecatestepoutputcommands")),
        )


class LineResult(Struct, frozen=True):
    processed: bool  # the line was taken as a command (not plain output)
    effects: tuple[Effect, ...]


def make_relative(path: str, folder: str) -> str:
    """The runner's IOUtil.MakeRelative: `path` relative to `folder`, or `path` unchanged."""
    if not path.startswith(folder):
        return path
    if len(path) == len(folder):
        return ""
    if folder.endswith("/"):
        return path[len(folder) :]
    if path[len(folder)] == "/":
        return path[len(folder) + 1 :]
    return path


class CommandProcessor:
    """Processes one step's output lines. Create one per step; share `job` across the job."""

    def __init__(
        self,
        masker: MaskerLike,
        *,
        job: JobCommandState | None = None,
        env: Mapping[str, str] | None = None,
        runner_env: Mapping[str, str] | None = None,
        step_debug: bool = False,
        settings: CommandSettings | None = None,
        workspace: str | None = None,
        repository: str | None = None,
        to_host_path: Callable[[str], str] | None = None,
    ) -> None:
        """
        env: the step's `env` context (where ACTIONS_ALLOW_UNSECURE_* may be set by a workflow).
        runner_env: the runner process environment (default os.environ), checked first.
        step_debug: ACTIONS_STEP_DEBUG is true for the job, so echo starts on.
        workspace/repository: make annotation file paths repository-relative, as GitHub does.
        to_host_path: translate container paths in `file=`/matcher paths back to the host.
        """
        self.masker = masker
        self.job = job if job is not None else JobCommandState()
        self.env: Mapping[str, str] = env or {}
        self.runner_env: Mapping[str, str] = os.environ if runner_env is None else runner_env
        self.settings = settings or CommandSettings()
        self.echo = step_debug
        self.failed = False  # the runner's CommandResult == Failed
        self.workspace = workspace
        self.repository = repository
        self.to_host_path = to_host_path
        self.set_repo_path_enabled = False
        self.registered = default_command_names()
        self.stopped = False
        self.stop_token: str | None = None
        self.matchers = MatcherSet(self.job.matchers, workspace, matcher_timeout(self.job.variables, self.runner_env))

    # -- entry point -------------------------------------------------------------------------

    def process_line(self, line: str) -> LineResult:
        # Fast path: a v2 command starts the (left-trimmed) line, a v1 command contains "##[".
        if "##[" not in line and not line.lstrip().startswith("::"):
            return self._plain(line) if self.matchers.live else LineResult(False, (Output(line),))
        command = parse_command(line, self.registered)
        if command is None:
            return self._plain(self._sanitize(line))
        name = command.command.lower()
        if command.command == "notice" and not self.settings.enhanced_annotations:  # sic: case-sensitive
            skipped = Debug("Enhanced Annotations not enabled on the server: 'notice' command will not be processed.")
            plain = self._plain(self._sanitize(line))
            return LineResult(False, (skipped, *plain.effects))
        if self.stopped:
            if self.stop_token and name == self.stop_token.lower():
                self.registered.discard(self.stop_token)
                self.stopped = False
                self.stop_token = None
                return LineResult(True, (Output(line), Debug("Resume processing commands")))
            return self._plain(self._sanitize(line))
        if name == STOP_COMMAND:
            return self._stop(line, command)
        omit_echo = HANDLED.get(name)
        if omit_echo is None and name == INTERNAL_SET_REPO_PATH and self.set_repo_path_enabled:
            omit_echo = False
        if omit_echo is None:
            return LineResult(
                True, (Issue("warning", f"Can't find command extension for ##[{command.command}.command]."),)
            )
        effects: list[Effect] = []
        if self.echo and not omit_echo:
            effects.append(Output(line))
        try:
            self._handle(name, command, effects)
        except CommandError as error:
            shown = name if omit_echo else line
            effects.append(Issue("error", f"Unable to process command '{shown}' successfully."))
            effects.append(Issue("error", str(error)))
            effects.append(CommandFailed(str(error)))
            self.failed = True
        return LineResult(True, tuple(effects))

    def enable_set_repo_path(self, enabled: bool = True) -> None:
        """The checkout plugin's internal command is recognised only while it runs."""
        self.set_repo_path_enabled = enabled
        if enabled:
            self.registered.add(INTERNAL_SET_REPO_PATH)
        else:
            self.registered.discard(INTERNAL_SET_REPO_PATH)

    # -- helpers -----------------------------------------------------------------------------

    def _plain(self, line: str) -> LineResult:
        """Ordinary output, unless a problem matcher turns the line into an annotation."""
        if self.matchers.live:
            issue, notes = self.matchers.issue_for(line)
            if issue is not None:
                return LineResult(False, (*notes, issue))
            if notes:
                return LineResult(False, (*notes, Output(line)))
        return LineResult(False, (Output(line),))

    @staticmethod
    def _sanitize(line: str) -> str:
        """Keep user output from forging the runner's own action start/end markers."""
        if "##[start-action" in line or "##[end-action" in line:
            return line.replace("##[start-action", "##[\\start-action").replace("##[end-action", "##[\\end-action")
        return line

    def _setting(self, name: str, parse: Callable[[str | None], bool]) -> bool:
        """Process environment first, then the step's env context, as the runner checks them."""
        if parse(self.runner_env.get(name)):
            return True
        return name in self.env and parse(self.env[name])

    def _stop(self, line: str, command: ActionCommand) -> LineResult:
        token = command.data
        invalid = not token or token in self.registered or token.lower() == "pause-logging"
        if invalid:
            self.job.telemetry.append(f"Invoked ::stopCommand:: with token: [{token}]")
            if not self._setting(ALLOW_UNSECURE_STOP_TOKENS, convert_to_boolean):
                self.failed = True
                return LineResult(True, (Issue("error", INVALID_STOP_TOKEN), CommandFailed(INVALID_STOP_TOKEN)))
        effects: list[Effect] = []
        self.stop_token = token
        self.stopped = True
        self.registered.add(token)
        if len(token) > 6:
            self.masker.add(token)
            effects.append(MaskAdded(len(token)))
        effects.append(Output(line))
        effects.append(Debug("Paused processing commands until the token you called ::stopCommands:: with is received"))
        return LineResult(True, tuple(effects))

    def _handle(self, name: str, command: ActionCommand, effects: list[Effect]) -> None:
        props = command.properties
        data = command.data
        if name in ("warning", "error", "notice"):
            effects.append(self._issue(name, command))  # type: ignore[arg-type]
        elif name == "debug":
            effects.append(Debug(data))
        elif name == "group":
            effects.append(GroupStart(data))
        elif name == "endgroup":
            effects.append(GroupEnd())
        elif name == "add-mask":
            self._add_mask(data, effects)
        elif name == "echo":
            value = data.strip().upper()
            if value not in ("ON", "OFF"):
                raise CommandError(
                    f"Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: '{data}'."
                )
            self.echo = value == "ON"
            effects.append(Debug(f"Setting echo command value to '{value.lower()}'"))
        elif name in ("set-output", "save-state"):
            if self.settings.deprecate_step_output_commands:
                effects.append(Issue("warning", DEPRECATED_COMMAND.format(name)))
            self.job.record_deprecated(name)
            key = props.get("name")
            if not key:
                raise CommandError(f"Required field 'name' is missing in ##[{name}] command.")
            effects.append(SetOutput(key, data) if name == "set-output" else SaveState(key, data))
        elif name in ("set-env", "add-path"):
            if not self._setting(ALLOW_UNSECURE_COMMANDS, dotnet_bool):
                raise CommandError(UNSUPPORTED_COMMAND_DISABLED.format(name))
            if name == "add-path":
                if not data:
                    raise CommandError("Value cannot be null. (Parameter 'path')")
                effects.append(AddPath(data))
                return
            key = props.get("name")
            if not key:
                raise CommandError("Required field 'name' is missing in ##[set-env] command.")
            for blocked in SET_ENV_BLOCKLIST:
                if key.lower() == blocked.lower():
                    effects.append(Issue("error", f"Can't update {blocked} environment variable using ::set-env:: command."))
                    return
            effects.append(SetEnv(key, data))
        elif name == "add-matcher":
            if not data:
                effects.append(Issue("warning", "File path must be specified."))
                return
            path = self._host_file(data)
            configs = self._load_matchers(path)
            if configs:
                owners = {c.owner.lower() for c in configs}
                self.job.matchers = configs + [c for c in self.job.matchers if c.owner.lower() not in owners]
                self.matchers.update(self.job.matchers)
                joined = ", ".join(f"'{c.owner}'" for c in configs)
                effects.append(Output(f"Added matchers: {joined}. Problem matchers scan action output for "
                                      "known warning or error strings and report these inline."))
            effects.append(AddMatcher(path))
        elif name == "remove-matcher":
            owner = props.get("owner")
            if owner and data:
                effects.append(Issue("warning", "Either specify an owner name or a file path in ##[remove-matcher] command. Both values cannot be set."))
            elif not owner and not data:
                effects.append(Issue("warning", "Either an owner name or a file path must be specified in ##[remove-matcher] command."))
            else:
                path = None if owner else self._host_file(data)
                owners = [owner] if owner else [c.owner for c in self._load_matchers(path or "")]
                if owners:
                    folded = {o.lower() for o in owners}
                    self.job.matchers = [c for c in self.job.matchers if c.owner.lower() not in folded]
                    self.matchers.update(self.job.matchers)
                    effects.append(Output("Removed matchers: " + ", ".join(f"'{o}'" for o in owners)))
                effects.append(RemoveMatcher(owner=owner) if owner else RemoveMatcher(path=path))
        elif name == INTERNAL_SET_REPO_PATH:
            for required in ("repoFullName", "workspaceRepo"):
                if not props.get(required):
                    raise CommandError(f"Required field '{required}' is missing in ##[internal-set-repo-path] command.")

    @staticmethod
    def _load_matchers(path: str) -> list[MatcherConfig]:
        try:
            return load_matchers(path)
        except MatcherError as error:
            raise CommandError(str(error)) from None

    def _host_file(self, path: str) -> str:
        if self.to_host_path is not None:
            path = self.to_host_path(path)
        if not os.path.isabs(path) and not ntpath.isabs(path):
            if not self.workspace:
                raise CommandError("Parameter 'workspace' cannot be null or empty.")
            path = os.path.join(self.workspace, path)
        return path

    def _add_mask(self, data: str, effects: list[Effect]) -> None:
        if not data.strip():
            effects.append(Issue("warning", "Can't add secret mask for empty string in ##[add-mask] command."))
            return
        if self.echo:
            effects.append(Output("::add-mask::***"))
        self.masker.add(data)
        effects.append(MaskAdded(len(data)))
        for part in data.replace("\r", "\n").split("\n"):
            part = part.strip()
            if part:
                self.masker.add(part)

    def _issue(self, level: IssueLevel, command: ActionCommand) -> Issue:
        props = command.properties
        normalise_lines_and_columns(props)
        file = props.get("file")
        if file:
            if self.to_host_path is not None:
                file = self.to_host_path(file)
                props["file"] = file
            if self.workspace:
                relative = make_relative(file, self.workspace)
                if relative != file:
                    if self.repository:
                        props["repo"] = self.repository
                    if relative:
                        props["file"] = relative
        return Issue(level, command.data, dict(props.items()))


def normalise_lines_and_columns(props: Properties) -> None:
    """The runner's ValidateLinesAndColumns, quirks included (numbers are not re-read after fix-ups)."""
    line, end_line = props.get("line"), props.get("endLine")
    column, end_column = props.get("col"), props.get("endColumn")
    line_number, end_line_number = parse_int32(line), parse_int32(end_line)
    column_number, end_column_number = parse_int32(column), parse_int32(end_column)
    has_line, has_end_line = line_number is not None, end_line_number is not None
    has_col, has_end_col = column_number is not None, end_column_number is not None
    has_column = has_col or has_end_col
    if has_end_line and not has_line:
        props["line"] = end_line  # type: ignore[assignment]
        has_line, line = True, end_line
    if has_end_col and not has_col:
        props["col"] = end_column  # type: ignore[assignment]
        has_col, column = True, end_column
    if not has_line and has_column:
        props.pop("col", None)
        props.pop("endColumn", None)
    if has_end_line and line != end_line and has_column:
        props.pop("col", None)
        props.pop("endColumn", None)
    if has_line and has_end_line and (end_line_number or 0) < (line_number or 0):
        props.pop("line", None)
        props.pop("endLine", None)
    if has_col and has_end_col and (end_column_number or 0) < (column_number or 0):
        props.pop("col", None)
        props.pop("endColumn", None)
