"""File commands: GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE, GITHUB_PATH and GITHUB_STEP_SUMMARY.

Before every step the engine calls `StepFiles.create(dir)`: five fresh, empty files (the
toolkit refuses to write to a missing one) whose paths go into the step's environment. After
the step, `StepFiles.process(mask)` reads them back, in the runner's order (path, env, summary,
state, output), and returns effects for the engine to apply. A file that cannot be parsed logs
"Unable to process file command '<env|output|state>' successfully." plus the reason and fails
the step; the pairs read before the bad line still apply, as in the runner.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from msgspec import Struct, field

from github_runner.engine.commands.effects import (
    AddPath,
    CommandFailed,
    Debug,
    Effect,
    Issue,
    SaveState,
    SetEnv,
    SetOutput,
)
from github_runner.engine.commands.summary import read_step_summary
from github_runner.engine.commands.textfiles import decode_text, read_text  # noqa: F401 (re-export)

FILE_COMMAND_DIR = "_runner_file_commands"
# env var -> (file prefix, the runner's context name used in error messages)
FILE_COMMANDS: dict[str, tuple[str, str]] = {
    "GITHUB_PATH": ("add_path_", "path"),
    "GITHUB_ENV": ("set_env_", "env"),
    "GITHUB_STEP_SUMMARY": ("step_summary_", "step_summary"),
    "GITHUB_STATE": ("save_state_", "state"),
    "GITHUB_OUTPUT": ("set_output_", "output"),
}
ENV_BLOCKLIST = ("NODE_OPTIONS",)

class FileCommandError(Exception):
    """A file command's content is malformed; the message is the runner's own text."""


def _read_line(text: str, index: int) -> tuple[str | None, int, bool]:
    """(line, next index, ended with a newline). Only LF ends a line (CRLF only on Windows)."""
    if index >= len(text):
        return None, index, False
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), False
    return text[index:lf], lf + 1, True


def iter_key_values(text: str) -> Iterable[tuple[str, str]]:
    """Yields NAME=VALUE and NAME<<DELIMITER pairs in order; raises FileCommandError on bad input.

    A generator on purpose: pairs before a malformed line are still applied, like the runner.
    """
    line, index, _ = _read_line(text, 0)
    while line is not None:
        if line:
            equals = line.find("=")
            heredoc = line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                key, value = line.split("=", 1)
                if not key:
                    # The runner means to refuse this (its check tests the wrong variable).
                    raise FileCommandError(f"Invalid format '{line}'. Name must not be empty")
            elif heredoc >= 0:
                key, delimiter = line.split("<<", 1)
                if not key or not delimiter:
                    raise FileCommandError(
                        f"Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
                    )
                start = end = index
                candidate, index, newline = _read_line(text, index)
                while candidate != delimiter:
                    if candidate is None:
                        raise FileCommandError(f"Invalid value. Matching delimiter not found '{delimiter}'")
                    if not newline:
                        raise FileCommandError("Invalid value. EOF marker missing new line.")
                    end = index - 1
                    candidate, index, newline = _read_line(text, index)
                value = text[start:end] if end > start else ""
            else:
                raise FileCommandError(f"Invalid format '{line}'")
            yield key, value
        line, index, _ = _read_line(text, index)


def parse_key_value_file(path: Path) -> list[tuple[str, str]]:
    """All pairs of a GITHUB_ENV/OUTPUT/STATE file (missing file: none); raises on bad content."""
    text = read_text(path)
    return [] if text is None else list(iter_key_values(text))


def read_path_file(path: Path) -> list[str]:
    """GITHUB_PATH lines in file order (File.ReadAllLines: CR, LF or CRLF end a line)."""
    text = read_text(path)
    if text is None:
        return []
    return [line for line in text.splitlines() if line]


def prepend_path(prepend: list[str], entries: Iterable[str]) -> None:
    """Add entries the runner's way: a repeated entry moves to the end (= the front of PATH)."""
    for entry in entries:
        while entry in prepend:
            prepend.remove(entry)
        prepend.append(entry)


def build_path(prepend: Sequence[str], original: str) -> str:
    """PATH for a step: prepended entries, most recent first, then the original PATH."""
    if not prepend:
        return original
    front = ":".join(reversed(prepend))
    return f"{front}:{original}" if original else front


class FileCommandResult(Struct):
    effects: list[Effect] = field(default_factory=list)
    failed: bool = False

    @property
    def issues(self) -> list[Issue]:
        return [e for e in self.effects if isinstance(e, Issue)]


def _process_pairs(
    context_name: str, path: Path, make: Callable[[str, str], Effect | None], result: FileCommandResult
) -> None:
    try:
        text = read_text(path)
        if text is None:
            result.effects.append(Debug(f"File does not exist '{path}'"))
            return
        for key, value in iter_key_values(text):
            effect = make(key, value)
            if effect is not None:
                result.effects.append(effect)
    except FileCommandError as error:
        result.effects.append(Issue("error", f"Unable to process file command '{context_name}' successfully."))
        result.effects.append(Issue("error", str(error)))
        result.effects.append(CommandFailed(str(error)))
        result.failed = True


def _env_effect(key: str, value: str) -> Effect:
    for blocked in ENV_BLOCKLIST:
        if key.lower() == blocked.lower():
            return Issue("error", f"Can't store {blocked} output parameter using '$GITHUB_ENV' command.")
    return SetEnv(key, value)


def process_env_file(path: Path, result: FileCommandResult | None = None) -> FileCommandResult:
    result = result or FileCommandResult()
    _process_pairs("env", path, _env_effect, result)
    return result


def process_output_file(path: Path, result: FileCommandResult | None = None) -> FileCommandResult:
    result = result or FileCommandResult()
    _process_pairs("output", path, SetOutput, result)
    return result


def process_state_file(path: Path, result: FileCommandResult | None = None) -> FileCommandResult:
    result = result or FileCommandResult()
    _process_pairs("state", path, SaveState, result)
    return result


def process_path_file(path: Path, result: FileCommandResult | None = None) -> FileCommandResult:
    result = result or FileCommandResult()
    result.effects.extend(AddPath(line) for line in read_path_file(path))
    return result


# A file of its own: never follow a link planted at the name, never inherited by job processes.
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


def _create_empty(path: Path) -> None:
    """A fresh empty file in one open() (most steps write none of their five files, so every
    saved system call counts); whatever already has the name is replaced."""
    try:
        fd = os.open(path, _CREATE_FLAGS, 0o666)
    except FileExistsError:
        path.unlink()
        fd = os.open(path, _CREATE_FLAGS, 0o666)
    os.close(fd)


def _empty(path: Path) -> bool:
    """True for an existing empty file: it has no commands, one stat() instead of a read.
    A missing or unreadable file is False, so that its reader reports it as before."""
    try:
        return os.stat(path).st_size == 0
    except OSError:
        return False


class StepFiles(Struct, frozen=True):
    """The five file-command files of one step, on the host."""

    paths: dict[str, Path]

    @classmethod
    def create(cls, directory: Path, previous: "StepFiles | None" = None) -> "StepFiles":
        """Fresh empty files with a new suffix; the previous step's files are removed."""
        if previous is not None:
            previous.remove()
        directory.mkdir(parents=True, exist_ok=True)
        suffix = str(uuid.uuid4())
        paths: dict[str, Path] = {}
        for env_name, (prefix, _) in FILE_COMMANDS.items():
            path = directory / f"{prefix}{suffix}"
            _create_empty(path)
            paths[env_name] = path
        return cls(paths)

    def environment(self, to_job_path: Callable[[Path], str] = str) -> dict[str, str]:
        """GITHUB_ENV=..., GITHUB_OUTPUT=... as the step's processes see them."""
        return {name: to_job_path(path) for name, path in self.paths.items()}

    def process(self, mask: Callable[[str], str]) -> FileCommandResult:
        result = FileCommandResult()
        paths = self.paths
        if not _empty(paths["GITHUB_PATH"]):
            process_path_file(paths["GITHUB_PATH"], result)
        if not _empty(paths["GITHUB_ENV"]):
            process_env_file(paths["GITHUB_ENV"], result)
        result.effects.extend(read_step_summary(paths["GITHUB_STEP_SUMMARY"], mask))
        if not _empty(paths["GITHUB_STATE"]):
            process_state_file(paths["GITHUB_STATE"], result)
        if not _empty(paths["GITHUB_OUTPUT"]):
            process_output_file(paths["GITHUB_OUTPUT"], result)
        return result

    def remove(self) -> None:
        for path in self.paths.values():
            path.unlink(missing_ok=True)
