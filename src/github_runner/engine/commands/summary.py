"""GITHUB_STEP_SUMMARY: read after the step, size-capped, masked line by line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from github_runner.engine.commands.effects import Debug, Effect, Issue, StepSummary
from github_runner.engine.commands.textfiles import decode_text

SUMMARY_SIZE_LIMIT = 1024 * 1024
UNSUPPORTED_SUMMARY_SIZE = (
    "$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of {0}k, got {1}k. "
    "For more information see: "
    "https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions#adding-a-markdown-summary"
)


def read_step_summary(path: Path, mask: Callable[[str], str]) -> list[Effect]:
    """[] when missing or empty; one error Issue when over 1 MiB; else one masked StepSummary.

    The size is checked before reading, so a runaway step cannot make the runner load a huge
    file. Masking is per line (the masker sees whole lines, as in the runner); line endings are
    kept as written.
    """
    try:
        size = path.stat().st_size
    except (FileNotFoundError, NotADirectoryError):
        return []
    if size == 0:
        return []
    if size > SUMMARY_SIZE_LIMIT:
        return [Issue("error", UNSUPPORTED_SUMMARY_SIZE.format(SUMMARY_SIZE_LIMIT // 1024, size // 1024))]
    try:
        text = decode_text(path.read_bytes())
    except OSError as error:
        return [Issue("error", f"Failed to create step summary using 'GITHUB_STEP_SUMMARY': {error}"),
                Debug(f"Error while processing file ({path}): {error!r}")]
    masked = "".join(_mask_line(line, mask) for line in text.splitlines(keepends=True))
    return [StepSummary(masked)]


def _mask_line(line: str, mask: Callable[[str], str]) -> str:
    body = line.rstrip("\r\n")
    return mask(body) + line[len(body) :]
