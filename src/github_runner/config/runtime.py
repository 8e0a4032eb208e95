"""What every protocol command does first: load settings, find the state dir, set up logging."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from github_runner.config.state import StateDir, default_state_dir

if TYPE_CHECKING:  # the listener process sets up logging without pydantic (config/plain.py)
    from github_runner.config.plain import PlainSettings
    from github_runner.config.settings import Settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
               "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage()}
        for key in ("runner", "message_id", "job_id"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup_logging(settings: "Settings | PlainSettings", *, name: str = "github-runner") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {name} %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log.level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it would log full URLs
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def load_settings(config: Path | None) -> "Settings":
    from github_runner.config.loader import load

    return load(config)


def state_dir(settings: "Settings", override: Path | None = None) -> StateDir:
    root = override or settings.runner.state_dir or default_state_dir()
    return StateDir(Path(root))
