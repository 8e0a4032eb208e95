"""The runner's own logs: stdlib logging and structlog JSON, masked everywhere a value can hide."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from github_runner.secrets import Masker
from github_runner.secrets.logfilter import MaskingFilter, install, structlog_processor

SECRET = "tok-9f8e7d6c5b4a"


@pytest.fixture
def masker() -> Masker:
    m = Masker()
    m.add(SECRET, source="test")
    return m


@pytest.fixture
def captured(masker: Masker) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s %(ctx)s"))
    handler.addFilter(MaskingFilter(masker))
    log = logging.getLogger("test.logfilter")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log, buf
    log.removeHandler(handler)


def test_message_args_extra_and_exception_are_masked(captured: tuple[logging.Logger, io.StringIO]) -> None:
    log, buf = captured
    try:
        raise KeyError(f"no such key {SECRET}")
    except KeyError:
        log.exception(
            "failed for %s at %r",
            SECRET,
            {"url": f"https://x:{SECRET}@host"},
            extra={"ctx": {"nested": [SECRET, (f"a{SECRET}b",)], "n": 3, "raw": SECRET.encode()}},
        )
    text = buf.getvalue()
    assert SECRET not in text
    assert "Traceback" in text and "KeyError" in text
    assert text.count("***") >= 5


def test_record_factory_masks_every_logger_and_handler(masker: Masker) -> None:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    log = logging.getLogger("test.logfilter.factory")
    log.addHandler(handler)
    log.propagate = False
    undo = install(masker)
    try:
        log.warning("token=%s", SECRET)
        log.warning("stack", stack_info=True, extra={"note": SECRET})
    finally:
        undo()
        log.removeHandler(handler)
    assert SECRET not in buf.getvalue()
    assert "token=***" in buf.getvalue()


def test_structlog_json_events_are_masked(masker: Masker) -> None:
    out = io.StringIO()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog_processor(masker),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    try:
        log = structlog.get_logger().bind(job={"env": {"TOKEN": SECRET}, "ids": [1, 2]})
        try:
            raise RuntimeError(SECRET)
        except RuntimeError:
            log.exception("request failed", url=f"https://api/?private_token={SECRET}")
        log.info(f"plain {SECRET}")
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    assert SECRET not in out.getvalue()
    assert lines[0]["job"]["env"]["TOKEN"] == "***"
    assert lines[0]["job"]["ids"] == [1, 2]
    assert "RuntimeError: ***" in lines[0]["exception"]


def test_masked_traceback_covers_message_chain_and_source() -> None:
    from github_runner.secrets.logfilter import masked_traceback

    masker = Masker()
    masker.add("tb-secret-value-31x")
    try:
        try:
            raise KeyError("tb-secret-value-31x")
        except KeyError as inner:
            raise RuntimeError("while reading tb-secret-value-31x") from inner
    except RuntimeError as exc:
        text = masked_traceback(exc, masker)
    assert "Traceback (most recent call last)" in text and "KeyError: '***'" in text
    assert "RuntimeError: while reading ***" in text and "tb-secret-value-31x" not in text
