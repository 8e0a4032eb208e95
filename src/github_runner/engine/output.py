"""The one output path: process bytes -> lines -> command processor -> Masker -> Reporter.

Every byte a step prints passes through `StepOutput`; nothing else in the engine emits LogLine or
Annotation events with step text. Commands are recognised on the raw line (an `::add-mask::`
must see the secret), and everything that leaves (log lines, annotation messages, titles and
file names) is masked first, so reporters only ever see masked text.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

from github_runner.engine.events import Annotation, LogLine, Reporter


class JobLog:
    """Masked job-level messages (set-up, errors between steps, warnings) for one job."""

    def __init__(self, job_id: str, reporter: Reporter, masker: Any) -> None:
        self.job_id = job_id
        self.reporter = reporter
        self.masker = masker

    async def line(self, text: str, *, step_id: str | None = None, kind: str = "info") -> None:
        for part in text.splitlines() or [""]:
            await self.reporter.emit(
                LogLine(self.job_id, step_id, self.masker.mask(part), kind=kind)  # type: ignore[arg-type]
            )

    async def annotate(
        self,
        level: str,
        message: str,
        *,
        step_id: str | None = None,
        title: str | None = None,
        file: str | None = None,
        line: int | None = None,
        end_line: int | None = None,
        col: int | None = None,
        end_column: int | None = None,
    ) -> None:
        mask = self.masker.mask
        await self.reporter.emit(
            Annotation(
                self.job_id,
                step_id,
                level,  # type: ignore[arg-type]
                mask(message),
                title=mask(title) if title else None,
                file=mask(file) if file else None,
                line=line,
                end_line=end_line,
                col=col,
                end_column=end_column,
            )
        )


class StepOutput:
    """Splits one step's byte stream into lines and hands each to `on_line`, in order.

    `on_line(text)` is the command processor glue (see `steps.py`): it returns nothing and does
    its own masking through `JobLog`. Decoding is incremental UTF-8 with replacement, so a
    multi-byte character split across chunks is kept whole; `\\r\\n` and `\\r`-only progress
    lines end a line like the runner does.
    """

    MAX_LINE = 1024 * 1024  # a line longer than this is cut, so one step cannot exhaust memory

    def __init__(self, on_line: Callable[[str], Any]) -> None:
        self._on_line = on_line
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""

    async def write(self, chunk: bytes) -> None:
        text = self._buffer + self._decoder.decode(chunk)
        held = ""
        if text.endswith("\r"):  # may be the first half of a \r\n split across chunks
            text, held = text[:-1], "\r"
        if "\n" not in text and "\r" not in text:
            if len(text) > self.MAX_LINE:
                await self._on_line(text[: self.MAX_LINE])
                text = ""
            self._buffer = text + held
            return
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buffer = lines.pop() + held
        for line in lines:
            await self._on_line(line)

    async def close(self) -> None:
        rest = self._buffer + self._decoder.decode(b"", final=True)
        self._buffer = ""
        if rest:
            lines = rest.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            if lines[-1] == "":
                lines.pop()
            for line in lines:
                await self._on_line(line)
