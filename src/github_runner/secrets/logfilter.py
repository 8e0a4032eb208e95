"""Masking for the runner's own diagnostics (stdlib `logging` and structlog JSON logs).

Job output is masked by the engine; this covers everything else: an httpx error that quotes a
URL with a token, a `KeyError` whose message is a secret, an `extra={"env": {...}}` dump. Three
ways in, use whichever matches how logging is set up:

- `install(masker)`: a LogRecord factory, so every record from every logger is masked when it
  is created, before any handler, formatter or filter sees it (handlers added later included);
- `MaskingFilter(masker)`: attach to a handler to mask only what that handler emits;
- `structlog_processor(masker)`: put it last before the renderer (after `format_exc_info`).

What is masked: the formatted message (args are merged in first, then dropped), every extra
field (nested dicts, lists, tuples, bytes; other objects become their masked `repr` if that
shows a secret), the exception text (formatted, masked, and `exc_info` dropped so no later
formatter re-renders the raw traceback) and `stack_info`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

from github_runner.secrets.masker import Masker

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}
_MAX_DEPTH = 20
_formatter = logging.Formatter()


def mask_value(value: Any, masker: Masker, depth: int = 0) -> Any:
    """A masked copy of a log value, keeping its shape where it is a plain container."""
    if isinstance(value, str):
        return masker.mask(value)
    if isinstance(value, (bytes, bytearray)):
        return masker.mask_bytes(bytes(value))
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= _MAX_DEPTH:
        return masker.mask(repr(value))
    if isinstance(value, dict):
        return {
            mask_value(k, masker, depth + 1): mask_value(v, masker, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_value(v, masker, depth + 1) for v in value]
    if isinstance(value, tuple):  # named tuples become plain tuples: their fields are masked
        return tuple(mask_value(v, masker, depth + 1) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(mask_value(v, masker, depth + 1) for v in value)
    text = repr(value)
    masked = masker.mask(text)
    return value if masked == text else masked


def mask_record(record: logging.LogRecord, masker: Masker) -> logging.LogRecord:
    """Mask a record in place (message, args, extras, exception, stack) and return it."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not hide the values from masking
        message = f"{record.msg} {record.args!r}"
    record.msg = masker.mask(message)
    record.args = None
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = masker.mask(record.exc_text)
    if record.stack_info:
        record.stack_info = masker.mask(record.stack_info)
    for key, value in list(record.__dict__.items()):
        if key not in _STANDARD:
            record.__dict__[key] = mask_value(value, masker)
    return record


class MaskingFilter(logging.Filter):
    """Handler filter: masks each record before the handler formats it. Never drops a record."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record, self.masker)
        return True


def install(masker: Masker) -> Callable[[], None]:
    """Mask every LogRecord at creation; returns a function that undoes it (for tests)."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs), masker)

    logging.setLogRecordFactory(factory)

    def uninstall() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return uninstall


EventDict = MutableMapping[str, Any]


def structlog_processor(masker: Masker) -> Callable[[Any, str, EventDict], EventDict]:
    """A structlog processor masking the whole event dict (event, bound values, exception)."""

    def process(logger: Any, method: str, event: EventDict) -> EventDict:
        exc_info = event.pop("exc_info", None)
        if exc_info and "exception" not in event:
            if exc_info is True:
                exc_info = sys.exc_info()
            elif isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            if exc_info and exc_info[0] is not None:
                event["exception"] = _formatter.formatException(exc_info)
        for key in list(event):
            event[key] = mask_value(event[key], masker)
        return event

    return process


def masked_traceback(exc: BaseException, masker: Masker) -> str:
    """The full traceback text of `exc` (chained causes included), masked.

    For a command's `--debug` output: an exception message or a quoted source line can hold
    a secret, and a traceback printed by Python itself would bypass every masker.
    """
    import traceback

    return masker.mask("".join(traceback.format_exception(exc)))
