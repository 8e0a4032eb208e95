"""What a workflow command or a file command asks the engine to do.

The command processor and the file-command readers never touch engine state: they return these
small immutable records, in the order the runner would apply them, and the engine applies them
(updates env/PATH/outputs/state, emits `engine/events.py` events through the Masker). Keeping the
processor pure is what lets the conformance scorers drive it with nothing but a subprocess.
"""

from __future__ import annotations

import re
from typing import Literal

from msgspec import Struct, field

IssueLevel = Literal["error", "warning", "notice"]

# .NET int.TryParse with the default NumberStyles.Integer: optional surrounding whitespace and sign.
_INT = re.compile(r"\s*[+-]?[0-9]+\s*\Z")


def parse_int32(value: str | None) -> int | None:
    """`int.TryParse` as the runner uses it for line/column properties (None when it fails)."""
    if value is None or not _INT.match(value):
        return None
    number = int(value)
    return number if -(2**31) <= number < 2**31 else None


class Output(Struct, frozen=True):
    """One plain log line: ordinary step output, or a command line echoed back."""

    text: str


class GroupStart(Struct, frozen=True):
    title: str

    @property
    def log_line(self) -> str:
        return f"##[group]{self.title}"


class GroupEnd(Struct, frozen=True):
    @property
    def log_line(self) -> str:
        return "##[endgroup]"


class Debug(Struct, frozen=True):
    """A debug line; shown only when step debug logging (ACTIONS_STEP_DEBUG) is on."""

    message: str


class Issue(Struct, frozen=True):
    """An annotation (`::error::`/`::warning::`/`::notice::`) or a runner-made error/warning.

    `properties` keeps every property the command carried after line/column normalisation
    (`file`, `line`, `col`, `endLine`, `endColumn`, `title`, plus `repo` when `file` was made
    relative to the workspace), exactly as the runner attaches them to the issue.
    """

    level: IssueLevel
    message: str
    properties: dict[str, str] = field(default_factory=dict)
    # What the step log shows for it when that is not `message`: a problem matcher logs the
    # whole matched line (the runner writes it as `##[error]<line>`).
    log_message: str | None = None

    def _prop(self, name: str) -> str | None:
        for key, value in self.properties.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def title(self) -> str | None:
        return self._prop("title") or None

    @property
    def file(self) -> str | None:
        return self._prop("file") or None

    @property
    def line(self) -> int | None:
        return parse_int32(self._prop("line"))

    @property
    def end_line(self) -> int | None:
        return parse_int32(self._prop("endLine"))

    @property
    def col(self) -> int | None:
        return parse_int32(self._prop("col"))

    @property
    def end_column(self) -> int | None:
        return parse_int32(self._prop("endColumn"))


class SetOutput(Struct, frozen=True):
    name: str
    value: str


class SaveState(Struct, frozen=True):
    """Intra-action state: visible to the same action's post step as `STATE_<name>`."""

    name: str
    value: str


class SetEnv(Struct, frozen=True):
    """Set for all following steps of the job (and the `env` context)."""

    name: str
    value: str


class AddPath(Struct, frozen=True):
    """Prepend to PATH for following steps; see `file_commands.prepend_path` for the order."""

    path: str


class MaskAdded(Struct, frozen=True):
    """The processor registered a value with the Masker (the value itself is not kept)."""

    length: int


class AddMatcher(Struct, frozen=True):
    """`::add-matcher::` with the matcher file resolved to a host path."""

    path: str


class RemoveMatcher(Struct, frozen=True):
    owner: str | None = None
    path: str | None = None


class StepSummary(Struct, frozen=True):
    """Masked markdown from GITHUB_STEP_SUMMARY, ready to upload/show."""

    markdown: str


class CommandFailed(Struct, frozen=True):
    """A command could not be processed: the step fails (the runner's `CommandResult = Failed`).

    The matching error `Issue`s come just before this effect.
    """

    message: str


Effect = (
    Output
    | GroupStart
    | GroupEnd
    | Debug
    | Issue
    | SetOutput
    | SaveState
    | SetEnv
    | AddPath
    | MaskAdded
    | AddMatcher
    | RemoveMatcher
    | StepSummary
    | CommandFailed
)
