"""`--json FILE`: one JSON object per engine event, for tools and tests.

Each line is the event's struct fields plus `"type"` (the event class name). Every event
but a log line is flushed at once, so a `tail -f` or a crashed run has every step and job
boundary; log lines are flushed with them (a 100 000-line log would otherwise cost 100 000
flushes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from msgspec.structs import asdict

from github_runner.engine.events import Event, LogLine


class JsonlReporter:
    def __init__(self, target: Path | IO[str]) -> None:
        if isinstance(target, Path):
            self._file: IO[str] = target.open("w", encoding="utf-8")
            self._owned = True
        else:
            self._file = target
            self._owned = False

    async def emit(self, event: Event) -> None:
        # Events are flat frozen structs: their fields are the record.
        record = {"type": type(event).__name__, **asdict(event)}
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        if not isinstance(event, LogLine):  # log lines ride along with the next step/job event
            self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
